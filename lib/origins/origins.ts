/**
 * @module
 * Origins: the HTTP(S) base URLs that serve the store's files (CDN A, CDN B, the bucket's
 * public endpoint), in order of preference. A blob GET is answered with a 307 to the first
 * healthy origin's URL for the blob, `<base>/blobs/<alg>/<hex>` (docs/LAYOUT.md); the
 * distribution spec allows a registry to redirect blob fetches (distribution-spec
 * §"Pulling blobs": "a 307 Temporary Redirect response ... to the blob location").
 *
 * With verification on (globally or for one origin) the blob is HEADed on the origin before
 * its first redirect there; an origin that lacks it, or serves the wrong size, is skipped
 * for the next healthy one. Request headers are never copied into a redirect.
 */
import { blobKey, MARKER_KEY } from "../layout/layout.ts";
import { OciError } from "../oci/errors.ts";
import type { Logger } from "../log.ts";
import {
  createHealthChecker,
  type FetchFn,
  type HealthChecker,
  type HealthOptions,
  type OriginHealth,
} from "./health.ts";
import { createPresigner, parseS3Url, presignEndpoint, type S3Options } from "./presign.ts";
import { headObject, VerifyCache } from "./verify.ts";

/** One origin from config (`origins[i]`). */
export interface OriginConfig {
  name: string;
  url: string;
  /** Redirect with a presigned S3 URL valid `expires` milliseconds (rounded up to seconds). */
  presign?: { expires: number };
  /** Overrides `verify.enabled` for this origin. */
  verifyBlobs?: boolean;
}

/** Options of {@link createOrigins}: plain values, resolved by lib/config. */
export interface OriginsOptions {
  origins: OriginConfig[];
  /** Health checker timing (ms) and thresholds. */
  health: HealthOptions;
  /** Per-blob verification: default for all origins, LRU size, negative TTL (ms). */
  verify?: { enabled?: boolean; cacheSize?: number; negativeTtl?: number };
  /** S3 client options, for presigned origins. */
  s3?: S3Options;
  /** The store URL; presigned origins need an `s3://bucket/prefix` store. */
  store?: string;
  log: Logger;
  fetch?: FetchFn;
  now?: () => number;
}

/** One resolved origin. */
export interface Origin {
  readonly name: string;
  /** Base URL without a trailing slash. */
  readonly url: string;
  readonly verify: boolean;
  readonly presigned: boolean;
  /** URL a client GETs for a layout key (signed for presigned origins). */
  getUrl(key: string): Promise<string>;
  /** URL to HEAD a layout key (health checks, verification, `check`). */
  headUrl(key: string): Promise<string>;
}

/** What the server and `check` use. */
export interface Origins {
  readonly list: readonly Origin[];
  /** URL for a 307 for the blob, or throws OciError BLOB_UNKNOWN / UNAVAILABLE. */
  locate(digest: string, size: number): string | Promise<string>;
  /** For `/readyz`: ready when at least one origin is healthy. */
  readiness(): { ready: boolean; origins: (OriginHealth & { url: string })[] };
  /** Health, redirects and verify-cache figures, read when `/metrics` is scraped. */
  stats(): {
    origins: { name: string; healthy: boolean; redirects: number }[];
    verifyCache: { hits: number; misses: number };
  };
  /** Starts the health checker; resolves after the first round of probes. */
  start(): Promise<void>;
  stop(): void;
  /** The health checker (tests drive rounds with `checkAll()`). */
  readonly health: HealthChecker;
}

/** Resolves config entries into {@link Origin}s, validating names, URLs and presigning. */
export function resolveOrigins(
  opts: Pick<OriginsOptions, "origins" | "verify" | "s3" | "store">,
): Origin[] {
  const seen = new Set<string>();
  return opts.origins.map((o, i) => {
    const at = `origins[${i}]`;
    if (typeof o.name !== "string" || !/^[A-Za-z0-9._-]+$/.test(o.name)) {
      throw new Error(`${at}.name: must match [A-Za-z0-9._-]+, got ${JSON.stringify(o.name)}`);
    }
    if (seen.has(o.name)) throw new Error(`${at}.name: duplicate origin name "${o.name}"`);
    seen.add(o.name);
    let parsed: URL;
    try {
      parsed = new URL(o.url);
    } catch {
      throw new Error(`${at}.url: not a URL: ${JSON.stringify(o.url)}`);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new Error(`${at}.url: must be http:// or https://, got ${JSON.stringify(o.url)}`);
    }
    if (parsed.search || parsed.hash) {
      throw new Error(`${at}.url: must not have a query or fragment: ${JSON.stringify(o.url)}`);
    }
    const base = o.url.replace(/\/+$/, "");
    const verify = o.verifyBlobs ?? opts.verify?.enabled ?? false;
    if (!o.presign) {
      const plain = (key: string) => Promise.resolve(`${base}/${key}`);
      return { name: o.name, url: base, verify, presigned: false, getUrl: plain, headUrl: plain };
    }
    if (!opts.store?.startsWith("s3://")) {
      throw new Error(
        `${at}.presign: needs an s3://bucket/prefix store, got ${JSON.stringify(opts.store)}`,
      );
    }
    const location = parseS3Url(opts.store);
    const s3 = opts.s3 ?? {};
    // Same default as the store's client: path style with a custom S3 endpoint, virtual-hosted
    // buckets on AWS itself.
    const pathStyle = s3.forcePathStyle ?? s3.endpoint !== undefined;
    const endpoint = presignEndpoint(base, location, pathStyle);
    if (typeof endpoint !== "string") throw new Error(`${at}.url: ${endpoint.problem}`);
    let signer;
    try {
      signer = createPresigner({
        endpoint,
        expires: Math.ceil(o.presign.expires / 1000),
        location,
        s3: { ...s3, forcePathStyle: pathStyle },
      });
    } catch (e) {
      throw new Error(`${at}.${(e as Error).message}`);
    }
    return {
      name: o.name,
      url: base,
      verify,
      presigned: true,
      getUrl: signer.get,
      headUrl: signer.head,
    };
  });
}

/**
 * Creates the origins of a server.
 *
 * @example
 * ```ts
 * const origins = createOrigins({
 *   origins: [{ name: "cdn-a", url: "https://cdn-a.example.com/registry" }],
 *   health: { interval: 10_000, timeout: 2_000, rise: 2, fall: 2 },
 *   verify: { enabled: true, cacheSize: 10_000, negativeTtl: 30_000 },
 *   log,
 * });
 * await origins.start();
 * const location = await origins.locate("sha256:…", 1234);
 * ```
 */
export function createOrigins(opts: OriginsOptions): Origins {
  const list = resolveOrigins(opts);
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const log = opts.log;
  const health = createHealthChecker(
    list.map((o) => ({ name: o.name, canaryUrl: () => o.headUrl(MARKER_KEY) })),
    opts.health,
    { log, fetch: doFetch, now: opts.now },
  );
  const cache = new VerifyCache({
    cacheSize: opts.verify?.cacheSize ?? 10_000,
    negativeTtl: opts.verify?.negativeTtl ?? 30_000,
    now: opts.now,
  });
  const redirects = list.map(() => 0);

  /**
   * The hot path of every blob GET. When the first healthy origin needs neither a HEAD
   * nor a signature, the URL is returned as a plain string (no promise, no allocation
   * beyond the string), so the server can answer the 307 synchronously.
   */
  function locate(digest: string, size: number): string | Promise<string> {
    const key = blobKey(digest); // throws DIGEST_INVALID for a bad digest
    for (let i = 0; i < list.length; i++) {
      if (!health.isHealthy(i)) continue;
      const o = list[i];
      if (o.verify || o.presigned) break;
      redirects[i]++;
      return `${o.url}/${key}`;
    }
    return locateChecked(digest, size, key);
  }

  async function locateChecked(digest: string, size: number, key: string): Promise<string> {
    if (list.length === 0) throw new OciError("UNAVAILABLE", "no origin is configured");
    const healthy = list.map((_, i) => i).filter((i) => health.isHealthy(i));
    if (healthy.length === 0) {
      throw new OciError("UNAVAILABLE", "no healthy origin", {
        origins: health.states().map((s) => ({ name: s.name, state: s.state, error: s.lastError })),
      });
    }
    const skipped: Record<string, string> = {};
    let unanswered = false;
    for (const i of healthy) {
      const o = list[i];
      if (o.verify) {
        const v = await cache.get(
          `${o.name}\n${digest}`,
          async () => headObject(doFetch, await o.headUrl(key), size, opts.health.timeout),
        );
        if (!v.ok) {
          skipped[o.name] = v.kind === "size" ? `wrong size: ${v.reason}` : v.reason;
          if (v.kind === "error") unanswered = true;
          log.debug({ origin: o.name, digest, reason: v.reason }, "origin skipped for blob");
          continue;
        }
      }
      redirects[i]++;
      return await o.getUrl(key);
    }
    // BLOB_UNKNOWN only when every healthy origin answered "not here"; if one could not
    // answer, the blob may well exist: 503 makes the client retry instead of failing.
    if (unanswered) {
      throw new OciError("UNAVAILABLE", "no origin could confirm the blob", {
        digest,
        origins: skipped,
      });
    }
    throw new OciError("BLOB_UNKNOWN", "blob unknown to registry: no origin has it", {
      digest,
      origins: skipped,
    });
  }

  function readiness() {
    const states = health.states().map((s, i) => ({ ...s, url: list[i].url }));
    return { ready: states.some((s) => s.healthy), origins: states };
  }

  /** Figures for `/metrics` (lib/server/metrics.ts turns them into Prometheus metrics). */
  function stats(): ReturnType<Origins["stats"]> {
    const states = health.states();
    return {
      origins: list.map((o, i) => ({
        name: o.name,
        healthy: states[i].healthy,
        redirects: redirects[i],
      })),
      verifyCache: { hits: cache.hits, misses: cache.misses },
    };
  }

  return {
    list,
    locate,
    readiness,
    stats,
    start: () => health.start(),
    stop: () => health.stop(),
    health,
  };
}
