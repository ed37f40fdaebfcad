/**
 * @module
 * The mark half of garbage collection: every object key any repository of the store
 * references. A repository is whatever the catalog lists AND whatever tag index exists
 * under `repositories/` (a publish killed between its tag index and the catalog, or one
 * that has written its tag index and not yet the catalog, still protects its objects).
 *
 * Marked is everything a tag index lists, not only what its tags reach: the server serves
 * every manifest of `manifests` by digest (an untagged, digest-pinned import is one,
 * lib/bundle/untagged.ts) and every blob of `blobs`, so removing one would break a pull.
 * The layout walker (lib/layout/walk.ts) runs over each index too: it throws on an index
 * whose tags reach a manifest or blob it does not list, and such an index aborts the gc.
 *
 * Only in a store: without the layout's marker (an OCI image layout also has `blobs/`, and
 * no tag index) nothing is marked and everything would look like garbage, so gc refuses.
 *
 * Never on partial knowledge: a tag index that cannot be read, is missing while the
 * catalog lists it, or breaks the layout's rules throws {@link MarkError} naming the
 * repository and key, and nothing is swept (a missing document is not a deletion).
 */
import { blobKey, CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { readDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import { referencedObjects } from "../layout/walk.ts";
import { nameProblem } from "../oci/reference.ts";
import { eachLimit } from "../publish/copy.ts";
import type { SweepStore } from "../store/store.ts";
import type { Logger } from "../log.ts";
import { catalogNames } from "../layout/catalog.ts";

/** Why a gc stopped before sweeping anything. */
export class MarkError extends Error {
  override name = "MarkError";
}

/** What the mark found. */
export interface Marked {
  /** Repository names, sorted. */
  repositories: string[];
  /** Every referenced object key (`blobs/<alg>/<hex>`). */
  keys: Set<string>;
}

const INDEX_SUFFIX = "/_index.json";

/** Reads every tag index of the store and returns what they reference; see the module doc. */
export async function markReferenced(
  store: SweepStore,
  log: Logger,
  concurrency = 8,
): Promise<Marked> {
  const marker = await guarded(
    `the marker "${MARKER_KEY}"`,
    () => readDocument(store, MARKER_KEY, validateMarker),
  );
  if (marker === null) {
    throw new MarkError(
      `gc aborted, nothing removed: ${store.location} has no "${MARKER_KEY}": not a ` +
        "static-registry store (an OCI image layout is not one)",
    );
  }
  const catalog = await guarded(
    `the catalog "${CATALOG_KEY}"`,
    () => readDocument(store, CATALOG_KEY, validateCatalog),
  );
  const listedByCatalog = new Set(catalog ? catalogNames(catalog) : []);
  const names = new Set(listedByCatalog);
  for await (const o of store.list("repositories/")) {
    if (!o.key.endsWith(INDEX_SUFFIX)) continue;
    const name = o.key.slice("repositories/".length, -INDEX_SUFFIX.length);
    const why = nameProblem(name);
    if (why) {
      log.warn({ key: o.key }, `gc: ignoring "${o.key}": not a repository name (${why})`);
      continue;
    }
    names.add(name);
  }
  const keys = new Set<string>();
  const repositories = [...names].sort();
  await eachLimit(repositories, concurrency, async (name) => {
    const key = repoIndexKey(name);
    const what = `repository "${name}" (tag index "${key}")`;
    const index = await guarded(
      what,
      () => readDocument(store, key, (v) => validateRepoIndex(v, name)),
    );
    if (index === null) {
      throw new MarkError(
        `gc aborted, nothing removed: ${what} is missing` +
          (listedByCatalog.has(name) ? " though the catalog lists it" : " (removed meanwhile)") +
          "; a missing document is not a deletion",
      );
    }
    try {
      for (const o of referencedObjects(index)) keys.add(blobKey(o.digest));
    } catch (e) {
      throw new MarkError(`gc aborted, nothing removed: ${what}: ${(e as Error).message}`, {
        cause: e,
      });
    }
    for (const digest of Object.keys(index.manifests)) keys.add(blobKey(digest));
    for (const digest of Object.keys(index.blobs)) keys.add(blobKey(digest));
  });
  return { repositories, keys };
}

/** Runs a read, turning any failure into a MarkError that names `what`. */
async function guarded<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    throw new MarkError(
      `gc aborted, nothing removed: ${what} cannot be read: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
