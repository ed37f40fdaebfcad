/**
 * @module
 * `gc()`: garbage collection of a store, safe while publishers run.
 *
 *   1. take the store lock {@link GC_LOCK} (one gc at a time) and hold it to the end,
 *      then wait {@link GC_SETTLE_MS};
 *   2. read the store's clock: write a probe object and read back its modification time
 *      (so the grace period is measured on the clock that stamped the objects, whatever
 *      this host's clock says);
 *   3. mark (mark.ts): every object any tag index references; any unreadable tag index
 *      aborts before anything is removed;
 *   4. sweep (sweep.ts): unreferenced objects, stale temp files and multipart uploads
 *      at least `graceMs` old; dry, only report them.
 *
 * Why that is safe beside publishers (lib/publish/gc_guard.ts has the whole argument): a
 * publish references objects it wrote itself, which are younger than any allowed grace,
 * and objects it found present, which it re-checks after passing the barrier of lock
 * GC_LOCK, writing its tag index within COMMIT_WINDOW_MS after. Step 1 holds the lock
 * from before the mark to the last removal, and the settle delay (> COMMIT_WINDOW_MS)
 * means that a publish that passed the barrier just before us has written its tag index
 * before we read it. The grace has a floor, {@link MIN_GRACE_MS}: a publish only
 * re-checks what it wrote itself once it has run for half of that. A dry run takes no
 * lock and waits for nothing (it removes nothing), so it never delays a publish.
 *
 * @example
 * ```ts
 * const report = await gc({ store: new DirStore("./data"), graceMs: 24 * 3_600_000 });
 * console.log(report.removed.count, report.removed.bytes);
 * ```
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { PublishProgress } from "../publish/progress.ts";
import { COMMIT_WINDOW_MS, GC_LOCK, MIN_GRACE_MS } from "../publish/gc_guard.ts";
import type { SweepStore } from "../store/store.ts";
import { type Logger, silentLogger } from "../log.ts";
import { UsageError } from "../cli/usage.ts";
import { markReferenced } from "./mark.ts";
import { planSweep, removeAll, type SweepItem } from "./sweep.ts";

export { GC_LOCK, MIN_GRACE_MS };
/** How long gc waits after taking its lock before it reads a tag index (> COMMIT_WINDOW_MS). */
export const GC_SETTLE_MS = 2 * COMMIT_WINDOW_MS;
/** The probe whose modification time is the store's clock (removed again). */
export const CLOCK_KEY = ".gc/clock";
/** The default grace period: a day. */
export const DEFAULT_GRACE_MS = 24 * 3_600_000;

export interface GcOptions {
  store: SweepStore;
  /** Unreferenced objects younger than this stay (ms). */
  graceMs: number;
  /** Report what would go; remove nothing, take no lock. */
  dryRun?: boolean;
  /**
   * Accept a grace below {@link MIN_GRACE_MS} (`--grace-unsafe`): only for a store no
   * publisher writes to while gc runs (a publish's own new objects could be removed
   * before its tag index names them).
   */
  unsafeGrace?: boolean;
  log?: Logger;
  /** Objects removed at once (default 8). */
  /** Told of each removal (the CLI's display: a total line, or plain lines every 5 s). */
  progress?: PublishProgress;
  concurrency?: number;
  /**
   * The wait after taking the lock (default {@link GC_SETTLE_MS}). Only tests with no
   * publisher running lower it: below COMMIT_WINDOW_MS the argument above does not hold.
   */
  settleMs?: number;
}

/** Totals of one kind of item. */
export interface Tally {
  count: number;
  bytes: number;
}

export interface GcReport {
  store: string;
  dryRun: boolean;
  graceMs: number;
  repositories: number;
  /** Objects under `blobs/`, and how many of them are referenced. */
  objects: number;
  referenced: number;
  /** What was removed (dry: what would be), in all and by kind. */
  removed: Tally & { blobs: Tally; temp: Tally; uploads: Tally };
  /** Unreferenced blobs kept because they are younger than the grace period. */
  young: Tally;
  items: SweepItem[];
  /** What could not be looked at (a store without multipart listing), for people. */
  notes: string[];
  durationMs: number;
}

/** Throws UsageError for a grace the safety argument does not cover (unless unsafe). */
export function checkGrace(graceMs: number, unsafe = false): void {
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new UsageError(`--grace: expected a duration, got ${graceMs}`);
  }
  if (graceMs < MIN_GRACE_MS && !unsafe) {
    throw new UsageError(
      `--grace: at least ${MIN_GRACE_MS / 60_000}m keeps the objects of running publishes ` +
        `(got ${graceMs}ms); add --grace-unsafe if nothing publishes to the store meanwhile`,
    );
  }
}

/** Collects the garbage of `opts.store`; see the module doc. */
export async function gc(opts: GcOptions): Promise<GcReport> {
  checkGrace(opts.graceMs, opts.unsafeGrace);
  const { store } = opts;
  const log = opts.log ?? silentLogger;
  const t0 = performance.now();
  const release = opts.dryRun ? async () => {} : await store.lock(GC_LOCK);
  try {
    if (!opts.dryRun) await sleep(opts.settleMs ?? GC_SETTLE_MS);
    const now = await storeClock(store);
    const marked = await markReferenced(store, log, opts.concurrency);
    const plan = await planSweep(store, marked.keys, now, opts.graceMs);
    if (!opts.dryRun) await removeAll(store, plan.items, opts.concurrency, opts.progress);
    const report: GcReport = {
      store: store.location,
      dryRun: Boolean(opts.dryRun),
      graceMs: opts.graceMs,
      repositories: marked.repositories.length,
      objects: plan.objects,
      referenced: plan.objects - plan.young.count -
        plan.items.filter((i) => i.kind === "blob").length,
      removed: {
        ...tally(plan.items),
        blobs: tally(plan.items, "blob"),
        temp: tally(plan.items, "temp"),
        uploads: tally(plan.items, "upload"),
      },
      young: plan.young,
      items: plan.items,
      notes: plan.notes,
      durationMs: Math.round(performance.now() - t0),
    };
    log.info({ ...report, items: undefined }, opts.dryRun ? "gc dry run" : "gc done");
    return report;
  } finally {
    await release();
  }
}

/** The store's current time (ms): the modification time of a probe written now. */
async function storeClock(store: SweepStore): Promise<number> {
  await store.write(CLOCK_KEY, new TextEncoder().encode(`${new Date().toISOString()}\n`), {
    contentType: "text/plain",
    cacheControl: "no-store",
  });
  try {
    for await (const o of store.list(CLOCK_KEY)) if (o.key === CLOCK_KEY) return o.mtime;
    throw new Error(`store ${store.location}: the clock probe "${CLOCK_KEY}" is not listed`);
  } finally {
    await store.remove(CLOCK_KEY);
  }
}

function tally(items: readonly SweepItem[], kind?: SweepItem["kind"]): Tally {
  const of = kind ? items.filter((i) => i.kind === kind) : items;
  return { count: of.length, bytes: of.reduce((n, i) => n + i.size, 0) };
}
