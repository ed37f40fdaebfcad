/**
 * @module
 * Same-run A/B of the contention row (bench/publish_rows.ts) for two binaries: each
 * round runs layout v1 and v2 with binary A and B, in an order rotated every round, on one
 * s3rver; prints every round, the medians and the ratios, and the machine's CPU seconds
 * during each round (bench/proc.ts machineCpuSeconds: s3rver and the publishers share the
 * cores, so a variant that uses more CPU slows the others' copies too).
 *
 *   deno run -A bench/contention_ab.ts --a BIN --b BIN [--rounds 5]
 */
import { startS3rver } from "../tests/helpers/s3rver.ts";
import {
  BUCKET,
  contentionLayouts,
  contentionRound,
  median,
  outliers,
  S3_ENV,
} from "./publish_rows.ts";

const arg = (name: string, dflt?: string) => {
  const i = Deno.args.indexOf(`--${name}`);
  const v = i >= 0 ? Deno.args[i + 1] : dflt;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
};
const bins = { A: arg("a"), B: arg("b") };
const rounds = Number(arg("rounds", "5"));
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds: not a count: ${rounds}`);

const work = await Deno.makeTempDir({ prefix: "contention-ab-" });
const s3 = await startS3rver(BUCKET);
try {
  const cfg = `${work}/cfg.json`;
  await Deno.writeTextFile(cfg, JSON.stringify({ s3: s3.s3Config() }));
  const layouts = await contentionLayouts(work);
  const variants = [["A", 1], ["A", 2], ["B", 1], ["B", 2]] as const;
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]);
    for (const [b, version] of order) {
      const { wall: s, cpu: c } = await contentionRound({
        bin: bins[b],
        cfg,
        env: S3_ENV,
        s3,
        layouts,
        version,
        prefix: `ab-${b}${version}-${r}`,
      });
      (wall[`${b} v${version}`] ??= []).push(s);
      (cpu[`${b} v${version}`] ??= []).push(c);
      console.log(
        `round ${r + 1}: ${b} v${version} ${s.toFixed(2)} s (machine CPU ${c.toFixed(2)} s)`,
      );
    }
  }
  const m = Object.fromEntries(Object.entries(wall).map(([k, xs]) => [k, median(xs)]));
  for (const [k, xs] of Object.entries(wall)) {
    console.log(
      `${k}: median ${m[k].toFixed(2)} s of ${xs.map((x) => x.toFixed(2)).join(", ")}; ` +
        `machine CPU median ${median(cpu[k]).toFixed(2)} s`,
    );
  }
  console.log(`A: v1/v2 ${(m["A v1"] / m["A v2"]).toFixed(2)}×`);
  console.log(`B: v1/v2 ${(m["B v1"] / m["B v2"]).toFixed(2)}×`);
  console.log(
    `v2: A/B ${(m["A v2"] / m["B v2"]).toFixed(2)}×  v1: A/B ${
      (m["A v1"] / m["B v1"]).toFixed(2)
    }×`,
  );
  console.log(`outliers (> 2× median): ${outliers(wall)}`);
} finally {
  await s3.stop();
  await Deno.remove(work, { recursive: true });
}
