/**
 * @module
 * Takes the store locks a publish will need while its blobs are still being copied, so a
 * lock's fixed cost overlaps the copy instead of following it. On an S3 store that cost
 * is the lease's settle delay (`s3.lockSettleMs`, lib/store/s3_lock.ts); taken one after
 * the other after the copy, the two locks of a first publish (repository and catalog)
 * once cost 2 s of a 3 s publish of 64 MiB.
 *
 * When: acquisition starts once the copy is expected to end within the store's
 * `lockLeadMs` (remaining bytes at the rate seen so far), so a long upload does not hold
 * the repository lock, and stall other publishers of the same repository, for its whole
 * duration. A directory store's lead is 0: its locks are taken one at a time, when needed.
 *
 * Deadlock: the locks are acquired in parallel but used in a fixed order (repository,
 * then catalog), and the repository lock is released before the catalog lock is awaited.
 * So a publisher may wait for a repository lock while holding the catalog lock, but never
 * the other way round: no cycle. The cost is that two concurrent FIRST publishes of the
 * same repository may keep the catalog lock waiting for the other's index update.
 *
 * Failure: {@link LocksAhead.abandon} aborts acquisitions still waiting and releases the
 * locks already held, so a failed copy leaves no lease for others to wait out.
 */
import type { WriteStore } from "../store/store.ts";
import type { Acquire } from "./indexes.ts";

type Release = () => Promise<void>;

export class LocksAhead {
  readonly #store: WriteStore;
  readonly #names: string[];
  readonly #abort = new AbortController();
  readonly #pending = new Map<string, Promise<Release>>();
  readonly #used = new Set<string>();
  readonly #alsoStart: (() => void)[] = [];
  #begun = false;

  /** `names`: the locks this publish will take, in the order it will use them. */
  constructor(store: WriteStore, names: string[]) {
    this.#store = store;
    this.#names = names;
  }

  get started(): boolean {
    return this.#begun || this.#used.size > 0 ||
      (this.#names.length === 0 && this.#alsoStart.length === 0);
  }

  /**
   * Also runs `fn` when acquisition starts: a lock taken by someone else's code, such as
   * the layout-v2 catalog lock of catalog_fold.ts's CatalogRecorder (which frees it itself).
   */
  alsoStart(fn: () => void): void {
    this.#alsoStart.push(fn);
  }

  /** Starts acquiring every lock (once). */
  start(): void {
    if (this.started) return;
    this.#begun = true;
    for (const fn of this.#alsoStart) fn();
    for (const name of this.#names) {
      const p = this.#store.lock(name, { signal: this.#abort.signal });
      p.catch(() => {}); // observed by take(); an unobserved rejection must not kill us
      this.#pending.set(name, p);
    }
  }

  /**
   * Starts acquiring when the copy is expected to end within the store's lead time. A
   * lead of 0 never starts early: the locks are then taken when they are needed.
   */
  startIfDue(expectedRemainingMs: number): void {
    const lead = this.#store.lockLeadMs;
    if (!this.started && lead > 0 && expectedRemainingMs <= lead) this.start();
  }

  /**
   * The Acquire for one of the names: the lock taken ahead, or, when acquisition has not
   * started (lead time 0), that one lock taken now, so each is held only while it is used.
   */
  take(name: string): Acquire {
    return () => {
      if (!this.#names.includes(name)) {
        throw new Error(`lock "${name}" was not planned for this publish`);
      }
      this.#used.add(name);
      return this.#pending.get(name) ?? this.#store.lock(name);
    };
  }

  /**
   * Frees everything not handed out by take(): stops waiting acquisitions and releases
   * the locks they already got. Safe to call more than once; never throws.
   */
  async abandon(): Promise<void> {
    this.#abort.abort(new Error("publish ended before the lock was needed"));
    await Promise.all(
      [...this.#pending].filter(([name]) => !this.#used.has(name)).map(async ([, p]) => {
        try {
          await (await p)();
        } catch {
          // aborted while waiting, or the lease was lost: nothing left to free
        }
      }),
    );
  }
}
