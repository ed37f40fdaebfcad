/**
 * @module
 * The marker `static-registry.json` (docs/LAYOUT.md §"Marker"), written by the first
 * publish or import into a store with the store's identity: a random UUID v4 as `id`,
 * and `created`. The server reads the id at load and the health checker confirms that
 * every origin serves a marker with the same id (lib/origins/canary.ts).
 *
 * One id per store, even with concurrent first publishers: the marker is read-checked-
 * written under the store's lock `marker`, the same mutual exclusion that serialises the
 * tag indexes and the catalog (a lock file for a directory, the lease of
 * lib/store/s3_lock.ts for S3), and re-read under it, so the second publisher finds the
 * first one's id and keeps it. A conditional create (`link(2)` with no replace,
 * `If-None-Match: *`) would not do: a store published before identities already HAS a
 * marker, which the first publish after the upgrade must replace exactly once, and Swift's
 * s3api has no conditional writes at all (501).
 *
 * Limits, documented rather than hidden: the S3 lease is best-effort on a store that is
 * only eventually consistent for overwrites (multi-replica Swift), and a publisher of a
 * version before identities writes a marker without taking the lock. Either can leave the
 * marker with another id than a server read first, or none: the last marker written is
 * the store's identity, servers adopt it on their next refresh (logged), and the health
 * checker compares origins with it from then on. An id, once written, is never changed by
 * this writer.
 */
import { randomUUID } from "node:crypto";
import { MARKER_KEY } from "../layout/keys.ts";
import { readDocument, writeDocument } from "../layout/documents.ts";
import { validateMarker } from "../layout/rules.ts";
import { MARKER, type Marker } from "../layout/schema.ts";
import type { WriteStore } from "../store/store.ts";
import { withLock } from "./indexes.ts";

/** The lock name the marker is written under. */
export const MARKER_LOCK = "marker";

export interface MarkerOptions {
  /** A new store id (tests); default a random UUID v4. */
  newId?: () => string;
  /** The `created` time (tests); default now. */
  now?: () => Date;
  /**
   * The marker as read already ({@link readMarker}): a publish reads it beside its other
   * documents instead of one round trip after them.
   */
  read?: Promise<Marker | null>;
}

/** Reads and checks the store's marker (null when there is none). */
export function readMarker(store: WriteStore): Promise<Marker | null> {
  return readDocument(store, MARKER_KEY, validateMarker);
}

/**
 * The store's id: the marker's, or a new one written with the marker (a new store) or
 * into it (a store published before identities, keeping its other fields). Refuses a
 * store whose marker names another layout or version (a DocumentError), before writing.
 */
export async function ensureMarker(store: WriteStore, opts: MarkerOptions = {}): Promise<string> {
  return await (await checkMarker(store, opts)).id;
}

/**
 * {@link ensureMarker} in two steps, so that a new store's marker write, under the marker
 * lock (on S3 a lease's settle delay), can overlap the blob copy of the first publish
 * instead of preceding it. Resolves once the marker is read and checked: a store whose
 * marker names another layout or version is refused here, before anything is written.
 * `id` then settles when the id is there (at once when the marker has one); it must be
 * awaited before any document is written, and before the caller exits.
 */
export async function checkMarker(
  store: WriteStore,
  opts: MarkerOptions = {},
): Promise<{ id: Promise<string> }> {
  const found = await (opts.read ?? readMarker(store));
  if (found?.id !== undefined) return { id: Promise.resolve(found.id) }; // no lock
  const id = writeId(store, opts);
  id.catch(() => {}); // observed by the caller's await; not an unhandled rejection first
  return { id };
}

function writeId(store: WriteStore, opts: MarkerOptions): Promise<string> {
  return withLock(() => store.lock(MARKER_LOCK), async () => {
    // Re-read under the lock: a concurrent first publisher may have written one since.
    const current = await readDocument(store, MARKER_KEY, validateMarker);
    if (current?.id !== undefined) return current.id;
    const marker: Marker = {
      ...(current ?? MARKER),
      id: (opts.newId ?? randomUUID)(),
      created: (opts.now?.() ?? new Date()).toISOString(),
    };
    await writeDocument(store, MARKER_KEY, marker, validateMarker);
    return marker.id!;
  });
}
