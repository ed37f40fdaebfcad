/**
 * @module
 * The S3 store: the static layout under `s3://<bucket>/<prefix>/` of any S3-compatible
 * object store (AWS S3, R2, MinIO, OpenStack Swift's s3api, s3rver).
 *
 * Client settings that matter for S3-compatible servers:
 * - `requestChecksumCalculation`/`responseChecksumValidation: "WHEN_REQUIRED"`: with the SDK
 *   defaults a streamed PutObject is sent with aws-chunked framing plus CRC trailers, which
 *   s3rver stores verbatim (the framing ends up in the object) and Swift refuses.
 * - `forcePathStyle` for endpoints without wildcard DNS (local servers, most S3-compatibles).
 *
 * Atomicity: an S3 object only becomes visible when its PutObject or
 * CompleteMultipartUpload succeeds. Bodies are streamed through lib-storage's `Upload`,
 * which buffers the first part and sends a single PutObject only once the stream has ENDED;
 * a stream that errors first (the publisher's digest check) never sends it. A larger body
 * goes multipart and an error aborts the upload (AbortMultipartUpload), so nothing appears
 * at the key either way.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { redact } from "../oci/redact.ts";
import { contentRangeTotal } from "./content_range.ts";
import { userAgent } from "../version.ts";
import { checkKey } from "./dir.ts";
import { acquireLease, DEFAULT_SETTLE_MS, type LeaseIO, type LeaseOptions } from "./s3_lock.ts";
import {
  type ByteRange,
  type ListedObject,
  type LockOptions,
  type ObjectMeta,
  type PendingUpload,
  type ReadResult,
  type StreamStore,
  type SweepStore,
  Unsupported,
  type WriteMeta,
  type WriteStore,
} from "./store.ts";

/** Multipart part size: 8 MiB (S3's minimum is 5 MiB; 8 MiB matches the AWS CLI). */
export const PART_SIZE = 8 * 1024 * 1024;
/** Attempts at a GET whose body is cut off (see read()). */
const BODY_ATTEMPTS = 3;
/** Parts uploaded in parallel per object. */
export const QUEUE_SIZE = 4;

/**
 * How to reach an S3-compatible API. Every field is resolved by lib/config (the region
 * default, path style with a custom endpoint): the store and the presigner take it as is.
 */
export interface S3ClientOptions {
  /** `http(s)://host:port` of an S3-compatible server; AWS when absent. */
  endpoint?: string;
  region: string;
  /** Path-style URLs (`/bucket/key`) rather than virtual-hosted buckets. */
  forcePathStyle: boolean;
  /** Static credentials; otherwise the SDK's default chain (AWS_ACCESS_KEY_ID, profiles, …). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where the bucket is and how to talk to it. */
export interface S3StoreOptions extends S3ClientOptions {
  bucket: string;
  /** Key prefix inside the bucket (`a/b`: no leading or trailing slash), possibly empty. */
  prefix?: string;
  /** Options of the lease lock (see s3_lock.ts). */
  lock?: LeaseOptions;
  /** A ready client (tests, or callers that share one); overrides endpoint/region/… */
  client?: S3Client;
}

/**
 * A WriteStore on an S3 bucket prefix.
 *
 * @example
 * ```ts
 * const store = new S3Store({
 *   bucket: "reg", prefix: "v1", endpoint: "http://127.0.0.1:9000", region: "us-east-1",
 *   forcePathStyle: true,
 * });
 * await store.write("catalog.json", bytes, { contentType: "application/json", cacheControl });
 * ```
 */
export class S3Store implements WriteStore, StreamStore, SweepStore {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly client: S3Client;
  readonly #lock: LeaseOptions;
  /** The lease's settle delay plus a few round trips (see WriteStore.lockLeadMs). */
  readonly lockLeadMs: number;

  constructor(opts: S3StoreOptions) {
    if (!opts.bucket || opts.bucket.includes("/")) {
      throw new Error(`invalid S3 bucket name ${JSON.stringify(opts.bucket)}`);
    }
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? "";
    if (this.prefix) checkKey(this.prefix);
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ""}`;
    this.client = opts.client ?? new S3Client(clientConfig(opts));
    this.#lock = { location: this.location, ...opts.lock };
    this.lockLeadMs = (opts.lock?.settleMs ?? DEFAULT_SETTLE_MS) + 250;
  }

  /** The object key of a store key. */
  objectKey(key: string): string {
    checkKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async read(key: string, opts: { etag?: string } = {}): Promise<ReadResult> {
    // The SDK retries failed requests, but not a body cut off after the headers (s3rver
    // does that to a GET that races an overwrite of the same key; so can any proxy): such
    // a read is tried again, up to BODY_ATTEMPTS times in all.
    for (let attempt = 1;; attempt++) {
      let res;
      try {
        res = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.objectKey(key),
            IfNoneMatch: opts.etag,
          }),
        );
      } catch (e) {
        const status = httpStatus(e);
        if (status === 304) return { status: "not-modified" };
        if (isMissing(e)) return { status: "missing" };
        throw this.#fail("GET", key, e);
      }
      try {
        const bytes = await res.Body!.transformToByteArray();
        return {
          status: "ok",
          bytes,
          meta: { size: bytes.byteLength, etag: res.ETag, contentType: res.ContentType },
        };
      } catch (e) {
        if (attempt >= BODY_ATTEMPTS) throw this.#fail("GET", key, e, " (reading the body)");
      }
    }
  }

  /**
   * Streams an object (or an inclusive byte range of it) through this process: what the
   * server does for blobs it serves itself (no origins, a stream rule, the fallback).
   * `size` is the whole object's size, from Content-Range for a ranged GET (whose range
   * must be the one asked for). The body is the SDK's stream, not buffered; cancelling
   * it (the client went away) aborts the GetObject, closing its connection.
   */
  async open(
    key: string,
    range?: ByteRange,
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null> {
    const abort = new AbortController();
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
        { abortSignal: abort.signal },
      );
      const total = range ? contentRangeTotal(res.ContentRange, range) : Number(res.ContentLength);
      if (!Number.isSafeInteger(total)) {
        abort.abort();
        throw new Error(
          `no object size or another range in the response (Content-Range ${res.ContentRange})`,
        );
      }
      const sdk = res.Body!.transformToWebStream() as ReadableStream<Uint8Array>;
      return { body: abortOnCancel(sdk, abort), size: total };
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.#fail("GET", key, e);
    }
  }

  async stat(key: string): Promise<ObjectMeta | null> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return { size: res.ContentLength ?? 0, etag: res.ETag, contentType: res.ContentType };
    } catch (e) {
      // HEAD has no error body: a missing bucket is indistinguishable from a missing key.
      if (isMissing(e)) return null;
      throw this.#fail("HEAD", key, e);
    }
  }

  /** Like stat, plus the Cache-Control the object was stored with (for checks and tests). */
  async head(key: string): Promise<(ObjectMeta & { cacheControl?: string }) | null> {
    try {
      const res = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return {
        size: res.ContentLength ?? 0,
        etag: res.ETag,
        contentType: res.ContentType,
        cacheControl: res.CacheControl,
      };
    } catch (e) {
      if (isMissing(e)) return null;
      throw this.#fail("HEAD", key, e);
    }
  }

  async write(
    key: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    meta: WriteMeta,
  ): Promise<void> {
    const params = {
      Bucket: this.bucket,
      Key: this.objectKey(key),
      ContentType: meta.contentType,
      CacheControl: meta.cacheControl,
    };
    const tap = body instanceof Uint8Array ? null : tapErrors(body);
    try {
      if (body instanceof Uint8Array && body.byteLength <= PART_SIZE) {
        await this.client.send(new PutObjectCommand({ ...params, Body: body }));
        return;
      }
      // leavePartsOnError: false (the default) → AbortMultipartUpload on any error.
      const upload = new Upload({
        client: this.client,
        params: { ...params, Body: tap?.stream ?? body },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
      });
      await upload.done();
    } catch (e) {
      // lib-storage throws the AbortMultipartUpload failure instead of the body's error
      // when the abort fails too: report the body's error first, it is the cause.
      const bodyError = tap?.error();
      if (bodyError !== undefined && bodyError !== e) {
        const msg = (e as Error)?.message ?? e;
        throw this.#fail("PUT", key, bodyError, ` (aborting the upload failed too: ${msg})`);
      }
      throw this.#fail("PUT", key, e);
    }
  }

  /** Deletes an object (no error when it does not exist). */
  async delete(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
    } catch (e) {
      if (isMissing(e)) return;
      throw this.#fail("DELETE", key, e);
    }
  }

  /** Removes an object (SweepStore): DeleteObject, no error when it is already gone. */
  remove(key: string): Promise<void> {
    return this.delete(key);
  }

  /** The object key prefix of store keys: `<prefix>/`, or "" for a whole bucket. */
  get #root(): string {
    return this.prefix ? `${this.prefix}/` : "";
  }

  /**
   * Every object whose store key starts with `prefix` (ListObjectsV2, 1000 a page, in
   * key order). Keys outside the store's rules (another tool's objects) are skipped.
   */
  async *list(prefix: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      let res;
      try {
        res = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.#root + prefix,
            ContinuationToken: token,
          }),
        );
      } catch (e) {
        throw this.#fail("LIST", prefix, e);
      }
      for (const o of res.Contents ?? []) {
        if (!o.Key?.startsWith(this.#root)) continue;
        yield {
          key: o.Key.slice(this.#root.length),
          size: o.Size ?? 0,
          mtime: o.LastModified?.getTime() ?? 0,
        };
      }
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * Multipart uploads started under this store's prefix and never completed nor aborted
   * (ListMultipartUploads, paged by key and upload id markers): what a publisher killed
   * mid-upload leaves behind, invisible but billed.
   */
  async *uploads(): AsyncIterable<PendingUpload> {
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      let res;
      try {
        res = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.#root || undefined,
            KeyMarker: keyMarker,
            UploadIdMarker: idMarker,
          }),
        );
      } catch (e) {
        if ((e as Error)?.name === "NotImplemented" || httpStatus(e) === 501) {
          throw new Unsupported(
            `${this.location}: the server does not list multipart uploads (ListMultipartUploads ` +
              "is not implemented): leftover uploads were not looked for",
            { cause: e },
          );
        }
        throw this.#fail("LIST uploads", "", e);
      }
      for (const u of res.Uploads ?? []) {
        if (!u.Key?.startsWith(this.#root) || !u.UploadId) continue;
        yield {
          key: u.Key.slice(this.#root.length),
          uploadId: u.UploadId,
          initiated: u.Initiated?.getTime() ?? 0,
        };
      }
      if (!res.IsTruncated) return;
      keyMarker = res.NextKeyMarker;
      idMarker = res.NextUploadIdMarker;
      if (!keyMarker && !idMarker) return; // a server that truncates without markers
    }
  }

  /** AbortMultipartUpload (no error when the upload is already gone). */
  async abortUpload(upload: PendingUpload): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.objectKey(upload.key),
          UploadId: upload.uploadId,
        }),
      );
    } catch (e) {
      if ((e as Error)?.name === "NoSuchUpload" || isMissing(e)) return;
      throw this.#fail("ABORT upload", upload.key, e);
    }
  }

  /** A lease object `.locks/<name>` (see s3_lock.ts for the algorithm and its limits). */
  lock(name: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
    const key = `.locks/${checkKey(name)}`;
    const io: LeaseIO = {
      get: async (k) => {
        const r = await this.read(k);
        return r.status === "ok" ? r.bytes : null;
      },
      put: (k, bytes) =>
        this.write(k, bytes, { contentType: "application/json", cacheControl: "no-store" }),
      delete: (k) => this.delete(k),
    };
    return acquireLease(io, key, { ...this.#lock, signal: opts.signal });
  }

  /** Closes the client's connections (tests end cleanly without leaked sockets). */
  close(): void {
    this.client.destroy();
  }

  #fail(method: string, key: string, e: unknown, more = ""): Error {
    const status = httpStatus(e);
    const code = (e as Error)?.name ?? "Error";
    // Redacted: an SDK message can quote the endpoint URL (user-info) or a signed request.
    return new Error(
      redact(
        `${this.location}: ${method} ${JSON.stringify(key)} failed: ${code}` +
          `${status ? ` (HTTP ${status})` : ""}: ${(e as Error)?.message ?? e}${more}`,
      ),
      { cause: e },
    );
  }
}

/** The S3Client configuration for the options (exported for the presigner and tests). */
export function clientConfig(opts: S3ClientOptions): S3ClientConfig {
  return {
    endpoint: opts.endpoint,
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    // A copy: the SDK tags the credentials object it is given (`$source`), which throws on
    // the frozen resolved config.
    credentials: opts.credentials && { ...opts.credentials },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // Appended by the SDK to its own product tokens (`aws-sdk-js/3.x … static-registry/0.1.0`),
    // in User-Agent and x-amz-user-agent (lib/version.ts).
    customUserAgent: userAgent(),
  };
}

/** `body` unchanged, except that cancelling it also aborts `abort` (the request). */
function abortOnCancel(
  body: ReadableStream<Uint8Array>,
  abort: AbortController,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await reader.read();
      if (done) c.close();
      else c.enqueue(value);
    },
    async cancel(reason) {
      abort.abort(reason);
      await reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** Passes a stream through unchanged, remembering the error it fails with (if any). */
function tapErrors(body: ReadableStream<Uint8Array>) {
  let failure: unknown = undefined;
  const reader = body.getReader();
  const stream = new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        const { done, value } = await reader.read();
        if (done) c.close();
        else c.enqueue(value);
      } catch (e) {
        failure = e;
        c.error(e);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { stream, error: () => failure };
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isMissing(e: unknown): boolean {
  const name = (e as Error)?.name;
  if (name === "NoSuchBucket") return false; // misconfiguration, not a missing object
  return name === "NoSuchKey" || name === "NotFound" || httpStatus(e) === 404;
}
