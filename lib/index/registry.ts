/**
 * @module
 * The Registry: what the server knows. It loads the store's marker, catalog and every
 * repository's tag index (docs/LAYOUT.md) into memory, refreshes them with conditional
 * reads (an unchanged document costs one `not-modified`), and serves manifest bytes
 * through a byte-bounded cache, verified against their digest.
 *
 * What is fatal and what only skips one document is lib/index/snapshot.ts; problems with
 * single documents (lib/index/problems.ts) are in `status().problems` and logged once per
 * change.
 *
 * ```ts
 * const registry = new Registry(store, { log });
 * await registry.load();            // throws: unreachable store, not a store, bad catalog
 * registry.startRefresh(30_000);    // never throws; a failed refresh keeps the last index
 * registry.repo("library/alpine")?.tagDigest("3.20");
 * ```
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "../log.ts";
import { digestOf, parseDigest } from "../oci/digest.ts";
import { OciError } from "../oci/errors.ts";
import { blobKey } from "../layout/keys.ts";
import { redact } from "../oci/redact.ts";
import type { ReadResult, ReadStore } from "../store/store.ts";
import { type IndexProblem, logChanges, NO_PROBLEMS, publicProblems } from "./problems.ts";
import { RepoView } from "./repo.ts";
import { readSnapshot, type Snapshot } from "./snapshot.ts";
import { indexChanges, logIndexChanges } from "./changes.ts";
import { HeldIndexes, type IndexLoad } from "./held.ts";

export { RepoView };
export type { IndexProblem };

/**
 * The manifest cache: an LRU bounded by bytes, not entries (manifests are a few KiB but a
 * registry holds millions). A manifest larger than the whole cache is not kept
 * (lru-cache's maxEntrySize defaults to maxSize); sizes are at least 1 (lru-cache's rule).
 */
export function manifestCache(maxBytes: number): LRUCache<string, Uint8Array> {
  return new LRUCache({ maxSize: maxBytes, sizeCalculation: (b) => Math.max(1, b.byteLength) });
}

export interface RegistryOptions {
  log: Logger;
  /** Bytes of manifests kept in memory (default 64 MiB). */
  manifestCacheBytes?: number;
  /** Tag indexes read at once during load/refresh (default 16). */
  concurrency?: number;
  /** Which tag indexes are held (default all; lib/index/held.ts). */
  index?: IndexLoad;
}

/** What `/readyz` and `/metrics` report about the index. */
export interface RegistryStatus {
  /** True once a load succeeded. */
  ready: boolean;
  loadedAt: string | null;
  /** When the index was last loaded or refreshed successfully. */
  lastRefresh: string | null;
  /** The last failed load or refresh (store-level) since the last success, or null. */
  lastError: { message: string; at: string } | null;
  refreshFailures: number;
  repositories: number;
  tags: number;
  /** Documents skipped or kept at their last good copy by the last load/refresh. */
  problems: IndexProblem[];
  /** The store's id (its marker's), null when it has none or is not loaded. */
  storeId: string | null;
  /** The store's layout version (its catalog's; 0 before a catalog was read). */
  layoutVersion: number;
  /** Store reads and wall time (ms) of the last successful load or refresh. */
  lastReads: number;
  lastRefreshMs: number;
}

export class Registry {
  readonly store: ReadStore;
  #log: Logger;
  #concurrency: number;
  #state: Snapshot | undefined;
  #loadedAt: Date | null = null;
  #lastRefresh: Date | null = null;
  #lastError: { message: string; at: string } | null = null;
  #lastRefreshMs = 0;
  #failures = 0;
  #refreshing: Promise<boolean> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #cache: LRUCache<string, Uint8Array>;
  #inflight = new Map<string, Promise<Uint8Array | undefined>>();
  /** With `index.load: "on-demand"`: the tag indexes held; else every one is in #state. */
  #held: HeldIndexes | undefined;

  constructor(store: ReadStore, opts: RegistryOptions) {
    this.store = store;
    this.#log = opts.log;
    this.#concurrency = opts.concurrency ?? 16;
    this.#cache = manifestCache(opts.manifestCacheBytes ?? 64 << 20);
    const index = opts.index ?? { load: "all" };
    if (index.load === "on-demand") this.#held = new HeldIndexes(store, opts.log, index.cacheBytes);
  }

  /** Reads the whole index. Throws (naming the store and key) when it cannot. */
  async load(): Promise<void> {
    const started = performance.now();
    let read: [Snapshot | undefined, Snapshot];
    try {
      read = await this.#read();
    } catch (e) {
      // Recorded for /readyz: a server may start with an unreachable store and retry.
      this.#lastError = { message: redact((e as Error).message), at: new Date().toISOString() };
      throw e;
    }
    this.#lastRefreshMs = performance.now() - started;
    this.#swap(...read);
    const snap = read[1];
    this.#loadedAt = this.#lastRefresh;
    this.#log.info({
      store: this.store.location,
      ...(snap.storeId === undefined ? {} : { storeId: snap.storeId }),
      repositories: snap.names.length,
      tags: snap.tags,
      ...(snap.catalog ? { layout: snap.catalog.version } : {}),
      ...(this.#held ? { index: "on-demand" } : {}),
      ...(snap.problems.size ? { problems: snap.problems.size } : {}),
      ms: Math.round(performance.now() - started),
    }, "index loaded");
  }

  /**
   * Re-reads the index with conditional reads and swaps it in. Never rejects: a failure
   * keeps the last good index and is recorded in `status().lastError`. Concurrent calls
   * share one refresh. Resolves to whether the refresh succeeded.
   */
  refresh(): Promise<boolean> {
    this.#refreshing ??= this.#refresh().finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  async #refresh(): Promise<boolean> {
    try {
      const first = this.#state === undefined;
      const started = performance.now();
      const read = await this.#read();
      this.#lastRefreshMs = performance.now() - started;
      this.#swap(...read);
      if (first) this.#loadedAt = this.#lastRefresh;
      return true;
    } catch (e) {
      this.#failures++;
      this.#lastError = { message: redact((e as Error).message), at: new Date().toISOString() };
      this.#log.error({ err: e }, "index refresh failed; keeping the last good index");
      return false;
    }
  }

  /** The snapshot read on top of (on demand: with the views held now), and the new one. */
  async #read(): Promise<[Snapshot | undefined, Snapshot]> {
    const s = this.#state;
    const prev = s && this.#held ? { ...s, repos: this.#held.held() } : s;
    const next = await readSnapshot(this.store, prev, {
      concurrency: this.#concurrency,
      now: new Date().toISOString(),
      onDemand: this.#held !== undefined,
    });
    return [prev, next];
  }

  /** Swaps a snapshot in, logging the problems and the store identity that changed. */
  #swap(prev: Snapshot | undefined, next: Snapshot): void {
    const before = this.#state?.problems ?? NO_PROBLEMS;
    const id = this.#state?.storeId;
    if (this.#state && next.storeId !== id) {
      // A first publish after an upgrade writes an id (expected); anything else means the
      // store was replaced or two writers raced (lib/publish/marker.ts): say so loudly.
      const fields = { store: this.store.location, from: id ?? null, to: next.storeId ?? null };
      if (id === undefined) this.#log.info(fields, `store identity is now ${next.storeId}`);
      else this.#log.warn(fields, `store identity changed from ${id} to ${next.storeId ?? "none"}`);
    }
    // The first load says "index loaded"; every later swap says what it picked up.
    if (prev) {
      logIndexChanges(this.#log, this.store.location, indexChanges(prev.repos, next.repos));
    }
    this.#held?.update(next);
    // On demand the LRU is the only holder of views: a snapshot keeping the refresh's
    // views would hold those evicted since, up to a second cache's worth, until the next.
    this.#state = this.#held ? { ...next, repos: new Map() } : next;
    this.#lastRefresh = new Date();
    this.#lastError = null;
    logChanges(this.#log, this.store.location, before, next.problems);
  }

  /** Refreshes every `intervalMs` until stopRefresh(); one refresh at a time. */
  startRefresh(intervalMs: number): void {
    this.stopRefresh();
    // A generation per start: a refresh still running from an earlier start must not
    // re-arm its own timer next to the new one.
    const generation = ++this.#generation;
    const tick = () => {
      this.#timer = setTimeout(() => {
        void this.refresh().then(() => {
          if (generation === this.#generation) tick();
        });
      }, intervalMs);
    };
    tick();
  }

  stopRefresh(): void {
    this.#generation++;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** True once the index has been loaded. */
  get ready(): boolean {
    return this.#state !== undefined;
  }

  /** Repository names, sorted. */
  repositories(): readonly string[] {
    return this.#state?.names ?? [];
  }

  /**
   * A repository's validated index and precomputed lookups as held now, or undefined. On
   * demand (lib/index/held.ts) only those read so far are held: requests use {@link lookup}.
   */
  repo(name: string): RepoView | undefined {
    const s = this.#state;
    if (!s || !this.#held) return s?.repos.get(name);
    return this.#held.peek(name);
  }

  /**
   * What a request is served from: {@link repo}, or on demand the repository's tag index
   * read now (a promise, which rejects with UNAVAILABLE when it cannot be read now).
   */
  lookup(name: string): RepoView | Promise<RepoView> | undefined {
    const s = this.#state;
    if (!s || !this.#held) return s?.repos.get(name);
    return this.#held.view(name, s);
  }

  status(): RegistryStatus {
    const s = this.#state;
    return {
      ready: s !== undefined,
      loadedAt: this.#loadedAt?.toISOString() ?? null,
      lastRefresh: this.#lastRefresh?.toISOString() ?? null,
      lastError: this.#lastError,
      refreshFailures: this.#failures,
      repositories: s?.names.length ?? 0,
      tags: this.#held?.tags() ?? s?.tags ?? 0,
      problems: publicProblems(this.#problems(s)),
      storeId: s?.storeId ?? null,
      layoutVersion: s?.catalog?.version ?? 0,
      lastReads: s?.reads ?? 0,
      lastRefreshMs: this.#lastRefreshMs,
    };
  }

  /** The snapshot's problems and, on demand, those of the reads of tag indexes not held. */
  #problems(s: Snapshot | undefined) {
    const own = s?.problems ?? NO_PROBLEMS;
    const held = this.#held?.problems() ?? NO_PROBLEMS;
    return held.size ? new Map([...own, ...held]) : own;
  }

  /**
   * The store's id, from its marker at the last load or refresh: what every origin must
   * serve (lib/origins/canary.ts). Undefined before a load and for a store without one.
   */
  get storeId(): string | undefined {
    return this.#state?.storeId;
  }

  /** Seconds since the epoch of the last successful load/refresh (0 before), for metrics. */
  lastRefreshSeconds(): number {
    return this.#lastRefresh ? this.#lastRefresh.getTime() / 1000 : 0;
  }

  /**
   * The bytes of manifest `digest` from the store (`blobs/<alg>/<hex>`), or undefined when
   * the store does not have it. The bytes are checked against the digest before they are
   * cached or returned: a mismatch throws an INTERNAL OciError and nothing is served.
   */
  manifest(digest: string): Promise<Uint8Array | undefined> {
    const hit = this.cachedManifest(digest);
    if (hit) return Promise.resolve(hit);
    let p = this.#inflight.get(digest);
    if (!p) {
      p = this.#fetchManifest(digest).finally(() => this.#inflight.delete(digest));
      this.#inflight.set(digest, p);
    }
    return p;
  }

  /**
   * The bytes of manifest `digest` when the cache holds them (verified when they were
   * read), else undefined: no promise, so a manifest GET of a cached manifest is answered
   * synchronously (lib/server/manifests.ts). {@link manifest} reads the store otherwise.
   */
  cachedManifest(digest: string): Uint8Array | undefined {
    return this.#cache.get(digest);
  }

  async #fetchManifest(digest: string): Promise<Uint8Array | undefined> {
    const { algorithm } = parseDigest(digest);
    const key = blobKey(digest);
    const res = await this.#readKey(key);
    if (res.status !== "ok") return undefined;
    const actual = digestOf(res.bytes, algorithm);
    if (actual !== digest) {
      throw new OciError(
        "INTERNAL",
        `manifest ${digest} in store ${this.store.location} ("${key}") has digest ${actual}`,
        { digest },
      );
    }
    this.#cache.set(digest, res.bytes);
    return res.bytes;
  }

  async #readKey(key: string): Promise<ReadResult> {
    try {
      return await this.store.read(key);
    } catch (e) {
      throw new Error(
        redact(`store ${this.store.location}: reading "${key}" failed: ${(e as Error).message}`),
        { cause: e },
      );
    }
  }
}
