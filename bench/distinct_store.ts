/**
 * @module
 * What the index costs for a store whose tags do NOT share names and manifests, unlike
 * bench/stores.ts's synthetic store (every repository there has the same 100 tag names
 * pointing at the same 4 manifests, so JSC shares one hidden class per key sequence and
 * one string per digest). Here each of 10k repositories has 100 tags of its own, each a
 * manifest of its own (config + unique layer + one of 20 shared base layers): a registry
 * of CI builds. Only the tag indexes are written (no manifests or blobs): this measures
 * load time and memory, nothing is served.
 *
 *   bun bench/distinct_store.ts /tmp/p50-distinct [repositories]   # writes, then loads
 *
 * Prints the load time, the GC heap (bytes, objects by type) and RSS after a full GC.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import {
  CATALOG_KEY,
  encodeDocument,
  LAYOUT_VERSION,
  MARKER,
  MARKER_KEY,
  type RepoIndex,
  repoIndexKey,
  TAG_INDEX_VERSION,
  tagIndexDigest,
} from "../lib/layout/layout.ts";
import { record } from "../lib/layout/schema.ts";
import { DirStore } from "../lib/store/dir.ts";
import { Registry } from "../lib/index/registry.ts";
import { createLogger } from "../lib/log.ts";

const TAGS = 100;
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** Writes the store under `dir` (replacing it). */
export function writeDistinctStore(dir: string, repositories: number): void {
  fs.rmSync(dir, { recursive: true, force: true });
  const put = (key: string, bytes: Uint8Array) => {
    const file = path.join(dir, ...key.split("/"));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
  };
  const bases = Array.from({ length: 20 }, (_, i) => sha(`base ${i}`));
  const catalog = record<string>();
  const names: string[] = [];
  for (let r = 0; r < repositories; r++) {
    const name = `team${r % 100}/app${r}`;
    const index: RepoIndex = {
      version: TAG_INDEX_VERSION,
      name,
      tags: record(),
      manifests: record(),
      blobs: record(),
    };
    for (let t = 0; t < TAGS; t++) {
      const [m, config, layer] = ["m", "c", "l"].map((k) => sha(`${r}/${t}/${k}`));
      const base = bases[(r + t) % bases.length];
      index.tags[`2024.${r}.${t}-g${m.slice(7, 14)}`] = m;
      index.manifests[m] = {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        size: 900 + t,
        blobs: [config, base, layer],
      };
      index.blobs[config] = 1000 + t;
      index.blobs[base] = 30_000_000;
      index.blobs[layer] = 5000 + r;
    }
    const bytes = encodeDocument(index);
    put(repoIndexKey(name), bytes);
    catalog[name] = tagIndexDigest(bytes);
    names.push(name);
  }
  const repos = record<string>();
  for (const n of names.sort()) repos[n] = catalog[n];
  put(CATALOG_KEY, encodeDocument({ version: LAYOUT_VERSION, repositories: repos }));
  put(MARKER_KEY, encodeDocument(MARKER));
}

if (import.meta.main) {
  const [dir = "/tmp/p50-distinct", n = "10000"] = process.argv.slice(2);
  writeDistinctStore(dir, Number(n));
  const registry = new Registry(new DirStore(dir), { log: createLogger({ level: "error" }) });
  const t0 = performance.now();
  await registry.load();
  const loadMs = performance.now() - t0;
  // Bun-only (run with bun, like the binary); typed loosely for deno check.
  const jscModule = "bun:jsc";
  const jsc = await import(jscModule) as {
    heapStats(): {
      heapSize: number;
      extraMemorySize: number;
      objectCount: number;
      objectTypeCounts: Record<string, number>;
    };
    fullGC(): void;
  };
  jsc.fullGC();
  const h = jsc.heapStats();
  const top = Object.entries(h.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 6);
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  console.log(
    `${Number(n) * TAGS} distinct tags in ${n} repositories: load ${loadMs.toFixed(0)} ms; ` +
      `heap ${mib(h.heapSize)} + ${mib(h.extraMemorySize)} outside; ${h.objectCount} ` +
      `objects (${top.map(([k, v]) => `${k} ${v}`).join(", ")}); RSS ${
        mib(process.memoryUsage().rss)
      }`,
  );
  process.exit(0);
}
