/**
 * @module
 * `deleteImages()`: takes tags, or manifests by digest with everything only they reach,
 * out of repositories' tag indexes (issue 12 §1), under the locks and in the write order
 * of publish (docs/LAYOUT.md §"Write order"):
 *
 *   1. everything is planned and checked first, without a lock: unknown repositories, tags
 *      and digests, and a digest a staying tag still needs (lib/layout/removal.ts
 *      StillReferenced), fail before the first write;
 *   2. per repository, under lock "repo:<name>": the tag index is re-read, the removal
 *      re-planned on what it holds now, and the index written;
 *   3. a repository left with no manifest leaves `catalog.json` (indexes.ts
 *      removeFromCatalog): the catalog dropping a name is what tells a server the
 *      repository is gone, since a server keeps the last good copy of a tag index that
 *      answers "missing" (lib/index/snapshot.ts). Its tag index is kept, empty, so a
 *      server still listing it from a stale catalog sees an empty repository and never a
 *      missing document; a later publish to the name starts from it as from nothing.
 *
 * Readers never see a tag whose content is gone: no object is removed here. Blobs and
 * manifests stay in the store until `gc` (lib/lifecycle/gc.ts) reclaims what no tag index
 * references any more.
 */
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { readDocument, writeDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import type { RepoIndex } from "../layout/schema.ts";
import { applyRemoval, planRemoval, type Removal } from "../layout/removal.ts";
import { recordInCatalog, removeFromCatalog, repoLockName, withLock } from "../publish/indexes.ts";
import type { WriteStore } from "../store/store.ts";
import { type Logger, silentLogger } from "../log.ts";
import { expiredTags, type RetentionPolicy } from "./retention.ts";
import { catalogNames } from "../layout/catalog.ts";

/** One thing to delete: a tag, or a manifest by digest. */
export type DeleteTarget =
  | { name: string; tag: string; digest?: undefined }
  | { name: string; digest: string; tag?: undefined };

export interface DeleteOptions {
  store: WriteStore;
  /** Tags and digests named on the command line. */
  targets?: readonly DeleteTarget[];
  /** Retention: the tags `policy` does not keep, in `repositories` ("all": the catalog's). */
  retention?: { repositories: readonly string[] | "all"; policy: RetentionPolicy };
  /** The time retention ages are measured at (ms since the epoch; default now). */
  now?: number;
  /** Plan and report only: nothing is written. */
  dryRun?: boolean;
  log?: Logger;
}

/** What left (or, with dryRun, would leave) one repository's tag index. */
export interface RepoDeletion extends Removal {
  name: string;
  /** No manifest is left: the repository left (would leave) the catalog. */
  emptied: boolean;
  /** Whether the tag index / catalog were written (always false with dryRun). */
  indexChanged: boolean;
  catalogChanged: boolean;
}

/** What one repository is asked to lose. */
interface Request {
  tags: Set<string>;
  digests: Set<string>;
  /** Re-applied to the index read under the lock (a tag set meanwhile may be young). */
  policy?: RetentionPolicy;
}

/**
 * Deletes `targets` and/or what `retention` selects; resolves to one entry per repository
 * touched, sorted by name. Throws (exit status 1 at the CLI) naming the repository, tag
 * or digest that is unknown or still referenced, before anything is written.
 */
export async function deleteImages(opts: DeleteOptions): Promise<RepoDeletion[]> {
  const { store } = opts;
  const log = opts.log ?? silentLogger;
  const now = opts.now ?? Date.now();
  if (!await readDocument(store, MARKER_KEY, validateMarker)) {
    throw new Error(`${store.location} is not a static-registry store (no ${MARKER_KEY})`);
  }
  const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
  const listed = catalog ? catalogNames(catalog) : [];
  const requests = requestsOf(opts, listed, store.location);

  // 1. Plan everything before the first write.
  const planned: RepoDeletion[] = [];
  for (const [name, req] of requests) {
    const index = await readIndex(store, name);
    checkTargets(index, req);
    planned.push(deletion(name, index, planOf(index, req, now)));
  }
  if (opts.dryRun) return planned;

  const done: RepoDeletion[] = [];
  for (const [name, req] of requests) {
    // 2. The tag index, under its lock, re-planned on what it holds now.
    const result = await withLock(() => store.lock(repoLockName(name)), async () => {
      const index = await readIndex(store, name);
      const removal = planOf(index, req, now);
      const r = deletion(name, index, removal);
      if (removal.tags.length || removal.manifests.length || removal.blobs.length) {
        const after = applyRemoval(index, removal);
        await writeDocument(store, repoIndexKey(name), after, (v) => validateRepoIndex(v, name));
        r.indexChanged = true;
      }
      return r;
    });
    // 3. The catalog, after the tag index: version 2 records the index's new digest.
    if (!result.emptied && result.indexChanged && catalog?.version === 2) {
      result.catalogChanged = await recordInCatalog(store, name);
    }
    if (result.emptied) {
      result.catalogChanged = await removeFromCatalog(store, name);
      // A publish may have refilled it between the two locks: then it stays listed.
      if (!result.catalogChanged) {
        result.emptied = Object.keys((await readIndex(store, name)).manifests).length === 0;
      }
    }
    log.info(
      {
        name,
        tags: result.tags.length,
        manifests: result.manifests.length,
        blobs: result.blobs.length,
        emptied: result.emptied,
      },
      "deleted",
    );
    done.push(result);
  }
  return done;
}

/** The report of `removal` from `before` (the index as read). */
function deletion(name: string, before: RepoIndex, removal: Removal): RepoDeletion {
  const emptied = Object.keys(before.manifests).length === removal.manifests.length;
  return { name, ...removal, emptied, indexChanged: false, catalogChanged: false };
}

function planOf(index: RepoIndex, req: Request, now: number): Removal {
  const tags = new Set(req.tags);
  if (req.policy) { for (const t of expiredTags(index, req.policy, now)) tags.add(t); }
  return planRemoval(index, { tags, digests: req.digests });
}

/** The requests grouped by repository (sorted), checked against the catalog. */
function requestsOf(opts: DeleteOptions, listed: readonly string[], location: string) {
  const requests = new Map<string, Request>();
  const get = (name: string) => {
    if (!listed.includes(name)) {
      throw new Error(
        `repository "${name}" is not in store ${location} (its catalog does not list it)`,
      );
    }
    let r = requests.get(name);
    if (!r) requests.set(name, r = { tags: new Set(), digests: new Set() });
    return r;
  };
  for (const t of opts.targets ?? []) {
    if (t.tag !== undefined) get(t.name).tags.add(t.tag);
    else get(t.name).digests.add(t.digest);
  }
  if (opts.retention) {
    const { repositories, policy } = opts.retention;
    for (const name of repositories === "all" ? listed : repositories) get(name).policy = policy;
  }
  return new Map([...requests].sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function readIndex(store: WriteStore, name: string): Promise<RepoIndex> {
  const index = await readDocument(store, repoIndexKey(name), (v) => validateRepoIndex(v, name));
  if (!index) {
    throw new Error(
      `repository "${name}": the catalog of ${store.location} lists it but its tag index ` +
        `${repoIndexKey(name)} is missing`,
    );
  }
  return index;
}

/** Every named tag and digest is held by the repository. */
function checkTargets(index: RepoIndex, req: Request): void {
  for (const tag of req.tags) {
    if (!Object.hasOwn(index.tags, tag)) {
      throw new Error(`repository "${index.name}" has no tag "${tag}"`);
    }
  }
  for (const digest of req.digests) {
    if (!(digest in index.manifests)) {
      throw new Error(`repository "${index.name}" holds no manifest ${digest}`);
    }
  }
}
