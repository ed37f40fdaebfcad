/**
 * @module
 * The timeline behind the contention row (bench/publish_rows.ts): 4 traced publishers
 * (bench/contention_trace.ts, run with bun) publish a new tag into 4 existing repositories
 * of one s3rver store at once, on a layout-v1 and on a layout-v2 store, and every
 * publisher's events are printed relative to the common start: blob copy end, repository
 * lock wait/held/released, tag-index write, request written, catalog lock, fold, exit.
 *
 *   deno run -A bench/contention_timeline.ts [--rounds N] [--raw]
 */
import { makeOciLayout } from "../tests/helpers/image.ts";
import { startS3rver } from "../tests/helpers/s3rver.ts";
import { S3Store } from "../lib/store/s3.ts";
import { encodeDocument } from "../lib/layout/documents.ts";
import { MARKER_KEY } from "../lib/layout/keys.ts";
import { BUCKET, publishArgs } from "./publish_rows.ts";

const K = 4;
const args = Deno.args;
const rounds = Number(args[args.indexOf("--rounds") + 1]) || 1;
const raw = args.includes("--raw");
const root = new URL("..", import.meta.url).pathname;
const env = {
  AWS_ACCESS_KEY_ID: "S3RVER",
  AWS_SECRET_ACCESS_KEY: "S3RVER",
  AWS_REGION: "us-east-1",
};

interface Ev {
  t: number;
  op: string;
  key?: string;
  ms?: number;
  n?: number;
}

const work = await Deno.makeTempDir({ prefix: "contention-" });
const s3 = await startS3rver(BUCKET);
try {
  const cfg = `${work}/cfg.json`;
  await Deno.writeTextFile(cfg, JSON.stringify({ s3: s3.s3Config() }));
  const layouts: string[] = [];
  for (let i = 0; i < K; i++) {
    layouts.push(`${work}/l${i}`);
    await makeOciLayout(layouts[i], { tag: "v1", layers: 2, layerSize: 1 << 20, seed: `c${i}` });
  }
  const run = async (src: string, ref: string, prefix: string): Promise<Ev[]> => {
    const r = await new Deno.Command("bun", {
      // contention_trace.ts takes publish's arguments (without the command name).
      args: [`${root}bench/contention_trace.ts`, ...publishArgs(src, ref, prefix, cfg).slice(1)],
      env,
      stdin: "null",
    }).output();
    const text = new TextDecoder().decode(r.stderr);
    if (r.code !== 0) throw new Error(`publish ${ref} exited ${r.code}: ${text}`);
    return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
  };
  for (let round = 0; round < rounds; round++) {
    for (const v of [1, 2]) {
      const prefix = `v${v}-${round}`;
      if (v === 1) {
        const store = new S3Store({ bucket: BUCKET, prefix, ...s3.options });
        await store.write(MARKER_KEY, encodeDocument({ layout: "static-registry", version: 1 }), {
          contentType: "application/json",
          cacheControl: "no-store",
        });
        store.close();
      }
      for (let i = 0; i < K; i++) await run(layouts[0], `c/r${i}:v0`, prefix);
      const t0 = performance.timeOrigin + performance.now();
      const all = await Promise.all(layouts.map((l, i) => run(l, `c/r${i}:v1`, prefix)));
      const wall = performance.timeOrigin + performance.now() - t0;
      console.log(`\n=== layout v${v}, round ${round}: wall ${(wall / 1000).toFixed(2)} s`);
      all.forEach((evs, i) => console.log(`  r${i}: ${summary(evs, t0)}`));
      if (raw) {
        all.forEach((evs, i) => {
          console.log(`  --- r${i}`);
          for (const e of evs) {
            console.log(
              `    ${(e.t - t0).toFixed(0).padStart(6)} ${e.op} ${e.key ?? ""}` +
                (e.ms !== undefined ? ` (${e.ms} ms)` : "") +
                (e.n !== undefined ? ` n=${e.n}` : ""),
            );
          }
        });
      }
    }
  }
} finally {
  await s3.stop();
  await Deno.remove(work, { recursive: true });
}

/** One publisher's milestones, ms since the common start. */
function summary(evs: Ev[], t0: number): string {
  const at = (pred: (e: Ev) => boolean, last = false) => {
    const hits = evs.filter(pred);
    const e = last ? hits.at(-1) : hits[0];
    return e ? Math.round(e.t - t0) : undefined;
  };
  const parts: [string, number | undefined][] = [
    ["start", at((e) => e.op === "start")],
    ["blobs", at((e) => e.op === "write" && !!e.key?.startsWith("blobs/"), true)],
    ["repo-held", at((e) => e.op === "lock-held" && !!e.key?.startsWith("repo:"))],
    ["index", at((e) => e.op === "write" && !!e.key?.endsWith("_index.json"))],
    ["repo-rel", at((e) => e.op === "lock-released" && !!e.key?.startsWith("repo:"))],
    ["intent", at((e) => e.op === "write" && !!e.key?.endsWith(".intent"))],
    [
      "request",
      at((e) =>
        e.op === "write" && !!e.key?.startsWith(".catalog/pending/") && !e.key.endsWith(".intent")
      ),
    ],
    ["cat-held", at((e) => e.op === "lock-held" && e.key === "catalog")],
    ["cat-abandon", at((e) => e.op === "lock-abandon" && e.key === "catalog")],
    ["catalog", at((e) => e.op === "write" && e.key === "catalog.json", true)],
    ["req-gone", at((e) => e.op === "stat" && !!e.key?.startsWith(".catalog/pending/"), true)],
    ["cat-rel", at((e) => e.op === "lock-released" && e.key === "catalog")],
    ["exit", at((e) => e.op === "exit")],
  ];
  const ops = evs.filter((e) => e.ms !== undefined && !e.op.startsWith("lock")).length;
  return parts.filter(([, t]) => t !== undefined).map(([k, t]) => `${k} ${t}`).join(" · ") +
    ` · ${ops} store ops`;
}
