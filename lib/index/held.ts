/**
 * @module
 * The tag indexes a server holds when config `index.load` is `"on-demand"`: read at a
 * repository's first request, kept in an LRU bounded by the bytes of the documents read
 * (`index.cacheBytes`), re-read by a refresh only while held (lib/index/snapshot.ts).
 *
 * Why: holding every tag index parsed costs about 0.9 KB per tag when tags share nothing
 * (each its own manifest, config and layer: 10k repositories × 100 CI-built tags took
 * 16.9 s to read and 943 MB at start, docs/BENCHMARKS.md). On demand, a start reads the
 * marker and the catalog only, and memory is bounded by the cache, whatever the store.
 *
 * The trade-off, which is why `"all"` stays the default: a repository not held when the
 * store is unreachable cannot be served. Its requests answer 503 UNAVAILABLE (with
 * `Retry-After`), never 404: a tag index that cannot be read now is not a deletion. One
 * held keeps its last good copy, as with `"all"`. A failed read is remembered for
 * {@link RETRY_MS}, so a broken or unreachable index costs the store one read per
 * repository per interval, not one per request.
 */
import { LRUCache } from "lru-cache";
import { errors, OciError } from "../oci/errors.ts";
import type { Logger } from "../log.ts";
import { redact } from "../oci/redact.ts";
import type { ReadStore } from "../store/store.ts";
import { logChanges, NO_PROBLEMS, type TrackedProblem } from "./problems.ts";
import type { RepoView } from "./repo.ts";
import { readRepo, type Snapshot } from "./snapshot.ts";
import { collectGarbage } from "../runtime/runtime.ts";

/** Which tag indexes a server holds (config `index`). */
export type IndexLoad = { load: "all" } | { load: "on-demand"; cacheBytes: number };

/**
 * What a held view costs in resident memory per byte of its tag-index document, so that
 * `index.cacheBytes` bounds memory, not JSON. Measured on Bun (the compiled binary's
 * runtime) with 2,000 distinct tag indexes of 65 KB, `bun bench/repo_view_memory.ts`:
 * 0.76× in JS heap, 1.48× in RSS once the allocator's overhead is counted (1.2× and
 * 2.1–2.6× before validateRepoIndex adopted the parsed records and shared digest strings,
 * lib/layout/rules.ts); the margin above 1.48 is for documents shaped otherwise.
 */
export const MEMORY_PER_BYTE = 1.75;

/** How long a failed read answers for its repository before it is tried again (ms). */
export const RETRY_MS = 5_000;

/** The held tag indexes of one store, and the reads of those not held. */
export class HeldIndexes {
  #store: ReadStore;
  #log: Logger;
  #views: LRUCache<string, RepoView>;
  #loading = new Map<string, Promise<RepoView>>();
  /** Recent failures by name: answered without a read until they expire. */
  #failed: LRUCache<string, OciError>;
  /** Problems of on-demand reads, by key, for `/readyz` (cleared by a good read). */
  #problems = new Map<string, TrackedProblem>();

  constructor(store: ReadStore, log: Logger, cacheBytes: number) {
    this.#store = store;
    this.#log = log;
    // A view counts what it costs in memory, estimated as MEMORY_PER_BYTE × its document's
    // bytes (at least 1: lru-cache's rule); one larger than the whole cache is served but
    // not kept (maxEntrySize defaults to maxSize).
    this.#views = new LRUCache({
      maxSize: cacheBytes,
      sizeCalculation: (v) => Math.max(1, Math.ceil(v.bytes * MEMORY_PER_BYTE)),
      dispose: (v) => this.#evicted(v),
    });
    this.#failed = new LRUCache({ max: 10_000, ttl: RETRY_MS });
  }

  /**
   * The view of listed repository `name`: held, or read now (one read for concurrent
   * requests). Rejects with UNAVAILABLE when it cannot be read; undefined when not listed.
   */
  view(name: string, state: Snapshot): RepoView | Promise<RepoView> | undefined {
    const held = this.#views.get(name);
    if (held) return held;
    if (!isListed(state.listed, name)) return undefined;
    const failed = this.#failed.get(name);
    if (failed) return Promise.reject(failed);
    let p = this.#loading.get(name);
    if (!p) {
      p = this.#read(name, state).finally(() => this.#loading.delete(name));
      this.#loading.set(name, p);
    }
    return p;
  }

  /** The view held for `name`, without a read (and without counting as a use). */
  peek(name: string): RepoView | undefined {
    return this.#views.peek(name);
  }

  async #read(name: string, state: Snapshot): Promise<RepoView> {
    let outcome: { view?: RepoView; problem?: TrackedProblem };
    try {
      outcome = await readRepo(
        this.#store,
        name,
        undefined,
        this.#problems,
        new Date().toISOString(),
      );
    } catch (e) {
      // Store-level (unreachable, denied): said in the log with the store, not to clients.
      this.#log.warn({ err: e, repository: name }, "reading a tag index on demand failed");
      return this.#fail(name, "the store cannot be reached");
    }
    const key = outcome.problem?.key;
    const before = new Map(this.#problems);
    if (outcome.problem) this.#problems.set(key!, outcome.problem);
    else for (const [k, p] of this.#problems) if (p.repository === name) this.#problems.delete(k);
    logChanges(this.#log, this.#store.location, before, this.#problems);
    if (!outcome.view) return this.#fail(name, redact(outcome.problem!.reason));
    // Held only while still listed: a refresh that dropped it must not see it come back.
    if (isListed(state.listed, name)) this.#views.set(name, outcome.view);
    return outcome.view;
  }

  /**
   * Bun's collector lets the heap grow well over what is live while views churn: reading
   * each of 10k distinct 65 KB tag indexes once (1M tags) peaked at 538 MB RSS with a
   * 128 MiB cache, 368 MB with 64 MiB, 150 MB with 4 MiB. Asking for a collection each
   * time evictions add up to a quarter of the cache took 64 MiB to 326 MB; a synchronous
   * full one (`Bun.gc(true)`) to 256 MB for 128 MiB, but at ~0.25 s of pause each, which
   * doubled the time of the reads, so the hint does not wait. Measure with
   * `deno run -A bench/on_demand_churn.ts --cache-bytes N`.
   */
  #evicted(v: RepoView): void {
    this.#garbage += v.bytes * MEMORY_PER_BYTE;
    if (this.#garbage < this.#views.maxSize / 4) return;
    this.#garbage = 0;
    collectGarbage();
  }
  #garbage = 0;

  #fail(name: string, why: string): never {
    const e = errors.repoUnavailable(name, why);
    this.#failed.set(name, e);
    throw e;
  }

  /** The views held now, for a refresh to re-read (a copy: the LRU changes meanwhile). */
  held(): Map<string, RepoView> {
    return new Map(this.#views.entries());
  }

  /**
   * Takes in what a refresh read: its views replace the held ones of the same name, and
   * names the catalog no longer lists are dropped with their problems. Views read on
   * demand while the refresh ran stay.
   */
  update(next: Snapshot): void {
    for (const [name, view] of next.repos) {
      if (this.#views.peek(name) !== view) this.#views.set(name, view);
    }
    for (const name of [...this.#views.keys()]) {
      if (!isListed(next.listed, name)) this.#views.delete(name);
    }
    for (const [key, p] of this.#problems) {
      if (p.repository !== null && !isListed(next.listed, p.repository)) this.#problems.delete(key);
    }
    this.#failed.clear();
  }

  /** Tags of the views held now. */
  tags(): number {
    let n = 0;
    for (const v of this.#views.values()) n += v.sortedTags.length;
    return n;
  }

  /** Problems of on-demand reads (none while every read succeeds). */
  problems(): ReadonlyMap<string, TrackedProblem> {
    return this.#problems.size ? this.#problems : NO_PROBLEMS;
  }
}

/** Binary search of the sorted catalog names (no second copy of 10k+ names). */
function isListed(sorted: readonly string[], name: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < name) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo] === name;
}
