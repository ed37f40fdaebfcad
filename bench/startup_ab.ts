/**
 * @module
 * Start-up A/B: two binaries (or more) started alternately on the same synthetic stores, in
 * one run, so the drift of a shared machine hits every binary alike. Prints, per binary
 * and tag count, the medians of spawn → first 200 on `/v2/`, spawn → first 200 for the
 * last tag (bench/scale_rows.ts's two start-up figures), and spawn → exit of `--version`.
 *
 * ```sh
 * deno run -A bench/startup_ab.ts --tags 10,10000 --rounds 7 /tmp/old-binary dist/static-registry
 * ```
 */
import { parseArgs } from "node:util";
import { startRegistry } from "./registry.ts";
import { makeSyntheticStore } from "./stores.ts";
import { waitFor } from "./proc.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** ms from spawn to exit of one `bin --version`. */
async function versionMs(bin: string): Promise<number> {
  const t0 = performance.now();
  const out = await new Deno.Command(bin, { args: ["--version"], stdout: "null" }).output();
  if (!out.success) throw new Error(`${bin} --version failed (status ${out.code})`);
  return performance.now() - t0;
}

async function main(argv: string[]) {
  const { values, positionals: bins } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { tags: { type: "string", default: "10,10000" }, rounds: { type: "string" } },
  });
  const rounds = Number(values.rounds ?? 7);
  const counts = values.tags.split(",").map(Number);
  if (!bins.length || !Number.isInteger(rounds) || counts.some((n) => !Number.isInteger(n))) {
    throw new Error("usage: startup_ab.ts [--tags 10,10000] [--rounds N] BIN...");
  }
  const work = await Deno.makeTempDir({ prefix: "startup-ab-" });
  try {
    const version = bins.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      for (const [i, bin] of bins.entries()) version[i].push(await versionMs(bin));
    }
    for (const [i, bin] of bins.entries()) {
      console.log(`${bin}: --version ${median(version[i]).toFixed(0)} ms (spawn → exit)`);
    }
    for (const n of counts) {
      const store = await makeSyntheticStore(`${work}/store-${n}`, n);
      const v2 = bins.map(() => [] as number[]);
      const last = bins.map(() => [] as number[]);
      for (let r = 0; r < rounds; r++) {
        // Alternate the order too: the first start of a round is not always the same binary.
        const order = r % 2 ? [...bins.keys()].reverse() : [...bins.keys()];
        for (const i of order) {
          const t0 = performance.now();
          const reg = await startRegistry(bins[i], work, { store: store.dir });
          try {
            v2[i].push(reg.startupMs);
            const url = `${reg.url}/v2/${store.last.repo}/manifests/${store.last.tag}`;
            last[i].push(await waitFor(reg.proc, url, { t0, everyMs: 2 }));
          } finally {
            await reg.stop();
          }
        }
      }
      for (const [i, bin] of bins.entries()) {
        console.log(
          `${bin}: ${n} tags: /v2/ ${median(v2[i]).toFixed(0)} ms, last tag ${
            median(last[i]).toFixed(0)
          } ms (medians of ${rounds}; /v2/ ${v2[i].map((x) => x.toFixed(0)).join(" ")})`,
        );
      }
    }
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main(Deno.args);
