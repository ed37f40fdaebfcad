/**
 * @module
 * Presigned origins, for private buckets: the redirect carries a short-lived SigV4 query
 * signature (`X-Amz-Signature`, `X-Amz-Expires`) for the blob's S3 key, made with
 * @aws-sdk/s3-request-presigner. Only the key, the method and the expiry are signed: no
 * request header of the client is ever copied into the URL, so client credentials never
 * reach the bucket or a log.
 *
 * A SigV4 signature covers the Host header, so the URL is signed for the host the client
 * will reach: {@link PresignOptions.endpoint}, from the origin's `url` (e.g. a public
 * `https://s3.eu-west-1.amazonaws.com` while the server itself reads an internal
 * endpoint). lib/config (config/origins.ts) resolves and checks every option.
 *
 * The AWS SDK is imported on the first presigner's creation, not with this module: it is
 * most of a server's start-up (about 45 ms of CPU, issue 13) and only presigned origins
 * use it. In the compiled binary it is a chunk of its own (scripts/build --splitting).
 */
import type { S3ClientOptions } from "../store/s3.ts";

/** Where the layout lives in the bucket. */
export interface BucketLocation {
  bucket: string;
  /** Key prefix without leading or trailing `/`, possibly empty. */
  prefix: string;
}

/** A presigned origin's signing settings, resolved (lib/config/origins.ts). */
export interface PresignOptions extends BucketLocation {
  /** Lifetime of each URL (ms, 1 ms to 7 days); signed in whole seconds, rounded up. */
  expiresMs: number;
  /** The S3 endpoint clients reach (`https://host[:port]`, no path). */
  endpoint: string;
  /** Region, path style and credentials of the store's client. */
  s3: S3ClientOptions;
}

/** Signs URLs for one origin. */
export interface Presigner {
  /** A signed GET URL for a layout key (`blobs/sha256/…`; the marker, for health checks). */
  get(key: string): Promise<string>;
  /** A signed HEAD URL for a layout key (verification, `check`). */
  head(key: string): Promise<string>;
}

/**
 * Creates a presigner for an origin.
 *
 * @example
 * ```ts
 * const p = createPresigner({ endpoint: "https://s3.example.com", expiresMs: 300_000,
 *   bucket: "images", prefix: "registry", s3: { region: "us-east-1", forcePathStyle: true } });
 * await p.get("blobs/sha256/abc…"); // https://s3.example.com/images/registry/blobs/…?X-Amz-Signature=…
 * ```
 */
export function createPresigner(opts: PresignOptions): Presigner {
  // Loading starts now (the origin exists, so the SDK is needed); the first URL waits for it.
  const signer = loadSigner(opts);
  signer.catch(() => {}); // a failed load is reported by get()/head(), not as unhandled
  return {
    get: async (key) => (await signer).get(key),
    head: async (key) => (await signer).head(key),
  };
}

async function loadSigner(opts: PresignOptions): Promise<Presigner> {
  const [{ GetObjectCommand, HeadObjectCommand, S3Client }, { getSignedUrl }, { clientConfig }] =
    await Promise.all([
      import("@aws-sdk/client-s3"),
      import("@aws-sdk/s3-request-presigner"),
      import("../store/s3.ts"),
    ]);
  const expiresIn = Math.ceil(opts.expiresMs / 1000);
  const client = new S3Client({
    ...clientConfig({ ...opts.s3, endpoint: opts.endpoint }),
    // Presigned URLs carry no payload checksum; keep the SDK from adding checksum params.
    requestChecksumCalculation: "WHEN_REQUIRED",
  });
  const fullKey = (key: string) => opts.prefix ? `${opts.prefix}/${key}` : key;
  const params = (key: string) => ({ Bucket: opts.bucket, Key: fullKey(key) });
  return {
    get: (key) => getSignedUrl(client, new GetObjectCommand(params(key)), { expiresIn }),
    head: (key) => getSignedUrl(client, new HeadObjectCommand(params(key)), { expiresIn }),
  };
}
