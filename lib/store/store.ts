/**
 * @module
 * The storage seam. A store holds the static layout (lib/layout/layout.ts) under some
 * root: a directory, an S3 bucket prefix, or an HTTP base URL (read-only).
 * Keys are relative, `/`-separated, and never contain `..` (callers build them with
 * lib/layout helpers from validated names and digests).
 */

export interface ObjectMeta {
  size: number;
  /** Opaque version tag for conditional reads (HTTP ETag, S3 ETag, dir mtime+size). */
  etag?: string;
  contentType?: string;
}

export type ReadResult =
  | { status: "ok"; bytes: Uint8Array; meta: ObjectMeta }
  | { status: "missing" }
  | { status: "not-modified" };

export interface ByteRange {
  /** Inclusive first byte. */
  start: number;
  /** Inclusive last byte. */
  end: number;
}

/** What every store can do. */
export interface ReadStore {
  /** Where the store is, for messages: `/srv/data`, `s3://bucket/prefix`, `https://…`. */
  readonly location: string;
  /**
   * Reads a whole (small) object. With `etag`, answers `not-modified` when unchanged.
   * `missing` when the key does not exist; throws on any other failure.
   */
  read(key: string, opts?: { etag?: string }): Promise<ReadResult>;
  /** Size (and etag) of an object, or null when it does not exist. */
  stat(key: string): Promise<ObjectMeta | null>;
}

/** A store that can stream objects to clients itself (the embedded, no-origin mode). */
export interface StreamStore extends ReadStore {
  /**
   * Streams an object, or a byte range of it. Null when the key does not exist. `size` is
   * the whole object's size. The body may be a lazy file Blob (see runtime `fileBody`):
   * hand it to a Response as is, or read it with {@link bodyStream}.
   */
  open(
    key: string,
    range?: ByteRange,
  ): Promise<{ body: ReadableStream<Uint8Array> | Blob; size: number } | null>;
}

/** The body of {@link StreamStore.open} as a stream. */
export function bodyStream(body: ReadableStream<Uint8Array> | Blob): ReadableStream<Uint8Array> {
  return body instanceof Blob ? body.stream() : body;
}

export interface WriteMeta {
  contentType: string;
  cacheControl: string;
  /** Expected size, when known (lets S3 choose single PUT vs multipart). */
  size?: number;
}

/** A store that publish can write to. */
export interface WriteStore extends ReadStore {
  /**
   * Writes an object atomically: when the promise resolves the whole object is visible
   * under `key`; if `body` errors (for example a digest mismatch detected in the stream)
   * or the process dies, nothing becomes visible under `key`.
   */
  write(key: string, body: Uint8Array | ReadableStream<Uint8Array>, meta: WriteMeta): Promise<void>;
  /**
   * Serialises read-modify-write of shared documents (a repository's tag index, the
   * catalog) between concurrent publishers. Resolves to a release function.
   */
  lock(name: string, opts?: LockOptions): Promise<() => Promise<void>>;
  /**
   * Roughly how long taking a FREE lock takes (ms): 0 for a lock file, the settle delay
   * for an S3 lease. Publish starts acquiring its locks this long before the blob copy is
   * expected to end, so the cost overlaps the copy (lib/publish/lock_ahead.ts).
   */
  readonly lockLeadMs: number;
  /**
   * Removes temp files left by writers that died (killed mid-write), never a live
   * writer's; resolves to how many. Stores whose writes leave nothing behind omit it.
   */
  removeStaleTemp?(): Promise<number>;
  /**
   * Stores on a local file system: writes an object by letting `fill` write its temp file
   * at `path` (a source can then write a body natively, lib/sources/blob_download.ts),
   * committed as {@link write} commits when `fill` resolves, discarded when it rejects.
   */
  writeFile?(key: string, fill: (path: string) => Promise<void>, meta: WriteMeta): Promise<void>;
}

export interface LockOptions {
  /** Gives up waiting (rejects with the signal's reason); a lock obtained meanwhile is freed. */
  signal?: AbortSignal;
}

/** One object of a listing: its key, size and when it was last written (store clock). */
export interface ListedObject {
  key: string;
  size: number;
  /** Last modification, ms since the epoch, by the store's clock (file mtime, S3 LastModified). */
  mtime: number;
}

/** A temp file of a writer (directory store), with what is known of that writer. */
export interface TempObject extends ListedObject {
  /**
   * `gone`: a process of this host that no longer exists; `alive`: one that does (never
   * removed); `unknown`: another host's, or a name without a writer (judged by age).
   */
  writer: "gone" | "alive" | "unknown";
}

/** A multipart upload that was started and never completed nor aborted (S3). */
export interface PendingUpload {
  key: string;
  uploadId: string;
  /** When it was initiated, ms since the epoch (store clock). */
  initiated: number;
}

/**
 * A store garbage collection can sweep (lib/lifecycle/gc.ts): it lists and removes
 * objects. HTTP stores are read-only and are not one.
 */
export interface SweepStore extends WriteStore {
  /** Every object whose key starts with `prefix` (`"blobs/"`), in no particular order. */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** Removes an object; no error when it is already gone. */
  remove(key: string): Promise<void>;
  /** Temp files of writers (directory store: `.tmp/*.part`, lock temp files). */
  temporaries?(): AsyncIterable<TempObject>;
  /** Multipart uploads never completed (S3), under this store's prefix. */
  uploads?(): AsyncIterable<PendingUpload>;
  /** Aborts one of them (its parts are freed); no error when it is already gone. */
  abortUpload?(upload: PendingUpload): Promise<void>;
}

/** An operation this store's server does not implement (HTTP 501, S3 `NotImplemented`). */
export class Unsupported extends Error {
  override name = "Unsupported";
}

export function isSweepStore(s: ReadStore): s is SweepStore {
  return isWriteStore(s) && typeof (s as SweepStore).list === "function" &&
    typeof (s as SweepStore).remove === "function";
}

export function isStreamStore(s: ReadStore): s is StreamStore {
  return typeof (s as StreamStore).open === "function";
}
export function isWriteStore(s: ReadStore): s is WriteStore {
  return typeof (s as WriteStore).write === "function";
}
