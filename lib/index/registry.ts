/**
 * @module
 * The Registry: what the server knows. It loads the store's marker, catalog and every
 * repository's tag index (docs/LAYOUT.md) into memory, refreshes them with conditional
 * reads (an unchanged document costs one `not-modified`), and serves manifest bytes
 * through a byte-bounded cache, verified against their digest.
 *
 * ```ts
 * const registry = new Registry(store, { log });
 * await registry.load();            // throws: unreachable store, not a store, bad document
 * registry.startRefresh(30_000);    // never throws; a failed refresh keeps the last index
 * registry.repo("library/alpine")?.tagDigest("3.20");
 * ```
 */
import { LRUCache } from "lru-cache";
import pMap from "p-map";
import type { Logger } from "../log.ts";
import { digestOf, parseDigest } from "../oci/digest.ts";
import { OciError } from "../oci/errors.ts";
import { blobKey, CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../layout/keys.ts";
import { decodeDocument } from "../layout/documents.ts";
import { validateCatalog, validateMarker, validateRepoIndex } from "../layout/rules.ts";
import type { RepoIndex } from "../layout/schema.ts";
import type { ReadResult, ReadStore } from "../store/store.ts";
import { RepoView } from "./repo.ts";

export { RepoView };

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
}

/** What `/readyz` and `/metrics` report about the index. */
export interface RegistryStatus {
  /** True once a load succeeded. */
  ready: boolean;
  loadedAt: string | null;
  /** When the index was last loaded or refreshed successfully. */
  lastRefresh: string | null;
  /** The last failed refresh since the last success, or null. */
  lastError: { message: string; at: string } | null;
  refreshFailures: number;
  repositories: number;
  tags: number;
}

/** One consistent snapshot of the store, swapped in whole. */
interface State {
  markerEtag?: string;
  catalogEtag?: string;
  names: readonly string[];
  repos: Map<string, RepoView>;
  tags: number;
}

export class Registry {
  readonly store: ReadStore;
  #log: Logger;
  #concurrency: number;
  #state: State | undefined;
  #loadedAt: Date | null = null;
  #lastRefresh: Date | null = null;
  #lastError: { message: string; at: string } | null = null;
  #failures = 0;
  #refreshing: Promise<boolean> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #generation = 0;
  #cache: LRUCache<string, Uint8Array>;
  #inflight = new Map<string, Promise<Uint8Array | undefined>>();

  constructor(store: ReadStore, opts: RegistryOptions) {
    this.store = store;
    this.#log = opts.log;
    this.#concurrency = opts.concurrency ?? 16;
    this.#cache = manifestCache(opts.manifestCacheBytes ?? 64 << 20);
  }

  /** Reads the whole index. Throws (naming the store and key) when it cannot. */
  async load(): Promise<void> {
    const started = performance.now();
    try {
      this.#state = await this.#read(undefined);
    } catch (e) {
      // Recorded for /readyz: a server may start with an unreachable store and retry.
      this.#lastError = { message: (e as Error).message, at: new Date().toISOString() };
      throw e;
    }
    this.#loadedAt = this.#lastRefresh = new Date();
    this.#lastError = null;
    this.#log.info({
      store: this.store.location,
      repositories: this.#state.names.length,
      tags: this.#state.tags,
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
      const next = await this.#read(this.#state);
      const first = this.#state === undefined;
      this.#state = next;
      this.#lastRefresh = new Date();
      if (first) this.#loadedAt = this.#lastRefresh;
      this.#lastError = null;
      return true;
    } catch (e) {
      this.#failures++;
      this.#lastError = { message: (e as Error).message, at: new Date().toISOString() };
      this.#log.error({ err: e }, "index refresh failed; keeping the last good index");
      return false;
    }
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

  /** A repository's validated index and precomputed lookups, or undefined. */
  repo(name: string): RepoView | undefined {
    return this.#state?.repos.get(name);
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
      tags: s?.tags ?? 0,
    };
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
    const hit = this.#cache.get(digest);
    if (hit) return Promise.resolve(hit);
    let p = this.#inflight.get(digest);
    if (!p) {
      p = this.#fetchManifest(digest).finally(() => this.#inflight.delete(digest));
      this.#inflight.set(digest, p);
    }
    return p;
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

  async #read(prev: State | undefined): Promise<State> {
    const marker = await this.#readKey(MARKER_KEY, prev?.markerEtag);
    if (marker.status === "missing") {
      throw new Error(
        `${this.store.location} is not a static-registry store (no ${MARKER_KEY})`,
      );
    }
    if (marker.status === "ok") {
      decodeDocument(MARKER_KEY, marker.bytes, validateMarker);
    }
    const markerEtag = marker.status === "ok" ? marker.meta.etag : prev?.markerEtag;

    const catalog = await this.#readKey(CATALOG_KEY, prev?.catalogEtag);
    let names: readonly string[];
    let catalogEtag: string | undefined;
    if (catalog.status === "ok") {
      names = decodeDocument(CATALOG_KEY, catalog.bytes, validateCatalog).repositories;
      catalogEtag = catalog.meta.etag;
    } else if (catalog.status === "not-modified" && prev) {
      names = prev.names;
      catalogEtag = prev.catalogEtag;
    } else {
      // A store that has a marker but no catalog yet has no repositories: publish writes
      // the catalog last (docs/LAYOUT.md, write order).
      names = [];
    }

    // Enough reads in flight to hide store latency, few enough not to flood S3 or a CDN;
    // the first failure rejects (pending names are not started).
    const views = await pMap(names, (name) => this.#readRepo(name, prev), {
      concurrency: this.#concurrency,
    });
    const repos = new Map<string, RepoView>();
    let tags = 0;
    const present: string[] = [];
    names.forEach((name, i) => {
      const view = views[i];
      if (!view) return;
      repos.set(name, view);
      present.push(name);
      tags += view.sortedTags.length;
    });
    return { markerEtag, catalogEtag, names: present, repos, tags };
  }

  async #readRepo(name: string, prev: State | undefined): Promise<RepoView | undefined> {
    const key = repoIndexKey(name);
    const old = prev?.repos.get(name);
    const res = await this.#readKey(key, old?.etag);
    if (res.status === "not-modified" && old) return old;
    if (res.status !== "ok") {
      // The catalog is written after the tag index, so this is a repository being
      // deleted or a damaged store: serve the others and say so.
      this.#log.warn(
        { store: this.store.location, key },
        "catalog lists a repository without a tag index",
      );
      return undefined;
    }
    const index: RepoIndex = decodeDocument(key, res.bytes, (v) => validateRepoIndex(v, name));
    return new RepoView(index, res.meta.etag);
  }

  async #readKey(key: string, etag?: string): Promise<ReadResult> {
    try {
      return await this.store.read(key, etag ? { etag } : undefined);
    } catch (e) {
      throw new Error(
        `store ${this.store.location}: reading "${key}" failed: ${(e as Error).message}`,
        { cause: e },
      );
    }
  }
}
