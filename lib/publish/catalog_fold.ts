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
/** The suffix of an intent (see {@link CatalogRecorder}); anything else there is a request. */
const INTENT = ".intent";

/**
 * How often a waiting publisher looks whether its request was recorded, and how often a
 * holder that lingers for announced publishers lists the requests (ms). Short: a waiter's
 * poll is a HEAD of an object that exists for well under a second, and on the critical
 * path of every concurrent publish (issue 13).
 */
const POLL_MS = 25;
/**
 * How long a holder keeps the lock for one announced publisher (an intent) that has not
 * had its request recorded yet (ms, from when this holder first listed the intent). The
 * intent is written when the publisher's copy is expected to end within the store's
 * lock lead time (lock_ahead.ts, S3: 750 ms), so a live one turns into a request well
 * within this; one still there after it (a dead publisher's) is removed.
 */
const LINGER_MS = 3000;

type Release = () => Promise<void>;
export type LockTaker = (signal: AbortSignal) => Promise<Release>;

/** `a/b` → `a~b`: repository names never hold `~`, so the key names its repository. */
const requestKey = (name: string) =>
  `${PENDING_PREFIX}${name.replaceAll("/", "~")}.${randomUUID()}`;
const nameOf = (key: string) =>
  key.slice(PENDING_PREFIX.length, key.lastIndexOf(".")).replaceAll("~", "/");
const EMPTY = {
  contentType: DOCUMENT_TYPE,
  cacheControl: "no-store",
} as const;

/**
 * Gets repository `name`'s current tag-index digest into the version-2 catalog, by this
 * publisher or by the holder of the catalog lock. Resolves to whether this call wrote
 * the catalog or had its request recorded (true), or found it already recorded.
 */
export function recordThroughHolder(
  store: SweepStore,
  name: string,
  takeLock: LockTaker,
): Promise<boolean> {
  return new CatalogRecorder(store, name, takeLock).record();
}

/**
 * One publisher's recording, with the catalog lock taken AHEAD (while its blobs copy, so
 * the S3 lease's settle delay overlaps the copy: lock_ahead.ts) and a holder that serves
 * everyone while it holds the lock.
 *
 * {@link start} writes an *intent* `.catalog/pending/<name>.<uuid>.intent` ("a request is
 * coming") and starts acquiring the lock. Whoever gets the lock serves: it records every
 * request listed (as {@link recordPending}, pass by pass), and keeps the lock while
 * intents of other publishers are listed, for at most {@link LINGER_MS} each, and until
 * its own request is recorded. So concurrent publishers whose copies end at about the same
 * time pay one settle delay between them, overlapped with their copies, instead of a new
 * one for each publisher that comes after the holder released (the timeline in
 * bench/contention_timeline.ts showed exactly that: +0.5 s per late publisher).
 *
 * Intents are an optimisation only: correctness rests on the requests, as before. An
 * intent keeps a holder a while, never keeps a request from being recorded, and losing one
 * (removed as stale, or by a holder of an older version, which records it as a request of
 * a repository that does not exist, i.e. records nothing and removes it) costs at most the
 * settle delay it was meant to save. A publisher removes its intent once its request is
 * recorded, or when it fails ({@link abandon}).
 */
export class CatalogRecorder {
  readonly #store: SweepStore;
  readonly #takeLock: LockTaker;
  readonly #name: string;
  readonly #key: string;
  readonly #stop = new AbortController();
  #lock?: Promise<Release>;
  #intent?: Promise<void>;
  /**
   * Resolved once this publisher's request is known recorded: by our serving loop, or
   * found gone when we won the lock (#servedWhileWaiting).
   */
  #served!: () => void;
  readonly #servedHere = new Promise<void>((r) => this.#served = r);
  /** Set once this publisher's request is recorded (or it failed): serving may end. */
  #done = false;
  #serving?: Promise<boolean>;
  /** The lock was won (then #serving ends by releasing it). */
  #held = false;
  /**
   * Our tag index was written while we held the lock: our own serving loop records it at
   * its next pass, without a request (see {@link request}).
   */
  #own = false;
  /** Cuts the serving loop's poll interval short (our own index is waiting). */
  #wake = () => {};

  constructor(store: SweepStore, name: string, takeLock: LockTaker) {
    this.#store = store;
    this.#takeLock = takeLock;
    this.#name = name;
    this.#key = requestKey(name);
  }

  /** Announces the request to come and starts acquiring the lock (once). */
  start({ intent = true } = {}): void {
    if (this.#lock) return;
    if (intent) {
      this.#intent = this.#store.write(this.#key + INTENT, new Uint8Array(), EMPTY);
      this.#intent.then(() => this.#intentStored = true, () => {}); // best effort
    }
    this.#lock = this.#takeLock(this.#stop.signal);
    this.#serving = this.#lock.then(async (release) => {
      if (await this.#servedWhileWaiting()) {
        await release();
        return false;
      }
      this.#held = true;
      return this.#serve(release);
    });
    this.#serving.catch(() => {}); // observed by record() and #finish()
  }

  /**
   * After this publisher's tag-index write: writes its request and waits until it is
   * recorded, by this publisher's serving loop or another holder's.
   */
  async record(): Promise<boolean> {
    await this.request();
    this.start({ intent: false });
    // No request written (our own loop records us): nothing to see gone.
    const gone = this.#own
      ? new Promise<void>(() => {})
      : waitGone(this.#store, this.#key, this.#stop.signal).then(() => {
        this.#recordedByHolder = true;
      });
    // A failed acquisition, or a failed pass of our serving loop, rejects the race.
    const failed = this.#serving!.then(() => new Promise<void>(() => {}));
    try {
      await Promise.race([gone, this.#servedHere, failed]);
    } finally {
      await this.#finish();
    }
    return true;
  }

  /**
   * Writes this publisher's request (once): call it only AFTER the tag-index write (the
   * argument in the module doc); {@link record} calls it if nobody did. A bound function,
   * to be passed as a callback (indexes.ts updateRepoIndex's `written`).
   *
   * When this publisher already holds the lock (taken ahead: the usual case on S3, and
   * every publish that is alone) no request is written: its serving loop is woken and
   * records the index at its next pass, read after this call. A request would put a
   * write, a listing, a poll interval and a removal between the tag-index write and the
   * publish's end (issue 13's contention row: v2 paid ~0.1 s per publish over v1).
   */
  readonly request = (): Promise<void> => {
    if (!this.#requested && this.#held && !this.#done) {
      this.#own = true;
      this.#wake();
      this.#requested = Promise.resolve();
    }
    if (!this.#requested) {
      this.#intentFirst = this.#intentStored;
      this.#requested = this.#store.write(this.#key, new Uint8Array(), EMPTY);
      this.#requested.catch(() => {}); // awaited by record()
    }
    return this.#requested;
  };
  #requested?: Promise<void>;
  /** Our intent's write had completed when our request's began. */
  #intentFirst = false;
  #intentStored = false;
  /** Another holder recorded our request (it is gone). */
  #recordedByHolder = false;

  /** Frees what {@link start} took: a failed publish. Never throws. */
  async abandon(): Promise<void> {
    await this.#finish().catch(() => {});
  }

  /**
   * Ends this publisher's part: stops its waits, removes its intent, and lets its serving
   * loop (when it holds the lock) end and release; rethrows a failed release.
   */
  #finish(): Promise<void> {
    return this.#finished ??= this.#end();
  }
  #finished?: Promise<void>;
  /** Our own serving loop recorded our request (and removed our intent with it). */
  #servedByUs = false;

  async #end(): Promise<void> {
    this.#done = true;
    this.#stop.abort(new Error("the request was recorded"));
    // A holder that recorded our request removed our intent with it (recordPass), when
    // the intent was stored before the request; ours did, when it served us.
    const removedWithRequest = this.#servedByUs || (this.#recordedByHolder && this.#intentFirst);
    if (!removedWithRequest) await this.#removeIntent();
    try {
      await this.#serving;
    } catch (e) {
      // Not held: the acquisition we just stopped (or one that failed: record() saw it).
      if (this.#held) throw e;
    }
  }

  /** Holding the lock: records requests until this publisher is done and none is expected. */
  async #serve(release: Release): Promise<boolean> {
    const firstSeen = new Map<string, number>();
    let changed = false;
    // Read at once, beside the first listing: every catalog writer holds the lock (publish,
    // delete, migrate), so what is read now stays the stored catalog while we hold it.
    let catalog: Catalog | Promise<Catalog> = readCatalog(this.#store);
    catalog.catch(() => {}); // awaited by the first pass that records; unhandled otherwise
    let intentGone: Promise<void> | undefined;
    /** The last pass's request removals: awaited before listing again and before the release. */
    let removing: Promise<unknown> = Promise.resolve();
    /**
     * The recorded publishers' intents, being removed: awaited only before returning (so
     * none is left for the next holder to linger on), not before the release, and ignored
     * when a later listing still shows one.
     */
    const intentRemovals: Promise<unknown>[] = [];
    const recordedIntents = new Set<string>();
    try {
      // Ends: every publish reaches record() or abandon() (publish.ts), which set #done.
      for (;;) {
        await removing;
        const own = this.#own ? this.#name : undefined;
        const pass = await recordPass(this.#store, catalog, own);
        const { recorded, removed } = pass;
        removing = pass.removing;
        intentRemovals.push(pass.intentsRemoving);
        for (const k of removed) recordedIntents.add(k + INTENT);
        const intents = pass.intents.filter((k) => !recordedIntents.has(k));
        catalog = pass.catalog ?? catalog;
        changed ||= recorded;
        if (own !== undefined) this.#own = false;
        if (own !== undefined || removed.includes(this.#key)) {
          if (own !== undefined) intentGone = this.#removeIntent();
          this.#servedByUs = true;
          this.#served();
        }
        const now = performance.now();
        let waitFor = 0;
        for (const k of intents) {
          if (k === this.#key + INTENT) continue;
          const since = firstSeen.get(k) ?? now;
          firstSeen.set(k, since);
          if (now - since < LINGER_MS) waitFor++;
          else await this.#store.remove(k).catch(() => {}); // a dead publisher's
        }
        // Done, and nobody announced: release without listing again. A request written
        // after this pass's listing is its publisher's to record (it waits for the lock
        // too), so this only decides who records it, never whether it is.
        if ((this.#done || this.#servedByUs) && waitFor === 0) break;
        if (removed.length === 0 && !this.#own) await this.#nap(POLL_MS);
      }
    } finally {
      // The requests recorded are removed BEFORE the release: a waiter that gets the lock
      // next then sees its request gone and releases at once (#servedWhileWaiting) instead
      // of serving. Removed beside the release, the lock was sometimes free while the
      // request was still there (CI, 2026-12-03). A failed removal costs its waiter a pass
      // of its own (the same digest: no catalog write), never a lost record. Intents need
      // not go first (a waiter that wins the lock never looks at them), so their removals
      // overlap the release: on s3rver under load that took a store round trip off the
      // last publisher's exit (bench/contention_timeline.ts).
      await removing.catch(() => {});
      await Promise.all([intentGone, release(), ...intentRemovals.map((p) => p.catch(() => {}))]);
    }
    return changed;
  }

  /**
   * Just acquired the lock after writing our request: did a holder record it meanwhile?
   * A holder removes the requests it recorded BEFORE it releases (#serve), so a request
   * gone now was recorded; our poll (waitGone) may simply not have looked yet. One HEAD
   * instead of a pass (listing, catalog read) under a lock nobody needs. A request still
   * there, or a HEAD that fails, is served as usual.
   */
  async #servedWhileWaiting(): Promise<boolean> {
    // No request yet: we took the lock ahead (our index is recorded by our own loop).
    if (!this.#requested) return false;
    try {
      await this.#requested; // the HEAD must come after the request's write
      if (await this.#store.stat(this.#key) !== null) return false;
    } catch {
      return false;
    }
    this.#recordedByHolder = true;
    this.#served();
    return true;
  }

  /** Our intent, once its write is done (a removal racing the write would leave it). */
  async #removeIntent(): Promise<void> {
    if (!this.#intent) return;
    await this.#intent.catch(() => {});
    await this.#store.remove(this.#key + INTENT).catch(() => {});
  }

  /** Sleeps `ms`, or less when {@link request} wakes the loop. */
  #nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
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
    const { recorded, removed, removing, intentsRemoving } = await recordPass(store);
    await Promise.all([removing, intentsRemoving]);
    changed ||= recorded;
    if (removed.length === 0) break;
  }
  return changed;
}

/**
 * One pass, holding the catalog lock: lists `.catalog/pending/`, digests the tag index of
 * every request's repository as it is NOW (after the listing, so after the request was
 * written, so after its index write), stores the catalog if that changes it, then removes
 * exactly the requests listed, with their publishers' intents; other intents are returned.
 * `known`: the catalog this holder read when it got the lock or wrote in an earlier pass —
 * every catalog writer holds the lock (publish, delete, migrate), so it is still the
 * stored one, and re-reading it would be one GET per pass for nothing.
 * `own`: the holder's own repository, whose index it wrote before this pass (no request):
 * read beside the listing, unless a request for it is listed too, whose index write may
 * have come after that read.
 */
async function recordPass(
  store: SweepStore,
  known?: Catalog | Promise<Catalog>,
  own?: string,
): Promise<
  {
    recorded: boolean;
    removed: string[];
    /** The removals of the requests recorded (not awaited: the caller decides when). */
    removing: Promise<unknown>;
    /** The removals of their publishers' intents (likewise). */
    intentsRemoving: Promise<unknown>;
    intents: string[];
    catalog?: Catalog;
  }
> {
  const keys: string[] = [];
  let intents: string[] = [];
  const listing = (async () => {
    for await (const o of store.list(PENDING_PREFIX)) {
      (o.key.endsWith(INTENT) ? intents : keys).push(o.key);
    }
  })();
  const ownRead = own === undefined ? undefined : indexDigest(store, own);
  ownRead?.catch(() => {}); // awaited below, unless a listed request makes it moot
  await listing;
  if (keys.length === 0 && own === undefined) {
    return {
      recorded: false,
      removed: keys,
      removing: Promise.resolve(),
      intentsRemoving: Promise.resolve(),
      intents,
      catalog: await known,
    };
  }
  let catalog = await (known ?? readCatalog(store));
  if (catalog.version !== 2) {
    throw new Error(`store ${store.location}: ${CATALOG_KEY} is not layout version 2`);
  }
  const listed = new Set(keys.map(nameOf));
  const names = [...listed];
  const digests = new Map<string, string | undefined>(
    await pMap(names, async (name) => [name, await indexDigest(store, name)] as const, {
      concurrency: 16,
    }),
  );
  if (own !== undefined && !listed.has(own)) digests.set(own, await ownRead);
  const before = catalog;
  for (const [name, d] of digests) {
    // A request whose index is gone (a repository deleted since) records nothing.
    if (d !== undefined && catalogDigest(catalog, name) !== d) {
      catalog = withRepository(catalog, name, d);
    }
  }
  if (catalog !== before) await writeDocument(store, CATALOG_KEY, catalog, validateCatalog);
  // A recorded publisher's intent goes with its request, listed or not (a lagging listing
  // may show the request without it; removing a missing key is a no-op): its publisher,
  // which wrote the intent before the request, need not remove it (#end).
  const done = new Set(keys.map((k) => k + INTENT));
  const removing = Promise.all(keys.map((k) => store.remove(k)));
  const intentsRemoving = Promise.all([...done].map((k) => store.remove(k)));
  removing.catch(() => {}); // observed by the caller
  intentsRemoving.catch(() => {});
  intents = intents.filter((k) => !done.has(k));
  return {
    recorded: catalog !== before,
    removed: keys,
    removing,
    intentsRemoving,
    intents,
    catalog,
  };
}

/** The digest of repository `name`'s tag index as stored now, undefined when it has none. */
async function indexDigest(store: SweepStore, name: string): Promise<string | undefined> {
  const res = await store.read(repoIndexKey(name));
  return res.status === "ok" ? tagIndexDigest(res.bytes) : undefined;
}
