/**
 * @module
 * The publisher's half of running beside a garbage collector (lib/lifecycle/gc.ts):
 * {@link guardCommit}. The danger: a publish finds blob B "already present" (an
 * unreferenced leftover, old) and skips it; a gc that read the tag indexes before this
 * publish writes its tag index then deletes B; the tag now names a missing blob. So, with
 * the repository lock held and just before the tag index is written, a publish that
 * skipped anything (or ran so long that what it wrote itself may have aged past the
 * minimum grace) passes the gc barrier: it takes and at once releases the store lock
 * {@link GC_LOCK}, then re-stats every object it skipped (and, when long, wrote) and copies
 * again whatever is gone, and writes the tag index within {@link COMMIT_WINDOW_MS} of
 * releasing the barrier. A gc holds that lock from before it reads any tag index until its
 * last deletion, and waits GC_SETTLE_MS (> COMMIT_WINDOW_MS) after taking it before
 * reading. So for any gc, either
 *   - it released the lock before our barrier took it: all its deletions are done and the
 *     re-stat sees them (the object is copied again), or
 *   - it took the lock after our barrier released it: it reads the tag indexes more than
 *     GC_SETTLE_MS later, after our tag index was written, and keeps what it references.
 * A publish that skipped nothing wrote every object it references itself, after it
 * started: younger than any allowed grace (MIN_GRACE_MS) as long as it ran for less than
 * half of it, so no gc deletes them (the grace is measured on the store's clock). Why a
 * lock and not a "gc running" marker object: the store locks already handle dead holders
 * (a killed gc's lock is taken over) and a lease's renewal; a barrier costs a directory
 * store one link(2), an S3 store one lease (its settle delay), and only when something was
 * skipped. When the window is overrun (a stalled process) the publish repairs after the
 * fact: barrier, re-stat, copy again, and a warning.
 *
 * Passing the barrier AHEAD ({@link BarrierAhead}): on S3 the barrier's lease costs a
 * settle delay (~0.6 s), which a re-tag (every object present) paid after taking its
 * repository lock, on top of that lock's own. Nothing in the argument above needs the
 * repository lock to be held when the barrier is passed: it needs the re-stat AFTER the
 * barrier's release, and the tag index written within COMMIT_WINDOW_MS of it. So a
 * publish may pass the barrier while its locks are being taken ahead (lock_ahead.ts); the
 * commit, holding the repository lock, re-stats after that pass and counts it only when
 * it was released at most {@link AHEAD_FRESH_MS} ago, else passes the barrier again then
 * (a repository lock that took long: another publisher of the same repository). It takes
 * the lock and releases it at once, as the commit's own pass does, so it never holds
 * GC_LOCK while waiting for another lock (a publisher holding `repo:x` waits on GC_LOCK at
 * its commit: holding GC_LOCK while waiting for `repo:x` would deadlock with it).
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import type { WriteStore } from "../store/store.ts";
import type { Source } from "../sources/source.ts";
import type { Logger } from "../log.ts";
import {
  copyBlob,
  eachLimit,
  type ManifestToWrite,
  type PresenceRecorder,
  present,
  writeManifest,
} from "./copy.ts";
import type { Acquire } from "./indexes.ts";
import type { CollectedImage } from "./collect.ts";

/** The store lock a gc holds for its whole run; a publish's commit passes it (see above). */
export const GC_LOCK = "gc";
/** Longest a publish allows between passing the gc barrier and its tag index being written. */
export const COMMIT_WINDOW_MS = 1_000;
/** The shortest grace a gc accepts without `--grace-unsafe` (lib/lifecycle/gc.ts). */
export const MIN_GRACE_MS = 10 * 60_000;
/** Barrier passes before giving up when each one finds objects gone again. */
const MAX_PASSES = 5;
/**
 * How recent a pass ahead must be, when the commit holds its repository lock, to count
 * for it: half the window, the other half for the re-stat and the tag-index write.
 */
export const AHEAD_FRESH_MS = COMMIT_WINDOW_MS / 2;

/**
 * What one publish found already present and what it wrote, and since when it runs: what
 * {@link guardCommit} re-checks.
 */
export class PresenceLedger implements PresenceRecorder {
  readonly #started = performance.now();
  readonly #skipped = new Map<string, Descriptor>();
  readonly #written = new Map<string, Descriptor>();

  /** Called after each object recorded as skipped ({@link BarrierAhead} listens). */
  onSkipped?: () => void;

  skipped(d: Descriptor): void {
    this.#skipped.set(d.digest, d);
    this.onSkipped?.();
  }
  wrote(d: Descriptor): void {
    this.#written.set(d.digest, d);
  }
  /** How many objects were found present (not copied). */
  get skippedCount(): number {
    return this.#skipped.size;
  }

  /**
   * The objects the commit must re-check: every skipped one; and every written one too
   * when the publish has run for half the minimum grace (they may be old enough for a gc
   * by now). Empty: no barrier needed.
   */
  toRecheck(now = performance.now()): Descriptor[] {
    const long = now - this.#started > MIN_GRACE_MS / 2;
    return [...this.#skipped.values(), ...(long ? this.#written.values() : [])];
  }
}

/** What {@link guardCommit} needs besides the store: how to put an object back. */
export interface CommitGuard {
  store: WriteStore;
  ledger: PresenceLedger;
  /** Copies object `d` into the store again (a blob from the source, or a manifest). */
  restore(d: Descriptor): Promise<void>;
  log: Logger;
  /** For messages: `demo/app:v1`. */
  what: string;
}

/**
 * The gc barrier passed while a publish's locks are taken ahead (module doc): {@link due}
 * when the publish starts taking its locks; the pass starts once that happened and the
 * ledger has an object found present (a publish that skipped nothing needs no barrier,
 * and every pass is one more holder of the store-wide GC_LOCK, which on S3 publishers
 * queue for). {@link abandon} stops a pass still waiting (a failed publish).
 */
export class BarrierAhead {
  readonly #store: WriteStore;
  readonly #ledger: PresenceLedger;
  readonly #abort = new AbortController();
  #due = false;
  /** When the pass released GC_LOCK (performance.now()), or undefined when it failed. */
  #pass?: Promise<number | undefined>;

  constructor(store: WriteStore, ledger: PresenceLedger) {
    this.#store = store;
    this.#ledger = ledger;
    ledger.onSkipped = () => this.#maybeStart();
  }

  /** The publish's locks are being taken ahead. */
  due(): void {
    this.#due = true;
    this.#maybeStart();
  }

  #maybeStart(): void {
    if (!this.#due || this.#pass || this.#ledger.skippedCount === 0) return;
    this.#pass = (async () => {
      try {
        const release = await this.#store.lock(GC_LOCK, { signal: this.#abort.signal });
        await release();
        return performance.now();
      } catch {
        return undefined; // the commit passes the barrier itself, and reports its error
      }
    })();
  }

  /**
   * When the pass ahead released GC_LOCK, if that was at most AHEAD_FRESH_MS ago (waiting
   * for a pass still running); undefined: the commit must pass the barrier itself.
   */
  async fresh(): Promise<number | undefined> {
    const at = await this.#pass;
    return at !== undefined && performance.now() - at <= AHEAD_FRESH_MS ? at : undefined;
  }

  /** Stops a pass still waiting for GC_LOCK. Never throws. */
  async abandon(): Promise<void> {
    this.#abort.abort(new Error("publish ended before the gc barrier was needed"));
    await this.#pass;
  }
}

/**
 * Wraps the repository lock's `acquire` so that, once it is held, the commit passes the gc
 * barrier (module doc), or counts the pass of `ahead` when it is fresh. Returns the
 * wrapped Acquire and `after()`, to call once the tag index is written: it repairs when
 * the write ended outside the window.
 */
export function guardCommit(g: CommitGuard, acquire: Acquire, ahead?: BarrierAhead): {
  acquire: Acquire;
  after(): Promise<void>;
} {
  let passedAt: number | undefined;
  return {
    acquire: async () => {
      const release = await acquire();
      try {
        passedAt = await passBarrier(g, await ahead?.fresh());
      } catch (e) {
        await release();
        throw e;
      }
      return release;
    },
    async after() {
      if (passedAt === undefined) return;
      const took = performance.now() - passedAt;
      if (took <= COMMIT_WINDOW_MS) return;
      g.log.warn(
        { took: Math.round(took), windowMs: COMMIT_WINDOW_MS },
        `${g.what}: the tag index was written late after the gc barrier; re-checking`,
      );
      await passBarrier(g);
    },
  };
}

/**
 * Takes and releases {@link GC_LOCK}, re-stats what the ledger says and restores whatever
 * is gone; again until a pass restores nothing (a restore can take long, and the window
 * must hold only stats). `passedAhead`: when a fresh pass ahead released it, which then
 * stands for the first pass. Resolves to when the last barrier was released
 * (performance.now()), or undefined when nothing needed checking.
 */
async function passBarrier(
  g: CommitGuard,
  passedAhead?: number,
): Promise<number | undefined> {
  const objects = g.ledger.toRecheck();
  if (objects.length === 0) return undefined;
  for (let pass = 1; pass <= MAX_PASSES; pass++) {
    const passedAt = pass === 1 && passedAhead !== undefined ? passedAhead : await lockOnce(g);
    const missing = new Set<string>();
    await eachLimit(objects, 8, async (d) => {
      if (!await present(g.store, d)) missing.add(d.digest);
    });
    if (missing.size === 0) return passedAt;
    // In the ledger's order: blobs, then manifests children first, as a first publish.
    const gone = objects.filter((d) => missing.has(d.digest));
    g.log.info(
      { objects: gone.map((d) => d.digest) },
      `${g.what}: ${gone.length} object(s) found present earlier are gone (garbage ` +
        "collected): copying them again",
    );
    for (const d of gone) await g.restore(d);
  }
  throw new Error(
    `${g.what}: objects kept disappearing after ${MAX_PASSES} passes of the gc barrier ` +
      `(is something deleting from ${g.store.location}?)`,
  );
}

/** Takes and at once releases {@link GC_LOCK}; resolves to when it was released. */
async function lockOnce(g: CommitGuard): Promise<number> {
  try {
    const release = await g.store.lock(GC_LOCK);
    await release();
  } catch (e) {
    throw new Error(
      `${g.what}: waiting for a garbage collection of ${g.store.location} (lock ` +
        `"${GC_LOCK}") failed: ${(e as Error).message}`,
      { cause: e },
    );
  }
  return performance.now();
}

/**
 * The barrier for a commit whose objects another step put in the store (import's staging,
 * sync's untagged path): every object of `image` counts as skipped — it may have been
 * found present, or written long enough ago — so each is re-stated under the barrier and
 * restored from `source` if a gc took it. Blobs first, then manifests children first, as
 * a publish writes them.
 */
export function guardStaged(
  g: { store: WriteStore; source: Source; image: CollectedImage; log: Logger; what: string },
  acquire: Acquire,
): ReturnType<typeof guardCommit> {
  const ledger = new PresenceLedger();
  for (const d of g.image.blobs.values()) ledger.skipped(d);
  for (const m of g.image.manifests) ledger.skipped(m.descriptor);
  return guardCommit({
    store: g.store,
    ledger,
    restore: restorer(g.source, g.store, g.image.manifests),
    log: g.log,
    what: g.what,
  }, acquire);
}

/**
 * The restore function of a publish: blobs are copied from `source` (verified), manifests
 * written from their bytes.
 */
export function restorer(
  source: Source,
  store: WriteStore,
  manifests: readonly ManifestToWrite[],
): (d: Descriptor) => Promise<void> {
  const byDigest = new Map(manifests.map((m) => [m.descriptor.digest, m]));
  return async (d) => {
    const m = byDigest.get(d.digest);
    if (m) await writeManifest(store, m);
    else await copyBlob(source, store, d);
  };
}
