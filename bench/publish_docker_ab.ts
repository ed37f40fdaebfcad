/**
 * @module
 * The "publish docker:// from distribution" row of `scripts/bench --only pull` alone (issue
 * 13, Deliver 4), without the docker pulls: the same image (20 layers of 5 MiB), pushed into
 * distribution whose blob GETs 307 to an nginx serving its storage, then `skopeo copy
 * docker://… oci:DIR` against `static-registry publish docker://… --to DIR`, alternated
 * (the first of a round rotated), medians and the same-run ratio. Extra binaries (`--bin`
 * repeated) are alternated too, to compare two builds in one run on a shared machine.
 *
 *   deno run -A bench/publish_docker_ab.ts [--rounds 7] [--bin A --bin B] [--keep]
 *
 * Each command's CPU time (user + sys of the child) is reported beside its wall time,
 * read with the shell's `times` after it exits: on a shared machine the wall time of one
 * run says little, the CPU time says what the command costs.
 */
import { parseArgs } from "node:util";
import { makeOciLayout } from "../tests/helpers/image.ts";
import { startDistribution } from "./distribution.ts";
import { freePort } from "./proc.ts";
import { nginxConf, runNginx } from "./nginx.ts";

const REPO = "bench/pull";
const TAG = "latest";
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Wall ms and CPU ms (children's user+sys, from the shell's `times`) of one command. */
async function timed(cmd: string, args: string[]): Promise<{ wall: number; cpu: number }> {
  const t0 = performance.now();
  const r = await new Deno.Command("sh", {
    args: [
      "-c",
      '"$@" >/dev/null 2>"$ERRF" || { cat "$ERRF" >&2; exit 1; }; times',
      "sh",
      cmd,
      ...args,
    ],
    env: { ERRF: `${workDir}/stderr.txt` },
    stdin: "null",
  }).output();
  const wall = performance.now() - t0;
  const out = new TextDecoder().decode(r.stdout);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(r.stderr)}`);
  }
  // `times`: shell user/sys, then children user/sys: "0m1.234s 0m0.567s".
  const lines = out.trim().split("\n");
  const secs = (s: string) => {
    const m = /(\d+)m([\d.]+)s/.exec(s)!;
    return Number(m[1]) * 60 + Number(m[2]);
  };
  const [u, s] = lines[lines.length - 1].split(/\s+/);
  return { wall, cpu: (secs(u) + secs(s)) * 1000 };
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "7" },
    bin: { type: "string", multiple: true },
    keep: { type: "boolean", default: false },
    "layer-mib": { type: "string", default: "5" },
  },
});
const rounds = Number(values.rounds);
const bins = values.bin?.length ? values.bin : ["dist/static-registry"];
const workDir = await Deno.makeTempDir({ prefix: "publish-ab-" });
const layout = `${workDir}/image`;
const image = await makeOciLayout(layout, {
  tag: TAG,
  layers: 20,
  layerSize: Number(values["layer-mib"]) << 20,
  seed: "bench-pull",
});
const mb = Object.values(image.sizes).reduce((a, b) => a + b, 0) / 1e6;

const distDir = `${workDir}/distribution`;
const prefix = `${workDir}/nginx`;
const port = freePort();
const conf = nginxConf(
  prefix,
  1,
  "sendfile on;\n  tcp_nopush on;",
  `server {
    listen 127.0.0.1:${port};
    location = /v2/ { return 200 '{}'; }
    location /docker/ { alias ${distDir}/storage/docker/; }
  }`,
);
await Deno.mkdir(prefix, { recursive: true });
const nginx = await runNginx("nginx", prefix, conf, port, "/v2/");
const dist = await startDistribution(distDir, layout, TAG, REPO, nginx.url);
try {
  const src = `docker://${dist.url.slice("http://".length)}/${REPO}:${TAG}`;
  const runners: Record<string, (dir: string) => Promise<{ wall: number; cpu: number }>> = {
    skopeo: (dir) =>
      timed("skopeo", ["copy", "--quiet", "--src-tls-verify=false", src, `oci:${dir}:${TAG}`]),
  };
  for (const b of bins) {
    runners[b] = (dir) => timed(b, ["publish", src, `${REPO}:${TAG}`, "--to", dir]);
  }
  const names = Object.keys(runners);
  const got: Record<string, { wall: number[]; cpu: number[] }> = {};
  for (const n of names) got[n] = { wall: [], cpu: [] };
  // One warm-up of each: page cache, distribution's blob descriptor cache.
  for (const n of names) {
    const dir = `${workDir}/out`;
    await runners[n](dir);
    await Deno.remove(dir, { recursive: true });
  }
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(r + k) % names.length];
      const dir = `${workDir}/out`;
      const t = await runners[n](dir);
      got[n].wall.push(t.wall);
      got[n].cpu.push(t.cpu);
      await Deno.remove(dir, { recursive: true });
    }
  }
  const sk = median(got.skopeo.wall);
  console.log(`${20} layers, ${mb.toFixed(0)} MB, ${rounds} alternated rounds (medians)`);
  for (const n of names) {
    const w = median(got[n].wall);
    const c = median(got[n].cpu);
    console.log(
      `${n.padEnd(40)} wall ${(w / 1000).toFixed(3)} s  cpu ${(c / 1000).toFixed(3)} s  ` +
        `skopeo/this ${(sk / w).toFixed(2)}x  [${got[n].wall.map((x) => (x / 1000).toFixed(2))}]`,
    );
  }
} finally {
  await dist.stop();
  await nginx.proc.stop();
  if (!values.keep) await Deno.remove(workDir, { recursive: true });
  else console.log(`kept ${workDir}`);
}
