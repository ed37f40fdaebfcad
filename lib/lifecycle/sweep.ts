/**
 * @module
 * The sweep half of garbage collection: what may go, and removing it. Three kinds:
 *   - `blob`: an object at `blobs/<alg>/<hex>` (a blob or a manifest) no repository
 *     references, last written at least the grace period ago (store clock);
 *   - `temp`: a temp file of a writer (directory store, lib/store/dir.ts): at once when
 *     its writer is a dead process of this host, after the grace period when its writer
 *     is unknown (another host), never a live writer's;
 *   - `upload`: a multipart upload (S3) initiated at least the grace period ago and never
 *     completed: a live publisher's upload is younger (it is aborted otherwise, and that
 *     publish fails cleanly; nothing becomes visible).
 * Keys under `blobs/` that are no content address (another tool's files) are left alone.
 */
import { parseDigest } from "../oci/digest.ts";
import { noProgress, type PublishProgress } from "../publish/progress.ts";
import { blobKey } from "../layout/keys.ts";
import { eachLimit } from "../publish/copy.ts";
import { type PendingUpload, type SweepStore, Unsupported } from "../store/store.ts";

/** One thing gc removes (or, dry, would remove). */
export interface SweepItem {
  kind: "blob" | "temp" | "upload";
  key: string;
  /** Bytes (unknown for an upload: its parts are not listed). */
  size: number;
  /** How long ago it was last written / initiated (ms, store clock). */
  ageMs: number;
  uploadId?: string;
}

/** What the sweep would remove, and the unreferenced blobs it keeps for being young. */
export interface SweepPlan {
  items: SweepItem[];
  young: { count: number; bytes: number };
  /** Objects under `blobs/` seen, referenced or not. */
  objects: number;
  /** What the store could not list (multipart uploads on s3rver). */
  notes: string[];
}

/**
 * Lists the store and decides; removes nothing. `now` is the store's clock (ms), `keep`
 * the marked keys.
 */
export async function planSweep(
  store: SweepStore,
  keep: Set<string>,
  now: number,
  graceMs: number,
): Promise<SweepPlan> {
  const plan: SweepPlan = { items: [], young: { count: 0, bytes: 0 }, objects: 0, notes: [] };
  for await (const o of store.list("blobs/")) {
    if (!isContentAddress(o.key)) continue;
    plan.objects++;
    if (keep.has(o.key)) continue;
    const ageMs = now - o.mtime;
    if (ageMs >= graceMs) plan.items.push({ kind: "blob", key: o.key, size: o.size, ageMs });
    else {
      plan.young.count++;
      plan.young.bytes += o.size;
    }
  }
  for await (const t of store.temporaries?.() ?? []) {
    const ageMs = now - t.mtime;
    if (t.writer === "gone" || (t.writer === "unknown" && ageMs >= graceMs)) {
      plan.items.push({ kind: "temp", key: t.key, size: t.size, ageMs });
    }
  }
  try {
    for await (const u of store.uploads?.() ?? []) {
      const ageMs = now - u.initiated;
      if (ageMs >= graceMs) {
        plan.items.push({ kind: "upload", key: u.key, size: 0, ageMs, uploadId: u.uploadId });
      }
    }
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    plan.notes.push(e.message);
  }
  plan.items.sort((a, b) => a.kind.localeCompare(b.kind) || a.key.localeCompare(b.key));
  return plan;
}

/** Removes every item of the plan (`concurrency` at a time). */
export async function removeAll(
  store: SweepStore,
  items: readonly SweepItem[],
  concurrency = 8,
  progress: PublishProgress = noProgress,
): Promise<void> {
  // The display's "blobs" are the items removed, its bytes what they free.
  progress.start({ blobs: items.length, bytes: items.reduce((n, i) => n + i.size, 0) });
  try {
    await eachLimit(items, concurrency, async (item) => {
      if (item.kind !== "upload") await store.remove(item.key);
      else {
        const upload: PendingUpload = { key: item.key, uploadId: item.uploadId!, initiated: 0 };
        await store.abortUpload?.(upload);
      }
      progress.advance(item.size);
      progress.blobDone(item.key, true);
    });
  } finally {
    progress.stop();
  }
}

/** Whether `key` is exactly `blobs/<alg>/<hex>` of a valid digest. */
function isContentAddress(key: string): boolean {
  const [, alg, hex, ...rest] = key.split("/");
  if (rest.length || !alg || !hex) return false;
  try {
    parseDigest(`${alg}:${hex}`);
    return blobKey(`${alg}:${hex}`) === key;
  } catch {
    return false;
  }
}
