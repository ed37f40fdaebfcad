/**
 * @module
 * Presigned origins, for private buckets: the redirect carries a short-lived SigV4 query
 * signature (`X-Amz-Signature`, `X-Amz-Expires`) for the blob's S3 key, made with
 * @aws-sdk/s3-request-presigner. Only the key, the method and the expiry are signed: no
 * request header of the client is ever copied into the URL, so client credentials never
 * reach the bucket or a log.
 *
 * A SigV4 signature covers the Host header, so the URL must be signed for the host the
 * client will reach: the origin's `url` gives the endpoint as clients see it (e.g. a public
 * `https://s3.eu-west-1.amazonaws.com` while the server itself reads an internal endpoint).
 * Bucket and prefix come from the `s3://bucket/prefix` store; region, path style and
 * credentials from the `s3` config. The origin's path must be `/` (the url is the bare
 * endpoint) or the bucket's base path the signed URLs will have (`/bucket/prefix` in path
 * style, `/prefix` with virtual-hosted buckets), so that the url in the config never lies
 * about where redirects go.
 */
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

/** S3 client options from config (`s3` key). */
export interface S3Options {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  /** Explicit keys; absent → the AWS SDK's default chain (AWS_* variables, profiles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where the layout lives in the bucket. */
export interface BucketLocation {
  bucket: string;
  /** Key prefix without leading or trailing `/`, possibly empty. */
  prefix: string;
}

/** Parses `s3://bucket/prefix` (prefix optional). */
export function parseS3Url(store: string): BucketLocation {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(store);
  if (!m) throw new Error(`store ${JSON.stringify(store)}: expected s3://bucket[/prefix]`);
  return { bucket: m[1], prefix: (m[2] ?? "").replace(/^\/+|\/+$/g, "") };
}

/** Signs URLs for one origin. */
export interface Presigner {
  /** A signed GET URL for a layout key (`blobs/sha256/…`), valid `expires` seconds. */
  get(key: string): Promise<string>;
  /** A signed HEAD URL for a layout key (health checks, verification, `check`). */
  head(key: string): Promise<string>;
}

/**
 * The S3 endpoint for a presigned origin's `url`, or an error message when its path is
 * neither `/` nor the bucket's base path.
 */
export function presignEndpoint(
  url: string,
  location: BucketLocation,
  forcePathStyle: boolean,
): string | { problem: string } {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "");
  const tail = location.prefix ? `/${location.prefix}` : "";
  const expected = forcePathStyle ? `/${location.bucket}${tail}` : tail;
  if (path === "" || path === expected) return u.origin;
  return {
    problem: `a presigned origin's url is the S3 endpoint (${u.origin}) or the bucket's base ` +
      `URL (${u.origin}${expected}), got path ${JSON.stringify(u.pathname)}`,
  };
}

/**
 * Creates a presigner for an origin.
 *
 * @example
 * ```ts
 * const p = createPresigner({ endpoint: "https://s3.example.com", expires: 300,
 *   location: parseS3Url("s3://images/registry"), s3: { region: "us-east-1" } });
 * await p.get("blobs/sha256/abc…"); // https://s3.example.com/images/registry/blobs/…?X-Amz-Signature=…
 * ```
 */
export function createPresigner(opts: {
  /** The S3 endpoint clients reach (see {@link presignEndpoint}). */
  endpoint: string;
  /** Lifetime of each URL, seconds. */
  expires: number;
  location: BucketLocation;
  s3: S3Options;
}): Presigner {
  if (!Number.isFinite(opts.expires) || opts.expires < 1 || opts.expires > 604800) {
    // SigV4 query signatures are valid for at most 7 days.
    throw new Error(
      `presign.expires: must be between 1 s and 7 days, got ${JSON.stringify(opts.expires)} s`,
    );
  }
  const { s3 } = opts;
  const credentials = s3.credentials;
  const client = new S3Client({
    endpoint: opts.endpoint.replace(/\/+$/, ""),
    region: s3.region ?? "us-east-1",
    forcePathStyle: s3.forcePathStyle ?? true,
    // Presigned URLs carry no payload checksum; keep the SDK from adding checksum params.
    requestChecksumCalculation: "WHEN_REQUIRED",
    // A copy: the SDK tags the object it is given, and resolved config is frozen.
    ...(credentials ? { credentials: { ...credentials } } : {}),
  });
  const fullKey = (key: string) => opts.location.prefix ? `${opts.location.prefix}/${key}` : key;
  const params = (key: string) => ({ Bucket: opts.location.bucket, Key: fullKey(key) });
  return {
    get: (key) =>
      getSignedUrl(client, new GetObjectCommand(params(key)), { expiresIn: opts.expires }),
    head: (key) =>
      getSignedUrl(client, new HeadObjectCommand(params(key)), { expiresIn: opts.expires }),
  };
}
