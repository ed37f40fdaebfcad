/**
 * @module
 * Shared pieces of the publish tests: temp dirs, a store snapshot (every visible object
 * and its digest), and a DirStore that records every write in order.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { digestOf } from "../../lib/oci/digest.ts";
import { DirStore } from "../../lib/store/dir.ts";
import type { LockOptions, WriteMeta, WriteStore } from "../../lib/store/store.ts";
import { openSource } from "../../lib/sources/open.ts";
import { publish, type PublishResult } from "../../lib/publish/publish.ts";

/** Runs `fn` with a fresh temp dir that is always removed. */
export async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "sr-publish-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** key → digest of every object a reader could see (the .tmp and .locks dirs excluded). */
export async function snapshot(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let entries: { name: string; parentPath: string; isFile(): boolean }[] = [];
  try {
    entries = await fs.readdir(root, { recursive: true, withFileTypes: true });
  } catch { /* no store yet */ }
  for (const e of entries) {
    if (!e.isFile()) continue;
    const key = path.relative(root, path.join(e.parentPath, e.name));
    if (key.startsWith(".tmp") || key.startsWith(".locks")) continue;
    out[key] = digestOf(await fs.readFile(path.join(root, key)));
  }
  return out;
}

/** Files left in the store's temp dir (should be none after a failed write). */
export async function tmpLeftovers(root: string): Promise<string[]> {
  try {
    return await fs.readdir(path.join(root, ".tmp"));
  } catch {
    return [];
  }
}

/** A DirStore that records `key` and `meta` of every completed write, in order. */
export class RecordingStore extends DirStore {
  writes: { key: string; meta: WriteMeta }[] = [];
  /** In order: "write <key>", "lock <name>" (acquisition started), "unlock <name>". */
  events: string[] = [];
  /** Pretend lock lead time (an S3 lease's settle delay); DirStore's own is 0. */
  override lockLeadMs: number = 0;
  override async write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    meta: WriteMeta,
  ): Promise<void> {
    await super.write(key, body, meta);
    this.writes.push({ key, meta });
    this.events.push(`write ${key}`);
  }
  override async lock(name: string, opts?: LockOptions): Promise<() => Promise<void>> {
    this.events.push(`lock ${name}`);
    const release = await super.lock(name, opts);
    return async () => {
      this.events.push(`unlock ${name}`);
      await release();
    };
  }
}

/** Publishes `spec` into `store` as `name:tag` through the library (source always closed). */
export async function publishFrom(
  spec: string,
  store: WriteStore,
  name: string,
  tag: string,
): Promise<PublishResult> {
  const source = await openSource(spec);
  try {
    return await publish({ source, store, name, tag });
  } finally {
    await source.close();
  }
}

/** Reads a JSON file of the store. */
export async function readDoc<T = Record<string, unknown>>(root: string, key: string): Promise<T> {
  return JSON.parse(await Deno.readTextFile(path.join(root, key)));
}
