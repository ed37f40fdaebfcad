/**
 * @module
 * Sync rows (`--only sync`): `static-registry sync` against `skopeo sync --src yaml --dest
 * dir` of the same images from the same local CNCF distribution, in the same run, each into
 * a fresh directory, wall clock from spawn to exit (start-up included on both sides), best
 * of `runs`. The destinations are the closest like for like: both write every blob and
 * manifest as files (ours as a store, skopeo as one `dir:` layout per image); both verify
 * digests while copying. Then a re-sync of the unchanged images: ours costs one manifest
 * GET per image; skopeo sync to `dir:` refuses to overwrite, so its re-run is a full copy.
 */
import { makeOciLayout } from "../tests/helpers/image.ts";
import { pushLayoutHttp, startDistribution } from "../tests/helpers/distribution.ts";
import { ratio, type Row } from "./table.ts";

export interface SyncBenchOptions {
  bin: string;
  workDir: string;
  images: number;
  layers: number;
  layerSize: number;
  runs: number;
}

async function timed(cmd: string, args: string[]) {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, { args, stdin: "null" }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (r.code !== 0) {
    const dec = new TextDecoder();
    throw new Error(
      `${cmd} ${args.join(" ")} exited ${r.code}:\n${dec.decode(r.stderr)}${dec.decode(r.stdout)}`,
    );
  }
  return seconds;
}

export async function syncRows(o: SyncBenchOptions): Promise<Row[]> {
  const reg = await startDistribution();
  try {
    let bytes = 0;
    const repos: string[] = [];
    for (let i = 0; i < o.images; i++) {
      const dir = `${o.workDir}/sync-image-${i}`;
      const img = await makeOciLayout(dir, {
        tag: "v1",
        layers: o.layers,
        layerSize: o.layerSize,
        seed: `sync-bench-${i}`,
      });
      bytes += Object.values(img.sizes).reduce((a, b) => a + b, 0);
      repos.push(`bench/sync-${i}`);
      await pushLayoutHttp(dir, "v1", reg.addr, `bench/sync-${i}:v1`);
    }
    const ours = `${o.workDir}/sync.yaml`;
    await Deno.writeTextFile(
      ours,
      `images:\n${repos.map((r) => `  - source: docker://${reg.addr}/${r}:v1\n`).join("")}`,
    );
    const theirs = `${o.workDir}/skopeo-sync.yaml`;
    await Deno.writeTextFile(
      theirs,
      `${reg.addr}:\n  tls-verify: false\n  images:\n` +
        repos.map((r) => `    ${r}: [v1]\n`).join(""),
    );
    const skopeoSync = (dest: string) =>
      timed("skopeo", [
        "sync",
        "--src",
        "yaml",
        "--dest",
        "dir",
        "--preserve-digests",
        theirs,
        dest,
      ]);
    const sr: number[] = [];
    const sk: number[] = [];
    let store = "";
    for (let i = 0; i < o.runs; i++) {
      store = `${o.workDir}/sync-store-${i}`;
      sr.push(await timed(o.bin, ["sync", ours, "--to", store, "--json"]));
      sk.push(await skopeoSync(`${o.workDir}/skopeo-dest-${i}`));
    }
    const resync = await timed(o.bin, ["sync", ours, "--to", store, "--json"]);
    // skopeo sync refuses to overwrite a dir: destination, and has no notion of an
    // unchanged image: its re-run is a fresh copy.
    const reskopeo = await skopeoSync(`${o.workDir}/skopeo-dest-again`);
    const best = (xs: number[]) => Math.min(...xs);
    const mbps = (s: number) => bytes / 1e6 / s;
    const secs = (xs: number[]) => xs.map((s) => s.toFixed(2)).join(", ");
    const mib = (bytes / 1048576).toFixed(0);
    return [{
      name: `sync ${o.images} images (${mib} MiB) from distribution`,
      value: `${mbps(best(sr)).toFixed(1)} MB/s (${best(sr).toFixed(2)} s)`,
      baselines: [
        `skopeo sync to dir ${mbps(best(sk)).toFixed(1)} MB/s (${best(sk).toFixed(2)} s)`,
      ],
      ratios: [ratio(best(sk), best(sr))],
      target: "",
      pass: null,
      note: `best of ${o.runs}; wall clock spawn → exit; sync ${secs(sr)} s, skopeo ${secs(sk)} s`,
    }, {
      name: `re-sync ${o.images} unchanged images`,
      value: `${resync.toFixed(2)} s`,
      baselines: [`skopeo sync to dir ${reskopeo.toFixed(2)} s`],
      ratios: [ratio(reskopeo, resync)],
      target: "",
      pass: null,
      note: "sync asks one manifest per image and copies nothing; skopeo sync to dir " +
        "refuses to overwrite its destination, so its re-run is a full copy into a new one",
    }];
  } finally {
    await reg.stop();
  }
}
