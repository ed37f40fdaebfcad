/**
 * @module
 * The read-modify-write of the shared documents, each under its store lock so concurrent
 * publishers serialise: a repository's tag index (`repositories/<name>/_index.json`) and
 * the catalog (`catalog.json`). Documents are only rewritten when they change.
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

/** Runs `fn` holding `store.lock(name)`, always releasing it. */
export async function withLock<T>(
  store: WriteStore,
  name: string,
  fn: () => Promise<T>,
): Promise<T> {
  const release = await store.lock(name);
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

/**
 * Adds every manifest and blob of `image` to repository `name` and points `tag` at the
 * root. Returns whether the document changed.
 */
export function updateRepoIndex(
  store: WriteStore,
  name: string,
  tag: string,
  image: CollectedImage,
): Promise<boolean> {
  const key = repoIndexKey(name);
  return withLock(store, `repo:${name}`, async () => {
    const old = await readJson(store, key);
    const index = old
      ? checkRepoIndex(old.doc, name, `${store.location}/${key}`)
      : emptyRepoIndex(name);
    for (const m of image.manifests) index.manifests[m.descriptor.digest] = manifestEntry(m);
    for (const [digest, d] of image.blobs) index.blobs[digest] = d.size;
    index.tags[tag] = image.root.digest;
    const bytes = encodeDocument(index);
    if (old && sameBytes(old.bytes, bytes)) return false;
    await store.write(key, bytes, { contentType: JSON_TYPE, cacheControl: CACHE_INDEX });
    return true;
  });
}

/** Adds `name` to catalog.json (sorted, unique). Returns whether the catalog changed. */
export function addToCatalog(store: WriteStore, name: string): Promise<boolean> {
  return withLock(store, "catalog", async () => {
    const old = await readJson(store, CATALOG_KEY);
    const catalog: Catalog = old
      ? checkCatalog(old.doc, `${store.location}/${CATALOG_KEY}`)
      : { version: LAYOUT_VERSION, repositories: [] };
    if (catalog.repositories.includes(name)) return false;
    catalog.repositories = [...catalog.repositories, name].sort();
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
