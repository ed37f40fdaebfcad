/**
 * @module
 * The read-modify-write of the shared documents, each under its store lock so concurrent
 * publishers serialise: a repository's tag index (`repositories/<name>/_index.json`) and
 * the catalog (`catalog.json`). Documents are read and written through lib/layout (the
 * server's own rules), only rewritten when they change, and {@link planIndexes} tells
 * beforehand (without a lock) which ones will, so an unchanged re-publish takes no lock.
 *
 * Layout version 2 (docs/LAYOUT.md §"catalog.json"): the catalog records each repository's
 * tag-index digest, so every tag-index write is followed by a catalog update. That update
 * digests the tag index as it is *under the catalog lock*, not the bytes this writer wrote:
 * two publishers of one repository may reach the catalog in the other order than they wrote
 * the index, and the last catalog update must name the last index (each writer updates the
 * catalog after its index write, so the last one to update reads after every write).
 */
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { encodeDocument, readDocument, writeDocument } from "../layout/documents.ts";
import { manifestEntry } from "../layout/entry.ts";
import { FieldError, validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import {
  catalogDigest,
  catalogHas,
  tagIndexDigest,
  withoutRepository,
  withRepository,
} from "../layout/catalog.ts";
import { type Catalog, emptyRepoIndex, type ManifestEntry, record } from "../layout/schema.ts";
import { applyRemoval, orphanBlobs, unreachable } from "../layout/removal.ts";
import { nowTime, withTagTimes } from "../layout/tag_times.ts";
import { isSweepStore, type WriteStore } from "../store/store.ts";
import { CatalogRecorder, readCatalog, recordThroughHolder } from "./catalog_fold.ts";
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
  /** Refuse to move the tag when it points at another manifest (publish --no-clobber). */
  noClobber?: boolean;
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

/** A tag that publish pointed at another manifest. */
export interface TagMove {
  tag: string;
  /** The digest the tag pointed at before. */
  from: string;
  /** The digest it points at now (the published root). */
  to: string;
  /**
   * Manifests that left the tag index with the move: the old root and what only it
   * reached (children, referrers; lib/layout/removal.ts). Their objects stay in the store
   * until gc collects them.
   */
  dropped: string[];
}

/** `publish --no-clobber` met a tag that points at another manifest. Exit status 1. */
export class TagMoveRefused extends Error {
  override name = "TagMoveRefused";
  constructor(name: string, readonly tag: string, readonly from: string, readonly to: string) {
    super(
      `publish ${name}:${tag}: tag "${tag}" already points at ${from}; ` +
        `--no-clobber refuses to move it to ${to}`,
    );
  }
}

/**
 * The tag index with `update` merged in, and whether that changes the stored document.
 * A tag set or moved gets its time (`tagged`, lib/layout/tag_times.ts); an unchanged tag
 * keeps its time, so an unchanged re-publish still changes nothing. A moved tag's old
 * manifest leaves the index with whatever only it reached, so nothing keeps it from gc
 * (issue 12 §4); `created` says the index held no manifest before (none, or emptied by
 * `delete`, which then takes the repository out of the catalog: the caller lists it again).
 */
async function mergedRepoIndex(store: WriteStore, name: string, update: IndexUpdate) {
  const key = repoIndexKey(name);
  const old = await readDocument(store, key, tagIndexRules(name));
  let index = old ?? emptyRepoIndex(name);
  const before = old && encodeDocument(old);
  const created = !old || Object.keys(old.manifests).length === 0;
  const { tag, root } = update;
  const from = Object.hasOwn(index.tags, tag) ? index.tags[tag] : undefined;
  if (from !== undefined && from !== root && update.noClobber) {
    throw new TagMoveRefused(name, tag, from, root);
  }
  for (const [digest, entry] of update.manifests) index.manifests[digest] = entry;
  for (const [digest, size] of update.blobs) index.blobs[digest] = size;
  index.tags[tag] = root;
  let moved: TagMove | undefined;
  const set = record<string>();
  if (from !== root) set[tag] = nowTime();
  // Attached tags (cosign's) are tags too: set before a move's removal below, so what
  // they reach stays; timed like any tag that is set or moved.
  for (const [t, digest] of update.attachedTags ?? []) {
    if (index.tags[t] !== digest) set[t] = nowTime();
    index.tags[t] = digest;
  }
  if (Object.keys(set).length) index.tagged = withTagTimes(index, set);
  if (from !== undefined && from !== root) {
    const dropped = unreachable(index, [from], Object.keys(index.tags));
    index = applyRemoval(index, {
      tags: [],
      manifests: dropped,
      blobs: orphanBlobs(index, dropped),
    });
    moved = { tag, from, to: root, dropped };
  }
  const changed = !before || !sameBytes(before, encodeDocument(index));
  return { index, changed, created, moved };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/**
 * The catalog listing `name` with its tag index as the store holds it now (version 2:
 * its digest), or null when the catalog already says so.
 */
async function mergedCatalog(store: WriteStore, name: string): Promise<Catalog | null> {
  const catalog = await readCatalog(store);
  if (catalog.version === 1) {
    return catalogHas(catalog, name) ? null : withRepository(catalog, name);
  }
  const res = await store.read(repoIndexKey(name));
  if (res.status !== "ok") {
    // Only called after this writer's own tag-index write: a missing index is a store fault.
    throw new Error(
      `store ${store.location}: "${
        repoIndexKey(name)
      }" answered ${res.status} after it was written`,
    );
  }
  const digest = tagIndexDigest(res.bytes);
  return catalogDigest(catalog, name) === digest ? null : withRepository(catalog, name, digest);
}

/** What {@link planIndexes} found. */
export interface IndexPlan {
  /** The tag index changes. */
  repo: boolean;
  /** The catalog changes (name not listed yet, or version 2: its tag-index digest changes). */
  catalog: boolean;
  /** The catalog lock is to be taken before copying (version 1 only: lock_ahead.ts). */
  catalogAhead: boolean;
  /**
   * The catalog's layout version as read, undefined for a store with no catalog yet.
   * Versions only go up (`migrate`), and either recording path handles either version,
   * so {@link recordInCatalog} may choose its path by it without reading the catalog again.
   */
  catalogVersion?: 1 | 2;
  /** Set when the tag pointed at another manifest before. */
  moved?: TagMove;
}

/**
 * Which shared documents publishing `update` into `name` would change, read WITHOUT a
 * lock (so also a first check that the existing documents are well-formed). A document
 * that would not change needs no lock: publish then linearises at this read. One that
 * would is re-read under its lock by {@link updateRepoIndex} / {@link recordInCatalog}.
 */
export async function planIndexes(
  store: WriteStore,
  name: string,
  update: IndexUpdate,
): Promise<IndexPlan> {
  const [repo, catalog] = await Promise.all([
    mergedRepoIndex(store, name, update),
    readDocument(store, CATALOG_KEY, validateCatalog),
  ]);
  // Version 2 records the tag index's digest: a changed index changes the catalog too.
  // (A store without a catalog yet gets one: the version of its marker, ensureMarker's.)
  const listed = catalog !== null && catalogHas(catalog, name);
  const recorded = catalog?.version === 1 ? listed : listed && !repo.changed;
  return {
    repo: repo.changed,
    catalog: !recorded,
    moved: repo.moved,
    // Version 2's catalog is recorded through the lock's holder (catalog_fold.ts), whose
    // lock is taken ahead by its own CatalogRecorder (catalogRecorder below): it serves
    // everyone's requests while it holds the lock, so it holds nobody up while it copies.
    catalogAhead: !recorded && catalog?.version !== 2,
    catalogVersion: catalog?.version,
  };
}

/**
 * The recorder that takes the layout-v2 catalog lock ahead for a publish whose plan will
 * change the catalog (start it with the other locks: lock_ahead.ts), or undefined when
 * the catalog is recorded another way (version 1, a store that cannot list, no change).
 */
export function catalogRecorder(
  store: WriteStore,
  name: string,
  plan: IndexPlan,
): CatalogRecorder | undefined {
  if (!plan.catalog || plan.catalogVersion !== 2 || !isSweepStore(store)) return undefined;
  return new CatalogRecorder(store, name, (signal) => store.lock(CATALOG_LOCK, { signal }));
}

/** What {@link updateRepoIndex} did. */
export interface IndexWrite {
  /** Whether the document changed (and was written). */
  changed: boolean;
  /**
   * The index held no manifest before (new, or emptied by `delete`): the repository must
   * be (re)listed in the catalog even when the plan, read earlier, saw it listed — a
   * delete may have taken it out since.
   */
  created: boolean;
  /** Set when the tag pointed at another manifest before. */
  moved?: TagMove;
}

/**
 * Adds every manifest and blob of `update` to repository `name` and points its tag at the
 * root, under lock `repo:<name>` (a moved tag's old manifests leave: see mergedRepoIndex).
 * Throws {@link TagMoveRefused} for a move with `noClobber`.
 */
export function updateRepoIndex(
  store: WriteStore,
  name: string,
  update: IndexUpdate,
  acquire: Acquire = () => store.lock(repoLockName(name)),
  /** Called once the changed index is written, before the lock is released. */
  written?: () => void,
): Promise<IndexWrite> {
  return withLock(acquire, async () => {
    const { index, changed, created, moved } = await mergedRepoIndex(store, name, update);
    if (changed) {
      await writeDocument(store, repoIndexKey(name), index, tagIndexRules(name));
      written?.();
    }
    return { changed, created, moved };
  });
}

/**
 * Lists `name` in catalog.json under lock `catalog`, with (layout version 2) the digest
 * of its tag index as it is now. Returns whether the catalog changed.
 */
export async function recordInCatalog(
  store: WriteStore,
  name: string,
  { acquire, version, recorder }: {
    acquire?: Acquire;
    version?: 1 | 2;
    /** The plan's version-2 recorder ({@link catalogRecorder}), maybe started ahead. */
    recorder?: CatalogRecorder;
  } = {},
): Promise<boolean> {
  if (recorder) return await recorder.record();
  // Version 2 changes the catalog at every publish: recorded by whoever holds the lock,
  // so publishers of different repositories do not queue for it (catalog_fold.ts).
  // `version` is the plan's read of the catalog (IndexPlan.catalogVersion): one GET less.
  if (
    !acquire && isSweepStore(store) && (version ?? (await readCatalog(store)).version) === 2
  ) {
    return await recordThroughHolder(
      store,
      name,
      (signal) => store.lock(CATALOG_LOCK, { signal }),
    );
  }
  return await withLock(acquire ?? (() => store.lock(CATALOG_LOCK)), async () => {
    const catalog = await mergedCatalog(store, name);
    if (!catalog) return false;
    await writeDocument(store, CATALOG_KEY, catalog, validateCatalog);
    return true;
  });
}

/**
 * After a tag-index write its plan did not record (layout version 1, `name` already
 * listed, so no catalog lock): records its digest if `migrate` has set the marker to
 * version 2 since the plan read the catalog. A marker read after the write that says 1
 * means the write came before migrate's marker write, so migrate's second digest pass
 * reads it (lib/lifecycle/migrate.ts); one that says 2 means migrate may have digested
 * the index before this write, and without this a version-2 catalog would name the old
 * index until the next publish (servers reread only what the catalog says changed).
 * Returns whether the catalog changed.
 */
export async function recordIfMigrated(store: WriteStore, name: string): Promise<boolean> {
  const marker = await readDocument(store, MARKER_KEY, validateMarker);
  if (marker?.version !== 2) return false;
  return await recordInCatalog(store, name);
}

/**
 * Takes `name` out of catalog.json if its tag index holds no manifest (a `delete` emptied
 * it). Locks `catalog`, then `repo:<name>`, and decides holding both: a publish that
 * refills the repository either wrote first (the repository stays listed) or finds it
 * empty and lists it again ({@link IndexWrite.created}). That order cannot deadlock with
 * publish, which may wait for a repository lock while holding the catalog lock but never
 * waits for the catalog lock while holding a repository lock (lock_ahead.ts). Returns
 * whether the catalog changed.
 */
export function removeFromCatalog(store: WriteStore, name: string): Promise<boolean> {
  return withLock(
    () => store.lock(CATALOG_LOCK),
    () =>
      withLock(() => store.lock(repoLockName(name)), async () => {
        const index = await readDocument(store, repoIndexKey(name), tagIndexRules(name));
        if (index && Object.keys(index.manifests).length > 0) return false;
        const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
        if (!catalog || !catalogHas(catalog, name)) return false;
        await writeDocument(store, CATALOG_KEY, withoutRepository(catalog, name), validateCatalog);
        return true;
      }),
  );
}
