/**
 * @module
 * The read-modify-write of the shared documents, each under its store lock so concurrent
 * publishers serialise: a repository's tag index (`repositories/<name>/_index.json`) and
 * the catalog (`catalog.json`). Documents are read and written through lib/layout (the
 * server's own rules), only rewritten when they change, and {@link planIndexes} tells
 * beforehand (without a lock) which ones will, so an unchanged re-publish takes no lock.
 */
import { CATALOG_KEY, LAYOUT_VERSION, repoIndexKey } from "../layout/keys.ts";
import { encodeDocument, readDocument, writeDocument } from "../layout/documents.ts";
import { manifestEntry } from "../layout/entry.ts";
import { FieldError, validateCatalog, validateRepoIndex } from "../layout/rules.ts";
import { type Catalog, emptyRepoIndex, type ManifestEntry } from "../layout/schema.ts";
import type { WriteStore } from "../store/store.ts";
import type { CollectedImage } from "./collect.ts";

/** What publishing one image adds to a tag index, checked before anything is written. */
export interface IndexUpdate {
  tag: string;
  root: string;
  /** digest → tag-index entry of every manifest of the image. */
  manifests: Map<string, ManifestEntry>;
  /** digest → size of every config and layer. */
  blobs: Map<string, number>;
  /** Tags set beside `tag` (cosign's `sha256-<hex>.sig`, …; collect.ts) → manifest digest. */
  attachedTags?: Map<string, string>;
}

/**
 * The tag-index entries of `image` (lib/layout/entry.ts), or an Error naming the image,
 * the manifest and the field the server would refuse:
 * `publish library/app:1: manifest sha256:…: annotations[org.x]: not a string, got 5`.
 */
export function indexUpdate(name: string, tag: string, image: CollectedImage): IndexUpdate {
  const manifests = new Map<string, ManifestEntry>();
  for (const m of image.manifests) {
    try {
      manifests.set(m.descriptor.digest, manifestEntry(m.info, m.descriptor.size));
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      throw new Error(`publish ${name}:${tag}: manifest ${m.descriptor.digest}: ${e.message}`, {
        cause: e,
      });
    }
  }
  const blobs = new Map([...image.blobs].map(([digest, d]) => [digest, d.size]));
  return { tag, root: image.root.digest, manifests, blobs, attachedTags: image.tags };
}

/** Takes a lock, resolving to its release function (`store.lock(name)`, or one taken early). */
export type Acquire = () => Promise<() => Promise<void>>;

/** The lock names of the two shared documents. */
export const repoLockName = (name: string) => `repo:${name}`;
export const CATALOG_LOCK = "catalog";

/** Runs `fn` holding the lock `acquire` takes, always releasing it. */
export async function withLock<T>(acquire: Acquire, fn: () => Promise<T>): Promise<T> {
  const release = await acquire();
  try {
    return await fn();
  } finally {
    await release();
  }
}

const tagIndexRules = (name: string) => (v: unknown) => validateRepoIndex(v, name);

/** The tag index with `update` merged in, and whether that changes the stored document. */
async function mergedRepoIndex(store: WriteStore, name: string, update: IndexUpdate) {
  const key = repoIndexKey(name);
  const old = await readDocument(store, key, tagIndexRules(name));
  const index = old ?? emptyRepoIndex(name);
  const before = old && encodeDocument(old);
  for (const [digest, entry] of update.manifests) index.manifests[digest] = entry;
  for (const [digest, size] of update.blobs) index.blobs[digest] = size;
  index.tags[update.tag] = update.root;
  for (const [t, digest] of update.attachedTags ?? []) index.tags[t] = digest;
  const changed = !before || !sameBytes(before, encodeDocument(index));
  return { index, changed };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/** The catalog with `name` added, or null when it is already listed. */
async function mergedCatalog(store: WriteStore, name: string): Promise<Catalog | null> {
  const catalog = await readDocument(store, CATALOG_KEY, validateCatalog) ??
    { version: LAYOUT_VERSION, repositories: [] };
  if (catalog.repositories.includes(name)) return null;
  return { ...catalog, repositories: [...catalog.repositories, name].sort() };
}

/**
 * Which shared documents publishing `update` into `name` would change, read WITHOUT a
 * lock (so also a first check that the existing documents are well-formed). A document
 * that would not change needs no lock: publish then linearises at this read. One that
 * would is re-read under its lock by {@link updateRepoIndex} / {@link addToCatalog}.
 */
export async function planIndexes(
  store: WriteStore,
  name: string,
  update: IndexUpdate,
): Promise<{ repo: boolean; catalog: boolean }> {
  const [repo, catalog] = await Promise.all([
    mergedRepoIndex(store, name, update),
    mergedCatalog(store, name),
  ]);
  return { repo: repo.changed, catalog: catalog !== null };
}

/**
 * Adds every manifest and blob of `update` to repository `name` and points its tag at the
 * root, under lock `repo:<name>`. Returns whether the document changed.
 */
export function updateRepoIndex(
  store: WriteStore,
  name: string,
  update: IndexUpdate,
  acquire: Acquire = () => store.lock(repoLockName(name)),
): Promise<boolean> {
  return withLock(acquire, async () => {
    const { index, changed } = await mergedRepoIndex(store, name, update);
    if (!changed) return false;
    await writeDocument(store, repoIndexKey(name), index, tagIndexRules(name));
    return true;
  });
}

/**
 * Adds `name` to catalog.json (sorted, unique) under lock `catalog`. Returns whether the
 * catalog changed.
 */
export function addToCatalog(
  store: WriteStore,
  name: string,
  acquire: Acquire = () => store.lock(CATALOG_LOCK),
): Promise<boolean> {
  return withLock(acquire, async () => {
    const catalog = await mergedCatalog(store, name);
    if (!catalog) return false;
    await writeDocument(store, CATALOG_KEY, catalog, validateCatalog);
    return true;
  });
}
