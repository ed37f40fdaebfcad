/**
 * @module
 * Presigned origins, for private buckets: the redirect carries a short-lived SigV4 query
 * signature (`X-Amz-Signature`, `X-Amz-Expires`) for the blob's S3 key, made with
 * @aws-sdk/s3-request-presigner. Only the key, the method and the expiry are signed: no
 * request header of the client is ever copied into the URL, so client credentials never
 * reach the bucket or a log.
 *
 * A SigV4 signature covers the Host header, so the URL must be signed for the host the
 * client will reach. The origin's `url` is therefore the S3 endpoint as clients see it
 * (e.g. a public `https://s3.eu-west-1.amazonaws.com` when the server itself talks to an
 * internal endpoint); bucket and prefix come from the `s3://bucket/prefix` store; region,
 * path style and credentials from the `s3` config.
 */
import { GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

/** S3 client options from config (`s3` key). */
export interface S3Options {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
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
  /** The endpoint clients reach (the origin's url). */
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
  const credentials = s3.accessKeyId && s3.secretAccessKey
    ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey }
    : undefined;
  const client = new S3Client({
    endpoint: opts.endpoint.replace(/\/+$/, ""),
    region: s3.region ?? "us-east-1",
    forcePathStyle: s3.forcePathStyle ?? true,
    // Without explicit keys the SDK's default chain (AWS_* variables, profiles) applies.
    ...(credentials ? { credentials } : {}),
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
