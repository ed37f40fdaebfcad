/**
 * @module
 * The seam between where an image comes from and the publisher that copies it: a
 * {@link Source} resolves to the root descriptor and opens blobs and manifests by digest,
 * so transports plug in without touching the copy (lib/publish). Sources are opened from
 * skopeo's transport syntax by `openSource()` (open.ts); one file per transport.
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import type { Attached } from "./referrers.ts";

/**
 * distribution caps manifests at 4 MiB; sources and the publisher refuse larger ones
 * before reading them whole.
 */
export const MANIFEST_MAX = 4 * 1024 * 1024;

/** A blob or manifest being read from a source. */
export interface SourceBlob {
  body: ReadableStream<Uint8Array>;
  size: number;
}

/** What {@link Source.download} is told. */
export interface BlobDownloadOptions {
  signal?: AbortSignal;
  /** Told how many more bytes reached the file (progress). */
  onBytes?: (n: number) => void;
}

/** Where an image comes from. */
export interface Source {
  /** The source as the user wrote it, for messages: `oci:/tmp/img:v1`. */
  readonly description: string;
  /** The tag the source names, if any (used as the destination tag when none is given). */
  readonly tag?: string;
  /** The root descriptor: an image manifest or an index. */
  resolve(): Promise<Descriptor>;
  /** Streams a blob or manifest. Throws an Error naming the digest when it is missing. */
  open(digest: string): Promise<SourceBlob>;
  /**
   * Sources that can do better than {@link open} (registries, lib/sources/blob_download.ts):
   * writes blob `d` into the existing empty file `path`, natively where the runtime can.
   * The file may hold anything when it resolves: the caller verifies size and digest
   * before committing it. Errors name the blob; `signal` aborts with its reason.
   */
  download?(d: Descriptor, path: string, opts?: BlobDownloadOptions): Promise<void>;
  /**
   * Other manifests the source holds besides the root (for an OCI layout: the rest of
   * index.json). publish copies those whose `subject` is a published manifest (referrers).
   */
  related(): Promise<Descriptor[]>;
  /**
   * Sources that can be asked (registries): the referrers and cosign tags of `digests`
   * (the image's manifests), found by lookups (referrers.ts). Absent for layouts, whose
   * referrers are in `related()` and whose tags are entries of their own.
   */
  attached?(digests: readonly string[]): Promise<Attached>;
  /** Releases what the source holds (temporary directories). */
  close(): Promise<void>;
}
