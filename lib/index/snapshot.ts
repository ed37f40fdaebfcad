/**
 * @module
 * Reading one consistent snapshot of a store's index (docs/LAYOUT.md): the marker, the
 * catalog, and every listed repository's tag index, each with a conditional read against
 * the previous snapshot (an unchanged document costs one `not-modified`).
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
 * Every listed repository is read on every refresh, served or not, so one that was missing
 * (an rsync that copied `catalog.json` before `repositories/`) appears once it is there.
 */
import pMap from "p-map";
import { CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { decodeDocument, DocumentError } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
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
  /** Every repository the catalog lists, sorted, served or not. */
  listed: readonly string[];
  /** The repositories served (listed and with a usable tag index), sorted. */
  names: readonly string[];
  repos: ReadonlyMap<string, RepoView>;
  tags: number;
  problems: Problems;
}

export interface ReadOptions {
  /** Tag indexes read at once. */
  concurrency: number;
  /** The time problems are stamped with (ISO 8601). */
  now: string;
}

/** Reads the store's index on top of `prev`. Throws (naming store and key) when store-level. */
export async function readSnapshot(
  store: ReadStore,
  prev: Snapshot | undefined,
  opts: ReadOptions,
): Promise<Snapshot> {
  const read = (key: string, etag?: string) => readKey(store, key, etag);
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

  const catalog = await read(CATALOG_KEY, prev?.catalogEtag);
  let listed: readonly string[] = prev?.listed ?? [];
  let catalogEtag = prev?.catalogEtag;
  let catalogSeen = prev?.catalogSeen ?? false;
  if (catalog.status === "ok") {
    listed = decodeDocument(CATALOG_KEY, catalog.bytes, validateCatalog, store.location)
      .repositories;
    catalogEtag = catalog.meta.etag;
    catalogSeen = true;
  } else if (catalog.status === "missing" && catalogSeen) {
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
  // (publish writes the catalog last). Not-modified: `listed` is the previous list.

  // Enough reads in flight to hide store latency, few enough not to flood S3 or a CDN;
  // the first store-level failure rejects (pending names are not started).
  const outcomes = await pMap(
    listed,
    (name) => readRepo(store, name, prev, before, opts.now),
    { concurrency: opts.concurrency },
  );
  const repos = new Map<string, RepoView>();
  const names: string[] = [];
  let tags = 0;
  listed.forEach((name, i) => {
    const { view, problem } = outcomes[i];
    if (problem) problems.set(problem.key, problem);
    if (!view) return;
    repos.set(name, view);
    names.push(name);
    tags += view.sortedTags.length;
  });
  return {
    markerEtag,
    storeId,
    catalogEtag,
    catalogSeen,
    listed,
    names,
    repos,
    tags,
    problems,
  };
}

/** One repository: its view (the new one, the last good one, or none) and its problem. */
async function readRepo(
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
    return { view: new RepoView(index, res.meta.etag) };
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
