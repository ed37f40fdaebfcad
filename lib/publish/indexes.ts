/**
 * @module
 * The read-modify-write of the shared documents, each under its store lock so concurrent
 * publishers serialise: a repository's tag index (`repositories/<name>/_index.json`) and
 * the catalog (`catalog.json`). Documents are only rewritten when they change, and
 * {@link planIndexes} tells beforehand (without a lock) which ones will, so an unchanged
 * re-publish takes no lock at all.
 */
import {
  CACHE_INDEX,
  type Catalog,
  CATALOG_KEY,
  emptyRepoIndex,
  encodeDocument,
  LAYOUT_VERSION,
  type ManifestEntry,
  type RepoIndex,
  repoIndexKey,
} from "../layout/layout.ts";
import type { WriteStore } from "../store/store.ts";
import type { CollectedImage, CollectedManifest } from "./collect.ts";

const JSON_TYPE = "application/json";

/** The RepoIndex entry for one manifest. */
export function manifestEntry(m: CollectedManifest): ManifestEntry {
  const e: ManifestEntry = { mediaType: m.info.mediaType, size: m.descriptor.size };
  if (m.info.annotations) e.annotations = m.info.annotations;
  if (m.info.artifactType) e.artifactType = m.info.artifactType;
  if (m.info.subject) e.subject = m.info.subject.digest;
  if (m.info.manifests.length) e.children = m.info.manifests.map((c) => c.digest);
  if (m.info.blobs.length) e.blobs = m.info.blobs.map((b) => b.digest);
  return e;
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

/** Reads a JSON document, or null when missing; errors name the store and key. */
async function readJson(
  store: WriteStore,
  key: string,
): Promise<{ doc: unknown; bytes: Uint8Array } | null> {
  const r = await store.read(key);
  if (r.status === "missing") return null;
  if (r.status !== "ok") throw new Error(`store ${store.location}: unexpected read of ${key}`);
  try {
    return { doc: JSON.parse(new TextDecoder().decode(r.bytes)), bytes: r.bytes };
  } catch (e) {
    throw new Error(`store ${store.location}: ${key} is not JSON: ${(e as Error).message}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/** The tag index with `image` merged in, and whether that changes the stored bytes. */
async function mergedRepoIndex(
  store: WriteStore,
  name: string,
  tag: string,
  image: CollectedImage,
): Promise<{ bytes: Uint8Array; changed: boolean }> {
  const key = repoIndexKey(name);
  const old = await readJson(store, key);
  const index = old
    ? checkRepoIndex(old.doc, name, `${store.location}/${key}`)
    : emptyRepoIndex(name);
  for (const m of image.manifests) index.manifests[m.descriptor.digest] = manifestEntry(m);
  for (const [digest, d] of image.blobs) index.blobs[digest] = d.size;
  index.tags[tag] = image.root.digest;
  const bytes = encodeDocument(index);
  return { bytes, changed: !old || !sameBytes(old.bytes, bytes) };
}

/** The catalog with `name` added, or null when it is already listed. */
async function mergedCatalog(store: WriteStore, name: string): Promise<Catalog | null> {
  const old = await readJson(store, CATALOG_KEY);
  const catalog: Catalog = old
    ? checkCatalog(old.doc, `${store.location}/${CATALOG_KEY}`)
    : { version: LAYOUT_VERSION, repositories: [] };
  if (catalog.repositories.includes(name)) return null;
  return { ...catalog, repositories: [...catalog.repositories, name].sort() };
}

/**
 * Which shared documents publishing `image` as `name:tag` would change, read WITHOUT a
 * lock (so also a first check that the existing documents are well-formed). A document
 * that would not change needs no lock: publish then linearises at this read. One that
 * would is re-read under its lock by {@link updateRepoIndex} / {@link addToCatalog}.
 */
export async function planIndexes(
  store: WriteStore,
  name: string,
  tag: string,
  image: CollectedImage,
): Promise<{ repo: boolean; catalog: boolean }> {
  const [repo, catalog] = await Promise.all([
    mergedRepoIndex(store, name, tag, image),
    mergedCatalog(store, name),
  ]);
  return { repo: repo.changed, catalog: catalog !== null };
}

/**
 * Adds every manifest and blob of `image` to repository `name` and points `tag` at the
 * root, under lock `repo:<name>`. Returns whether the document changed.
 */
export function updateRepoIndex(
  store: WriteStore,
  name: string,
  tag: string,
  image: CollectedImage,
  acquire: Acquire = () => store.lock(repoLockName(name)),
): Promise<boolean> {
  return withLock(acquire, async () => {
    const { bytes, changed } = await mergedRepoIndex(store, name, tag, image);
    if (!changed) return false;
    await store.write(repoIndexKey(name), bytes, {
      contentType: JSON_TYPE,
      cacheControl: CACHE_INDEX,
    });
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
    await store.write(CATALOG_KEY, encodeDocument(catalog), {
      contentType: JSON_TYPE,
      cacheControl: CACHE_INDEX,
    });
    return true;
  });
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return !!x && typeof x === "object" && !Array.isArray(x);
}

/** Checks the shape of an existing tag index before we extend it (never clobber garbage). */
export function checkRepoIndex(doc: unknown, name: string, where: string): RepoIndex {
  if (!isRecord(doc)) throw new Error(`${where}: not a JSON object`);
  if (doc.version !== LAYOUT_VERSION) {
    throw new Error(
      `${where}: layout version ${JSON.stringify(doc.version)}, expected ${LAYOUT_VERSION}`,
    );
  }
  if (doc.name !== name) {
    throw new Error(`${where}: "name" is ${JSON.stringify(doc.name)}, expected "${name}"`);
  }
  for (const k of ["tags", "manifests", "blobs"]) {
    if (!isRecord(doc[k])) throw new Error(`${where}: "${k}" must be an object`);
  }
  return doc as unknown as RepoIndex;
}

/** Checks the shape of an existing catalog. */
export function checkCatalog(doc: unknown, where: string): Catalog {
  if (!isRecord(doc)) throw new Error(`${where}: not a JSON object`);
  if (doc.version !== LAYOUT_VERSION) {
    throw new Error(
      `${where}: layout version ${JSON.stringify(doc.version)}, expected ${LAYOUT_VERSION}`,
    );
  }
  if (!Array.isArray(doc.repositories) || !doc.repositories.every((r) => typeof r === "string")) {
    throw new Error(`${where}: "repositories" must be an array of names`);
  }
  return doc as unknown as Catalog;
}
