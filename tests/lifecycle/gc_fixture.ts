/**
 * @module
 * A store with known garbage, for the gc tests: images a and b share a base layer and are
 * published as demo/app:v1 and :v2, c (same base) as other/x:v1; then demo/app's tag index
 * is put back to what it was before v2 (a `delete` of v2, written by hand). b's own
 * manifest, config and layer are then garbage; the base layer stays (a and c use it).
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { blobKey, CACHE_INDEX, DOCUMENT_TYPE, repoIndexKey } from "../../lib/layout/keys.ts";
import { readDocument } from "../../lib/layout/documents.ts";
import { validateCatalog, validateRepoIndex } from "../../lib/layout/rules.ts";
import { CATALOG_KEY } from "../../lib/layout/keys.ts";
import { referencedObjects } from "../../lib/layout/walk.ts";
import type { LockOptions, SweepStore, WriteStore } from "../../lib/store/store.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { publishFrom } from "../publish/helpers.ts";
import { catalogNames } from "../../lib/layout/catalog.ts";
import { recordInCatalog } from "../../lib/publish/indexes.ts";

export interface Garbage {
  /** Object keys that must stay. */
  keep: Set<string>;
  /** Object keys no repository references. */
  garbage: Set<string>;
  images: { a: BuiltImage; b: BuiltImage; c: BuiltImage };
  /** The source layouts (oci:DIR:TAG specs). */
  specs: { a: string; b: string; c: string };
}

const keysOf = (img: BuiltImage) => Object.keys(img.sizes).map(blobKey);

/** Builds the layouts under `tmp` and the store's content; see the module doc. */
export async function makeGarbage(tmp: string, store: WriteStore): Promise<Garbage> {
  const mk = (seed: string) =>
    makeOciLayout(path.join(tmp, `src-${seed}`), { tag: "v1", seed, baseSeed: "base" });
  const images = { a: await mk("a"), b: await mk("b"), c: await mk("c") };
  const specs = {
    a: `oci:${tmp}/src-a:v1`,
    b: `oci:${tmp}/src-b:v1`,
    c: `oci:${tmp}/src-c:v1`,
  };
  await publishFrom(specs.a, store, "demo/app", "v1");
  const before = await store.read(repoIndexKey("demo/app"));
  if (before.status !== "ok") throw new Error("no tag index after the first publish");
  await publishFrom(specs.b, store, "demo/app", "v2");
  await publishFrom(specs.c, store, "other/x", "v1");
  await store.write(repoIndexKey("demo/app"), before.bytes, {
    contentType: DOCUMENT_TYPE,
    cacheControl: CACHE_INDEX,
  });
  await recordInCatalog(store, "demo/app"); // as a writer of the index would (layout v2)
  const keep = new Set([...keysOf(images.a), ...keysOf(images.c)]);
  const garbage = new Set(keysOf(images.b).filter((k) => !keep.has(k)));
  if (garbage.size !== 3) throw new Error(`fixture: expected 3 garbage objects, ${garbage.size}`);
  return { keep, garbage, images, specs };
}

/** Every key under blobs/ of the store, sorted. */
export async function blobKeys(store: SweepStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list("blobs/")) out.push(o.key);
  return out.sort();
}

/** Sets every file under `root`/blobs to `ageMs` old (a directory store's mtime). */
export async function age(root: string, ageMs: number, only?: Set<string>): Promise<void> {
  const when = new Date(Date.now() - ageMs);
  for (const e of await fs.readdir(path.join(root, "blobs"), { recursive: true })) {
    const key = `blobs/${e}`;
    if (only && !only.has(key)) continue;
    const file = path.join(root, key);
    if ((await fs.stat(file)).isFile()) await fs.utimes(file, when, when);
  }
}

/**
 * Every object any tag index of the store references that the store lacks (as `repo: key`):
 * what must stay empty whatever gc and publish do.
 */
export async function missingReferenced(store: WriteStore): Promise<string[]> {
  const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
  const missing: string[] = [];
  for (const name of catalog ? catalogNames(catalog) : []) {
    const index = await readDocument(store, repoIndexKey(name), (v) => validateRepoIndex(v, name));
    if (!index) {
      missing.push(`${name}: its tag index`);
      continue;
    }
    const digests = new Set([
      ...referencedObjects(index).map((o) => o.digest),
      ...Object.keys(index.manifests),
      ...Object.keys(index.blobs),
    ]);
    for (const d of digests) {
      if (await store.stat(blobKey(d)) === null) missing.push(`${name}: ${blobKey(d)}`);
    }
  }
  return missing;
}

/**
 * A store that, when the publish takes its repository lock (after every presence check),
 * removes `victims` first: what a gc that read the tag indexes before does meanwhile.
 */
export class SweptMeanwhile extends DirStore {
  victims: string[] = [];
  removed: string[] = [];
  override async lock(name: string, opts?: LockOptions) {
    if (name.startsWith("repo:")) {
      for (const k of this.victims.splice(0)) {
        await this.remove(k);
        this.removed.push(k);
      }
    }
    return await super.lock(name, opts);
  }
}
