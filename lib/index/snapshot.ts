/**
 * @module
 * Reading one consistent snapshot of a store's index (docs/LAYOUT.md): the marker, the
 * catalog, and the tag indexes, each with a conditional read against the previous snapshot
 * (an unchanged document costs one `not-modified`).
 *
 * Which tag indexes are read (issue 13, "refresh in O(changes)"):
 * - layout version 1: every listed repository's, on every refresh;
 * - layout version 2: only those whose digest in the catalog is not the digest of the copy
 *   held (docs/LAYOUT.md §"catalog.json"). An unchanged store costs two conditional reads
 *   (marker, catalog) whatever its size; a publish to one repository costs one catalog read
 *   and one tag-index read. A copy that does not match its catalog digest after it was read
 *   (a CDN still caching the old index; a catalog written by hand) is *pending*, and read
 *   again on every refresh until it matches, so a lagging cache delays a change but never
 *   hides it. So is every repository with a problem below.
 *
 * What is fatal and what is not:
 * - store-level (throws; a refresh keeps the whole last snapshot): the store cannot be
 *   read, the marker is missing or invalid, the catalog is not a valid catalog;
 * - per document (a {@link TrackedProblem}; the rest is served): a tag index that is not
 *   valid for its repository is *rejected* — that repository keeps its last good version,
 *   or is not served if it never had one; a catalog or tag index that answers "missing"
 *   after it was read once keeps its last good copy. Only the catalog no longer listing a
 *   repository removes it (publish writes the catalog last, docs/LAYOUT.md write order).
 *
 * A listed repository with a problem is read on every refresh, served or not, so one that
 * was missing (an rsync that copied `catalog.json` before `repositories/`) appears once it
 * is there.
 *
 * With `onDemand` (config `index.load: "on-demand"`, lib/index/held.ts) `prev.repos` holds
 * only the tag indexes held, and only those are read again (by the same rules); the others
 * are read at their first request, so a load reads the marker and the catalog only, and
 * every listed repository counts as served.
 */
import pMap from "p-map";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { decodeDocument, DocumentError } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import { catalogDigest, catalogNames, tagIndexDigest } from "../layout/catalog.ts";
import type { Catalog } from "../layout/schema.ts";
import { redact } from "../oci/redact.ts";
import type { ReadResult, ReadStore } from "../store/store.ts";
import { NO_PROBLEMS, problem, type Problems, type TrackedProblem } from "./problems.ts";
import { RepoView } from "./repo.ts";

/** One consistent snapshot of the store, swapped in whole. */
export interface Snapshot {
  markerEtag?: string;
  /** The marker's store id; undefined for a store published before identities. */
  storeId?: string;
  catalogEtag?: string;
  /** Whether a catalog was ever read: only then is a missing one a problem. */
  catalogSeen: boolean;
  /** The catalog last read (its names and, layout version 2, tag-index digests). */
  catalog?: Catalog;
  /** Every repository the catalog lists, sorted, served or not. */
  listed: readonly string[];
  /**
   * Listed repositories to read at the next refresh even if the catalog is unchanged: all
   * of them for layout version 1; for version 2 those whose copy does not match the
   * catalog's digest, and those with a problem.
   */
  pending: ReadonlySet<string>;
  /** The repositories served (listed and with a usable tag index), sorted. */
  names: readonly string[];
  repos: ReadonlyMap<string, RepoView>;
  tags: number;
  problems: Problems;
  /** Store reads this snapshot took (for the refresh-cost metric). */
  reads: number;
}

export interface ReadOptions {
  /** Tag indexes read at once. */
  concurrency: number;
  /** The time problems are stamped with (ISO 8601). */
  now: string;
  /** Read only the tag indexes `prev` holds (see the module doc). */
  onDemand?: boolean;
}

/** Reads the store's index on top of `prev`. Throws (naming store and key) when store-level. */
export async function readSnapshot(
  store: ReadStore,
  prev: Snapshot | undefined,
  opts: ReadOptions,
): Promise<Snapshot> {
  let reads = 0;
  const read = (key: string, etag?: string) => (reads++, readKey(store, key, etag));
  const before = prev?.problems ?? NO_PROBLEMS;
  const problems = new Map<string, TrackedProblem>();

  const marker = await read(MARKER_KEY, prev?.markerEtag);
  if (marker.status === "missing") {
    throw new Error(`${store.location} is not a static-registry store (no ${MARKER_KEY})`);
  }
  // The store's identity (docs/LAYOUT.md §"Marker"): kept from `prev` when not modified.
  let storeId = prev?.storeId;
  if (marker.status === "ok") {
    storeId = decodeDocument(MARKER_KEY, marker.bytes, validateMarker, store.location).id;
  }
  const markerEtag = marker.status === "ok" ? marker.meta.etag : prev?.markerEtag;

  const res = await read(CATALOG_KEY, prev?.catalogEtag);
  let catalog = prev?.catalog;
  let catalogEtag = prev?.catalogEtag;
  let catalogSeen = prev?.catalogSeen ?? false;
  if (res.status === "ok") {
    catalog = decodeDocument(CATALOG_KEY, res.bytes, validateCatalog, store.location);
    catalogEtag = res.meta.etag;
    catalogSeen = true;
  } else if (res.status === "missing" && catalogSeen) {
    // Not a deletion: keep the last good list and read the catalog again next time.
    problems.set(
      CATALOG_KEY,
      problem(before.get(CATALOG_KEY), {
        key: CATALOG_KEY,
        repository: null,
        kind: "missing",
        reason: `${CATALOG_KEY} answered "not found" after it had been read`,
        serving: "last-good",
      }, opts.now),
    );
  }
  // Missing and never seen: a store with a marker but no catalog yet has no repositories
  // (publish writes the catalog last). Not-modified: the previous catalog.
  const listed: readonly string[] = res.status === "ok" || !prev
    ? (catalog ? catalogNames(catalog) : [])
    : prev.listed;

  // What to read: version 1, everything; version 2, what the catalog says changed and
  // what was pending. Unchanged ones keep their view (the same object: changes.ts skips it).
  const toRead = listed.filter((name) => {
    const old = prev?.repos.get(name);
    if (opts.onDemand && old === undefined) return false;
    if (catalog?.version !== 2) return true;
    if (prev?.pending.has(name)) return true;
    return old === undefined || old.digest !== catalogDigest(catalog, name);
  });
  if (toRead.length === 0 && prev && res.status !== "ok") {
    // An unchanged version-2 store: the previous snapshot (no repository was pending, so
    // none has a problem), with what the two reads said.
    return { ...prev, markerEtag, storeId, catalogSeen, problems, reads };
  }

  // Enough reads in flight to hide store latency, few enough not to flood S3 or a CDN;
  // the first store-level failure rejects (pending names are not started).
  reads += toRead.length;
  const outcomes = await pMap(
    toRead,
    (name) => readRepo(store, name, prev, before, opts.now),
    { concurrency: opts.concurrency },
  );
  const readNow = new Map(toRead.map((name, i) => [name, outcomes[i]]));
  const repos = new Map<string, RepoView>();
  const names: string[] = [];
  const pending = new Set<string>();
  let tags = 0;
  for (const name of listed) {
    const outcome = readNow.get(name);
    const view = outcome ? outcome.view : prev?.repos.get(name);
    if (outcome?.problem) problems.set(outcome.problem.key, outcome.problem);
    const stale = catalog?.version !== 2 || outcome?.problem !== undefined ||
      view?.digest !== catalogDigest(catalog, name);
    // On demand, one not held is read at its request, not at a refresh.
    if (stale && (view || !opts.onDemand)) pending.add(name);
    if (opts.onDemand) names.push(name);
    if (!view) continue;
    repos.set(name, view);
    if (!opts.onDemand) names.push(name);
    tags += view.sortedTags.length;
  }
  return {
    markerEtag,
    storeId,
    catalog,
    catalogEtag,
    catalogSeen,
    listed,
    pending,
    names,
    repos,
    tags,
    problems,
    reads,
  };
}

/** One repository: its view (the new one, the last good one, or none) and its problem. */
export async function readRepo(
  store: ReadStore,
  name: string,
  prev: Snapshot | undefined,
  before: Problems,
  now: string,
): Promise<{ view?: RepoView; problem?: TrackedProblem }> {
  const key = repoIndexKey(name);
  const old = prev?.repos.get(name);
  const had = before.get(key);
  // Ask against what was last read: the rejected bytes if the index was rejected, so an
  // unchanged bad document is neither parsed nor reported again.
  const rejectedEtag = had?.kind === "rejected" ? had.etag : undefined;
  const res = await readKey(store, key, rejectedEtag ?? old?.etag);
  const serving = old ? "last-good" as const : "nothing" as const;
  if (res.status === "not-modified") {
    if (rejectedEtag !== undefined) return { view: old, problem: had };
    if (old) return { view: old };
  }
  if (res.status !== "ok") {
    // Listed without a tag index: a copy in progress or a CDN miss (publish writes the
    // index before the catalog), so retried on every refresh, never read as a deletion.
    const reason = `the catalog lists "${name}" but its tag index answered "not found"`;
    return {
      view: old,
      problem: problem(had, { key, repository: name, kind: "missing", reason, serving }, now),
    };
  }
  try {
    const index = decodeDocument(key, res.bytes, (v) => validateRepoIndex(v, name));
    const digest = tagIndexDigest(res.bytes);
    return { view: new RepoView(index, res.meta.etag, digest, res.bytes.byteLength) };
  } catch (e) {
    if (!(e instanceof DocumentError)) throw e;
    // Isolation: one repository's bad document never takes the others down.
    const fields = { key, repository: name, kind: "rejected" as const, reason: e.message, serving };
    return { view: old, problem: problem(had, { ...fields, etag: res.meta.etag }, now) };
  }
}

async function readKey(store: ReadStore, key: string, etag?: string): Promise<ReadResult> {
  try {
    return await store.read(key, etag ? { etag } : undefined);
  } catch (e) {
    throw new Error(
      redact(`store ${store.location}: reading "${key}" failed: ${(e as Error).message}`),
      { cause: e },
    );
  }
}
