/**
 * @module
 * In-process cost of the blob GET → 307 and manifest GET handlers (no sockets): an app over
 * a synthetic store from bench/p50_ab.ts (`--work`), called N times in a loop; prints ns per
 * request and the GC heap. Run with bun (what the binary is built from), one store per
 * process, alternated by the caller:
 *
 *   bun bench/p50_micro.ts /tmp/p50-ab/store-1000000 [requests]
 */
import process from "node:process";
import { DirStore } from "../lib/store/dir.ts";
import { Registry } from "../lib/index/registry.ts";
import { createApp } from "../lib/server/app.ts";
import { createLogger } from "../lib/log.ts";
import type { SyntheticStore } from "./stores.ts";
import * as fs from "node:fs";

// Bun-only (this script runs under bun, like the binary); typed loosely for deno check.
const jscModule = "bun:jsc";
const { heapStats } = await import(jscModule) as {
  heapStats(): { heapSize: number; objectCount: number };
};
const bunGc = (globalThis as unknown as { Bun: { gc(full: boolean): void } }).Bun.gc;

const [dir, n = "300000"] = process.argv.slice(2);
const meta: SyntheticStore = JSON.parse(fs.readFileSync(`${dir}.json`, "utf8"));
const log = createLogger({ level: "error" });
// Experiment: the 10-tag server holding the 1M store's parsed indexes as plain objects.
const ballast: unknown[] = [];
if (process.env.P50_BALLAST_REGISTRY) {
  // The same, as a whole second Registry (its snapshot: views, Maps, catalog), unused.
  const r = new Registry(new DirStore(process.env.P50_BALLAST_REGISTRY), { log });
  await r.load();
  ballast.push(
    process.env.P50_BALLAST_VIEWS ? r.repositories().map((n) => r.repo(n)) : r,
  );
} else if (process.env.P50_BALLAST) {
  const d = `${process.env.P50_BALLAST}/repositories/bench`;
  for (const e of fs.readdirSync(d)) {
    const o = JSON.parse(fs.readFileSync(`${d}/${e}/_index.json`, "utf8"));
    ballast.push(process.env.P50_BALLAST_STRING ? JSON.stringify(o) : o);
  }
}
const store = new DirStore(dir);
const registry = new Registry(store, { log });
let t = performance.now();
await registry.load();
const loadMs = performance.now() - t;
const app = createApp({
  registry,
  store,
  log,
  origins: {
    locate: (digest) => `http://origin.invalid/blobs/${digest}`,
    readiness: () => ({ ready: true, origins: [] }),
  },
});
const base = `http://localhost/v2/${meta.probe.repo}`;
const m = await (await app.fetch(
  new Request(`${base}/manifests/${meta.probe.digest}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  }),
)).json();
const blobUrl = `${base}/blobs/${m.layers[0].digest}`;
const manifestUrl = `${base}/manifests/${meta.probe.tag}`;
async function time(url: string, headers: Record<string, string>): Promise<number> {
  const count = Number(n);
  // CPU time of the process (every thread: the GC's too), not wall time: on a shared
  // machine the wall clock mostly measures the run queue.
  const t0 = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const res = await app.fetch(new Request(url, { headers }));
    if (res.status >= 400) throw new Error(`${url}: ${res.status}`);
    await res.body?.cancel();
  }
  const t1 = process.cpuUsage(t0);
  return (t1.user + t1.system) * 1000 / count;
}
await time(blobUrl, {}); // warm-up (JIT)
const accept = { accept: "application/vnd.oci.image.manifest.v1+json" };
await time(manifestUrl, accept);
const redirect = await time(blobUrl, {});
const manifest = await time(manifestUrl, accept);
t = performance.now();
bunGc(true);
const gcMs = performance.now() - t;
const h = heapStats();
console.log(
  `${meta.tags} tags: 307 ${redirect.toFixed(0)} CPU ns/req, manifest ${
    manifest.toFixed(0)
  } CPU ns/req; ` +
    `load ${loadMs.toFixed(0)} ms; heap ${(h.heapSize / 1048576).toFixed(1)} MB, ` +
    `${h.objectCount} objects; full GC ${gcMs.toFixed(1)} ms; RSS ${
      (process.memoryUsage().rss / 1048576).toFixed(1)
    } MB`,
);
if (ballast.length === -1) console.log(ballast);
process.exit(0);
