/**
 * @module
 * `publish()`: copies one image from a {@link Source} into a store in the static layout v1,
 * in the order that keeps readers safe (docs/LAYOUT.md §"Write order"):
 *
 *   0. nothing is written before the image's tag-index entries pass the rules the server
 *      reads them with (lib/layout/rules.ts) and the existing documents have been read
 *      and validated the same way;
 *   1. the marker `static-registry.json` with the store's id, if missing or without one
 *      (marker.ts: under lock "marker", so concurrent first publishes agree on one id);
 *   2. every blob (configs, layers), verified while streaming, skipped when present;
 *   3. every manifest at blobs/<alg>/<hex>, children before parents;
 *   4. under lock "repo:<name>": `repositories/<name>/_index.json` gains the manifests
 *      and the tag; first, when it skipped objects as present, the publish passes the gc
 *      barrier (ahead, with its locks, when it can) and re-checks them (gc_guard.ts: safe
 *      beside a running gc);
 *   5. under lock "catalog": `catalog.json` gains the name.
 *
 * Steps 4 and 5 are skipped, lock and all, when a read before the copy shows they would
 * change nothing (an unchanged re-publish), and the locks they need are acquired while the
 * last blobs are still copying (lock_ahead.ts), so an S3 lease's settle delay overlaps it.
 *
 * A tag only becomes visible in step 4, when everything it references is in place, so a
 * publish killed at any point leaves the store consistent (at worst with unreferenced
 * blobs, which a rerun reuses).
 *
 * @example
 * ```ts
 * const source = await openSource("oci:./hello:v1");
 * try {
 *   await publish({ source, store: new DirStore("./data"), name: "demo/hello", tag: "v1" });
 * } finally {
 *   await source.close();
 * }
 * ```
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { UsageError } from "../cli/usage.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import type { WriteStore } from "../store/store.ts";
import type { Logger } from "../log.ts";
import type { Source } from "../sources/source.ts";
import { type CollectOptions, collectStaged } from "./collect.ts";
import { copyBlob, eachLimit, present, writeManifests } from "./copy.ts";
import { BarrierAhead, guardCommit, PresenceLedger, restorer } from "./gc_guard.ts";
import {
  CATALOG_LOCK,
  catalogRecorder,
  indexUpdate,
  planIndexes,
  recordIfMigrated,
  recordInCatalog,
  repoLockName,
  type TagMove,
  updateRepoIndex,
} from "./indexes.ts";
import { LocksAhead } from "./lock_ahead.ts";
import { checkMarker, readMarker } from "./marker.ts";
import { Interrupted } from "./interrupt.ts";
import { noProgress, type PublishProgress } from "./progress.ts";

export interface PublishOptions {
  source: Source;
  store: WriteStore;
  /** Destination repository name (distribution-spec name grammar). */
  name: string;
  /** Destination tag. */
  tag: string;
  log?: Logger;
  progress?: PublishProgress;
  /** Blobs copied at once (default {@link BLOB_CONCURRENCY}). */
  concurrency?: number;
  /**
   * Stops the publish (Ctrl-C: interrupt.ts): copies in flight are cancelled, nothing new
   * starts, and publish rejects with an {@link Interrupted} saying what the store holds.
   * Once the tag index is being written the publish completes: that step takes
   * milliseconds, and stopping between the tag index and the catalog would leave a
   * tagged repository the catalog does not list.
   */
  signal?: AbortSignal;
  /**
   * Copy what is attached to the image too (default true): referrers, and from a
   * `docker://` source its referrers (API, else the tag schema) and cosign's
   * `sha256-<hex>.sig|.att|.sbom` tags, for the root and every platform child
   * (collect.ts). Referrers are stored untagged with their `subject`, so the server's
   * referrers API lists them; cosign tags are set as tags. On by default because a mirror
   * that drops signatures fails every verifying pull policy downstream, and costs are small
   * (a few manifest GETs per image).
   */
  signatures?: boolean;
  /** Refuse to move the tag if it points at another manifest (`--no-clobber`). */
  noClobber?: boolean;
  /** Which children of an index to copy (collect.ts; default all): sync's `platforms`. */
  selectChildren?: CollectOptions["selectChildren"];
}

export interface PublishResult {
  name: string;
  tag: string;
  /** The tagged root manifest. */
  digest: string;
  mediaType: string;
  /** Manifests in the image (root, children, referrers) and how many were written. */
  manifests: number;
  manifestsWritten: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  bytesSkipped: number;
  /** Referrer manifests (with a `subject`) among `manifests`. */
  referrers: number;
  /** Tags published beside `tag` (cosign's `sha256-<hex>.sig`, …), sorted. */
  attachedTags: string[];
  /** Whether the tag index / the catalog had to be rewritten. */
  indexChanged: boolean;
  catalogChanged: boolean;
  /** Set when the tag pointed at another manifest before (indexes.ts TagMove). */
  moved?: TagMove;
}

/** Throws UsageError unless `name` and `tag` are a valid repository name and tag. */
export function checkDestination(name: string, tag: string): void {
  const why = nameProblem(name);
  if (why) throw new UsageError(`repository name "${name}": ${why}`);
  if (!isTag(tag)) {
    throw new UsageError(`tag "${tag}": must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
}

/** Removes temp files of publishers that died (DirStore); never fails the publish. */
async function removeStaleTemp(store: WriteStore, log: Logger): Promise<void> {
  try {
    const removed = await store.removeStaleTemp?.();
    if (removed) log.info({ removed }, "removed temp files of dead publishers");
  } catch (e) {
    log.warn({ err: (e as Error).message }, "could not remove stale temp files");
  }
}

/**
 * The logger when the caller gives none. Not lib/log.ts's `silentLogger`: importing that
 * module evaluates pino, several ms of a `publish docker://` start on Bun (issue 13), and
 * publish (with gc_guard.ts) only calls the level methods.
 */
const quiet: Logger = (() => {
  const drop = () => {};
  const q = {
    level: "silent",
    fatal: drop,
    error: drop,
    warn: drop,
    info: drop,
    debug: drop,
    trace: drop,
    silent: drop,
    isLevelEnabled: () => false,
    child: () => q,
  };
  return q as unknown as Logger;
})();

/**
 * Blobs copied at once by default: skopeo's default too (containers/image
 * `maxParallelDownloads`). Each copy holds its slot until its file is synced, so with 4 a
 * slot waited on fsync as often as on the network (issue 13: 4 → 6 was ~5 % of the wall
 * time of a 100 MB `publish docker://`).
 */
export const BLOB_CONCURRENCY = 6;

/** What copyBlobs() shares between its calls of one publish. */
interface BlobCopies {
  opts: PublishOptions;
  result: PublishResult;
  ledger: PresenceLedger;
  /** The locks to start ahead, once the plan has made them. */
  locks?: LocksAhead;
  total: number;
  done: number;
  t0: number;
}

/** How long the copy should still take, at the rate seen so far (ms). */
function remainingMs({ done, total, t0 }: BlobCopies): number {
  const elapsed = performance.now() - t0;
  return done >= total ? 0 : done > 0 ? (total - done) * elapsed / done : Infinity;
}

/**
 * Step 2: copies the blobs the store lacks, `concurrency` at a time, largest first (the
 * longest job first: the copy does not end on one big layer started last), and starts
 * taking the locks once the rest of the copy should take less than the store's lock lead
 * time. Nothing is committed before `gate` resolves (copyBlob).
 */
async function copyBlobs(
  c: BlobCopies,
  blobs: Descriptor[],
  gate?: Promise<unknown>,
): Promise<void> {
  const { opts, result, ledger } = c;
  const { store, source } = opts;
  const log = opts.log ?? quiet;
  const progress = opts.progress ?? noProgress;
  c.total += blobs.reduce((n, b) => n + b.size, 0);
  const advance = (n: number) => {
    c.done += n;
    progress.advance(n);
    c.locks?.startIfDue(remainingMs(c));
  };
  progress.start({ blobs: blobs.length, bytes: c.total, items: blobs });
  const order = [...blobs].sort((x, y) => y.size - x.size);
  await eachLimit(order, opts.concurrency ?? BLOB_CONCURRENCY, async (d) => {
    opts.signal?.throwIfAborted();
    if (await present(store, d)) {
      ledger.skipped(d);
      result.blobsSkipped++;
      result.bytesSkipped += d.size;
      advance(d.size);
      progress.blobDone(d.digest, false);
      return;
    }
    progress.blobStart?.(d.digest, d.size);
    const onBytes = (n: number) => {
      advance(n);
      progress.blobAdvance?.(d.digest, n);
    };
    await copyBlob(source, store, d, onBytes, opts.signal, gate);
    ledger.wrote(d);
    result.blobsCopied++;
    result.bytesCopied += d.size;
    progress.blobDone(d.digest, true);
    log.debug({ digest: d.digest, size: d.size }, "blob copied");
  });
}

/** Publishes one image; see the module doc for the order. */
export async function publish(opts: PublishOptions): Promise<PublishResult> {
  const { source, store, name, tag } = opts;
  const log = opts.log ?? quiet;
  const signal = opts.signal;
  checkDestination(name, tag);

  const staged = await collectStaged(source, {
    signatures: opts.signatures,
    selectChildren: opts.selectChildren,
  });
  const result: PublishResult = {
    name,
    tag,
    digest: staged.image.root.digest,
    mediaType: staged.image.root.mediaType,
    manifests: 0,
    manifestsWritten: 0,
    blobsCopied: 0,
    blobsSkipped: 0,
    bytesCopied: 0,
    bytesSkipped: 0,
    referrers: 0,
    attachedTags: [],
    indexChanged: false,
    catalogChanged: false,
  };

  // Everything the server would refuse is refused before the first object is committed:
  // the image's tag-index entries (lib/layout rules), then the existing documents, then
  // the marker. These checks, and the registry lookups of what is attached to the image,
  // run while the image's own blobs download into temp files (issue 13: ~20 ms before
  // the first blob); the blobs are committed only once they passed (copyBlob's gate).
  const checks = (async () => {
    const markerRead = readMarker(store); // beside the plan's reads: one round trip less
    markerRead.catch(() => {}); // observed by checkMarker below
    const image = await staged.complete();
    log.debug({ source: source.description, root: image.root.digest }, "resolved source");
    const update = { ...indexUpdate(name, tag, image), noClobber: opts.noClobber };
    const plan = await planIndexes(store, name, update);
    signal?.throwIfAborted();
    await removeStaleTemp(store, log);
    // Checked now; a new store's id is written while the blobs copy (before any document).
    const marker = await checkMarker(store, { read: markerRead });
    return { image, update, plan, marker };
  })();
  checks.catch(() => {}); // awaited below, after the copies it gates settled

  const ledger = new PresenceLedger();
  let progressing = true;
  const stopProgress = () => {
    if (progressing) (opts.progress ?? noProgress).stop();
    progressing = false;
  };
  const copies: BlobCopies = { opts, result, ledger, total: 0, done: 0, t0: performance.now() };
  let imageBlobs = staged.image.blobs.size;
  let tagging = false;
  let locks: LocksAhead | undefined;
  let recorder: ReturnType<typeof catalogRecorder> | undefined;
  let barrier: BarrierAhead | undefined;
  let marker: Awaited<typeof checks>["marker"] | undefined;
  try {
    const early = copyBlobs(copies, [...staged.image.blobs.values()], checks);
    early.catch(() => {}); // awaited below; not unhandled if it fails while checks run
    let checked: Awaited<typeof checks>;
    try {
      checked = await checks;
    } catch (e) {
      await early.catch(() => {}); // each fails at the gate; their temp files are removed
      throw e;
    }
    const { image, update, plan } = checked;
    marker = checked.marker;
    imageBlobs = image.blobs.size;
    result.manifests = image.manifests.length;
    result.referrers = image.manifests.filter((m) => m.info.subject).length;
    result.attachedTags = [...image.tags.keys()].sort();
    const repoLock = repoLockName(name);
    locks = new LocksAhead(store, [
      ...(plan.repo ? [repoLock] : []),
      ...(plan.catalogAhead ? [CATALOG_LOCK] : []),
    ]);
    const r = recorder = catalogRecorder(store, name, plan); // v2: its catalog lock, ahead too
    if (r) locks.alsoStart(() => r.start());
    // And the gc barrier, when the commit will need it (gc_guard.ts: a re-tag on S3 paid
    // its lease after the repository lock's).
    const b = barrier = plan.repo ? new BarrierAhead(store, ledger) : undefined;
    if (b) locks.alsoStart(() => b.due());
    copies.locks = locks;
    // The early copies may have gone past the lead time (or ended: every blob present)
    // before the plan made the locks: due now, not at a next byte that may never come.
    locks.startIfDue(remainingMs(copies));
    await early;
    // What the lookups added (signature and attestation layers).
    const rest = [...image.blobs.values()].filter((d) => !staged.image.blobs.has(d.digest));
    if (rest.length) await copyBlobs(copies, rest);
    stopProgress();

    // Children before parents: a parent is never stored before what it references.
    result.manifestsWritten += await writeManifests(store, image.manifests, signal, ledger);
    await marker.id;

    signal?.throwIfAborted();
    tagging = true; // from here on the publish completes (see PublishOptions.signal)
    let relist = false;
    if (plan.repo) {
      // gc runs beside publishers (lib/publish/gc_guard.ts): under the repository lock,
      // what was skipped as present is re-checked before the tag index names it.
      const guard = guardCommit(
        {
          store,
          ledger,
          restore: restorer(source, store, image.manifests),
          log,
          what: `publish ${name}:${tag}`,
        },
        locks.take(repoLock),
        barrier,
      );
      // v2: the catalog request is written as soon as the index is (catalog_fold.ts),
      // beside the repository lock's release rather than after it.
      const w = await updateRepoIndex(store, name, update, guard.acquire, recorder?.request);
      await guard.after();
      result.indexChanged = w.changed;
      if (w.moved) result.moved = w.moved;
      relist = w.created; // a delete may have emptied it and taken it out of the catalog
    }
    if (plan.catalog) {
      result.catalogChanged = await recordInCatalog(store, name, {
        acquire: plan.catalogAhead ? locks.take(CATALOG_LOCK) : undefined,
        version: plan.catalogVersion,
        recorder,
      });
    } else if (relist) {
      result.catalogChanged = await recordInCatalog(store, name, {
        version: plan.catalogVersion,
      });
    } else if (plan.repo && plan.catalogVersion === 1) {
      result.catalogChanged = await recordIfMigrated(store, name);
    }
  } catch (e) {
    if (!tagging && signal?.aborted && signal.reason instanceof Interrupted) {
      throw new Interrupted(
        signal.reason.signal,
        `${signal.reason.message}: ${result.blobsCopied + result.blobsSkipped} of ` +
          `${imageBlobs} blob(s) and ${result.manifestsWritten} of ` +
          `${result.manifests || staged.image.manifests.length} manifest(s) stored; no tag ` +
          `changed (${name}:${tag} is as it was; the blobs stored are reused by the next ` +
          "publish)",
      );
    }
    throw e;
  } finally {
    stopProgress();
    await Promise.all([
      locks?.abandon(),
      recorder?.abandon(),
      barrier?.abandon(),
      marker?.id.catch(() => {}),
    ]);
  }
  if (result.moved) {
    const { from, to } = result.moved;
    log.info({ name, tag, from, to }, `moved tag ${name}:${tag} ${from} → ${to}`);
  }
  log.info({ ...result, source: source.description }, "published");
  return result;
}
