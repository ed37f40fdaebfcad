/**
 * @module
 * Recording a tag index's digest in a layout-version-2 catalog without making publishers
 * of different repositories wait for each other's lock (issue 13: "must not wait on each
 * other longer than today"; docs/LAYOUT.md §"Concurrent publishers").
 *
 * Every publisher that changed a tag index must get its digest into `catalog.json`, a
 * read-modify-write under `lock("catalog")`. Taken one after the other, on S3 each
 * acquisition costs the lease's settle delay (lib/store/s3_lock.ts) and the waiters' back-off,
 * so four concurrent publishes of four repositories took 2.5× as long as with layout v1.
 * Instead the holder of the lock records everyone's:
 *
 * 1. the publisher writes a *request* `.catalog/pending/<name>.<uuid>` (a new key: no
 *    lock), after its tag-index write;
 * 2. it then waits for whichever comes first: the catalog lock, or its request gone;
 * 3. whoever holds the lock lists the requests, digests each named tag index *as it is
 *    now*, writes the catalog, removes exactly the requests it listed, and repeats until
 *    none is left, then releases.
 * A request is removed only after a catalog naming a digest read after the request was
 *    written is stored; the request was written after its tag index, so that digest is of
 *    that index or a later one. A publisher whose request is gone can therefore return:
 *    its index is recorded. One whose request outlives the holder (a listing that missed
 *    it: Swift's listings lag) gets the lock itself and records it. A request left by a
 *    publisher that died is recorded by the next holder; recording is idempotent.
 * Waiting is now one holder's pass (list, reads, one PUT), not a lease per publisher.
 */
import { randomUUID } from "node:crypto";
import pMap from "p-map";
import {
  CATALOG_KEY,
  DOCUMENT_TYPE,
  type LayoutVersion,
  MARKER_KEY,
  repoIndexKey,
} from "../layout/keys.ts";
import { readDocument, writeDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker } from "../layout/rules.ts";
import { catalogDigest, emptyCatalog, tagIndexDigest, withRepository } from "../layout/catalog.ts";
import { type Catalog, MARKER } from "../layout/schema.ts";
import type { ReadStore, SweepStore } from "../store/store.ts";

/** The store's catalog, or an empty one of the store's layout version (its marker's). */
export async function readCatalog(store: ReadStore): Promise<Catalog> {
  const catalog = await readDocument(store, CATALOG_KEY, validateCatalog);
  if (catalog) return catalog;
  const marker = await readDocument(store, MARKER_KEY, validateMarker);
  return emptyCatalog((marker ?? MARKER).version as LayoutVersion);
}

/** Where requests to record a tag index live (writer bookkeeping: servers never read it). */
export const PENDING_PREFIX = ".catalog/pending/";

/** How often a waiting publisher looks whether its request was recorded (ms). */
const POLL_MS = 100;

type Release = () => Promise<void>;
export type LockTaker = (signal: AbortSignal) => Promise<Release>;

/** `a/b` → `a~b`: repository names never hold `~`, so the key names its repository. */
const requestKey = (name: string) =>
  `${PENDING_PREFIX}${name.replaceAll("/", "~")}.${randomUUID()}`;
const nameOf = (key: string) =>
  key.slice(PENDING_PREFIX.length, key.lastIndexOf(".")).replaceAll("~", "/");

/**
 * Gets repository `name`'s current tag-index digest into the version-2 catalog, by this
 * publisher or by the holder of the catalog lock. Resolves to whether this call wrote
 * the catalog or had its request recorded (true), or found it already recorded.
 */
export async function recordThroughHolder(
  store: SweepStore,
  name: string,
  takeLock: LockTaker,
): Promise<boolean> {
  const key = requestKey(name);
  await store.write(key, new Uint8Array(), {
    contentType: DOCUMENT_TYPE,
    cacheControl: "no-store",
  });
  const stop = new AbortController();
  const lock = takeLock(stop.signal);
  lock.catch(() => {}); // observed below, or abandoned once the request is recorded
  const recorded = waitGone(store, key, stop.signal);
  const first = await Promise.race([
    lock.then((release) => ({ release })),
    recorded.then(() => ({ release: undefined })),
  ]);
  stop.abort();
  if (!first.release) {
    // Recorded by the holder: withdraw the lock attempt (a lease won meanwhile is released).
    void lock.then((release) => release(), () => {});
    return true;
  }
  try {
    return await recordPending(store);
  } finally {
    await first.release();
  }
}

/** Resolves once `key` is gone; stops (never resolving) when `signal` aborts. */
function waitGone(store: SweepStore, key: string, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const tick = async () => {
      if (signal.aborted) return;
      const meta = await store.stat(key).catch(() => undefined);
      if (signal.aborted) return;
      if (meta === null) resolve();
      else setTimeout(tick, POLL_MS);
    };
    setTimeout(tick, POLL_MS);
  });
}

/**
 * Holding the catalog lock: records every pending request, repeating until none is left.
 * Returns whether the catalog changed.
 */
export async function recordPending(store: SweepStore): Promise<boolean> {
  let changed = false;
  for (let pass = 0; pass < 100; pass++) {
    const keys: string[] = [];
    for await (const o of store.list(PENDING_PREFIX)) keys.push(o.key);
    if (keys.length === 0) break;
    let catalog = await readCatalog(store);
    if (catalog.version !== 2) {
      throw new Error(`store ${store.location}: ${CATALOG_KEY} is not layout version 2`);
    }
    const names = [...new Set(keys.map(nameOf))].sort();
    const digests = await pMap(names, async (name) => {
      const res = await store.read(repoIndexKey(name));
      return res.status === "ok" ? tagIndexDigest(res.bytes) : undefined;
    }, { concurrency: 16 });
    const before = catalog;
    names.forEach((name, i) => {
      const d = digests[i];
      // A request whose index is gone (a repository deleted since) records nothing.
      if (d !== undefined && catalogDigest(catalog, name) !== d) {
        catalog = withRepository(catalog, name, d);
      }
    });
    if (catalog !== before) {
      await writeDocument(store, CATALOG_KEY, catalog, validateCatalog);
      changed = true;
    }
    await Promise.all(keys.map((k) => store.remove(k)));
  }
  return changed;
}
