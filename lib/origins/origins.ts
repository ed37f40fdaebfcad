/**
 * @module
 * Origins: the HTTP(S) base URLs that serve the store's files (CDN A, CDN B, the bucket's
 * public endpoint), in order of preference. A blob GET is answered with a 307 to the first
 * healthy origin's URL for the blob, `<base>/blobs/<alg>/<hex>` (docs/LAYOUT.md); the
 * distribution spec allows a registry to redirect blob fetches (distribution-spec
 * §"Pulling blobs": "a 307 Temporary Redirect response ... to the blob location").
 *
 * With verification on for an origin (`verifyBlobs`) the blob is HEADed on the origin before
 * its first redirect there; an origin that lacks it, or serves the wrong size, is skipped
 * for the next healthy one. Request headers are never copied into a redirect.
 *
 * Client routing (lib/origins/routing.ts) decides per request which order to try, or that
 * the server streams the blob itself: {@link Origins.egress}, then `locate` with its order.
 */
import { blobKey, MARKER_KEY } from "../layout/layout.ts";
import { OciError } from "../oci/errors.ts";
import { redact, redactUrl } from "../oci/redact.ts";
import type { Logger } from "../log.ts";
import {
  createHealthChecker,
  type FetchFn,
  type HealthChecker,
  type HealthOptions,
  type OriginHealth,
} from "./health.ts";
import { createPresigner, type PresignOptions } from "./presign.ts";
import {
  chooseEgress,
  type Egress,
  type Fallback,
  isTrivial,
  planEgress,
  type RoutingRule,
} from "./routing.ts";
import { headObject, VerifyCache, type VerifyOptions } from "./verify.ts";

/**
 * One origin (`origins[i]`), resolved by lib/config (lib/config/origins.ts): the name is
 * unique, `url` is an http(s) base URL ending in `/` without query or fragment.
 */
export interface OriginOptions {
  name: string;
  url: string;
  /** HEAD each blob on this origin before its first redirect there. */
  verifyBlobs: boolean;
  /** Redirect with a presigned S3 URL. */
  presign?: PresignOptions;
}

/** Options of {@link createOrigins}: resolved by lib/config, not checked again here. */
export interface OriginsOptions {
  origins: readonly OriginOptions[];
  /** Health checker timing and thresholds. */
  health: HealthOptions;
  /** The per-blob verification cache: LRU size, negative TTL. */
  verifyBlobs: VerifyOptions;
  /** Client routing rules (lib/config/routing.ts); absent: the default order for all. */
  routing?: readonly RoutingRule[];
  /** When no origin is healthy: 503 (`"none"`, the default) or stream from the store. */
  fallback?: Fallback;
  log: Logger;
  fetch?: FetchFn;
  now?: () => number;
  /**
   * The served store's id (`Registry.storeId`), which every origin's marker must name
   * (lib/origins/canary.ts); absent or undefined: any valid marker will do.
   */
  storeId?: () => string | undefined;
}

/** One resolved origin. */
export interface Origin {
  readonly name: string;
  /** The base URL as people write it, without the trailing "/" (`/readyz`, logs). */
  readonly url: string;
  readonly verify: boolean;
  readonly presigned: boolean;
  /** URL a client GETs for a layout key (signed for presigned origins). */
  getUrl(key: string): Promise<string>;
  /** URL to HEAD a layout key (verification, `check`). */
  headUrl(key: string): Promise<string>;
}

/** What the server and `check` use. */
export interface Origins {
  readonly list: readonly Origin[];
  /**
   * URL for a 307 for the blob, or throws OciError BLOB_UNKNOWN / UNAVAILABLE. `order`
   * (indices into `list`, from {@link egress}) is the preference; default: config order.
   * The name of the origin redirected to is set on `into.origin` (the access log's).
   */
  locate(
    digest: string,
    size: number,
    order?: readonly number[],
    into?: { origin?: string },
  ): string | Promise<string>;
  /**
   * Where this client's blob bytes come from (lib/origins/routing.ts). `c.client` is read
   * only when a routing rule needs it (it costs a runtime call).
   */
  egress(c: { readonly client: string | undefined }): Egress;
  /** For `/readyz`: ready when at least one origin is healthy. */
  readiness(): { ready: boolean; origins: (OriginHealth & { url: string })[] };
  /** Health, redirects and verify-cache figures, read when `/metrics` is scraped. */
  stats(): {
    origins: { name: string; healthy: boolean; redirects: number; checkSeconds: number | null }[];
    verifyCache: { hits: number; misses: number };
  };
  /** Starts the health checker; resolves after the first round of probes. */
  start(): Promise<void>;
  stop(): void;
  /** The health checker (tests drive rounds with `checkAll()`). */
  readonly health: HealthChecker;
}

/** The {@link Origin} of each resolved entry. */
function originsOf(list: readonly OriginOptions[]): Origin[] {
  return list.map((o) => {
    // Shown without the trailing "/" (`/readyz`): the URL as people write it.
    const shown = o.url.replace(/\/$/, "");
    const base = { name: o.name, url: shown, verify: o.verifyBlobs };
    if (!o.presign) {
      const plain = (key: string) => Promise.resolve(`${o.url}${key}`);
      return { ...base, presigned: false, getUrl: plain, headUrl: plain };
    }
    const signer = createPresigner(o.presign);
    return { ...base, presigned: true, getUrl: signer.get, headUrl: signer.head };
  });
}

/**
 * Creates the origins of a server.
 *
 * @example
 * ```ts
 * const origins = createOrigins({
 *   origins: [{ name: "cdn-a", url: "https://cdn-a.example.com/registry/", verifyBlobs: true }],
 *   health: { intervalMs: 10_000, timeoutMs: 2_000, rise: 2, fall: 2 },
 *   verifyBlobs: { cacheSize: 10_000, negativeTtlMs: 30_000 },
 *   log,
 * });
 * await origins.start();
 * const location = await origins.locate("sha256:…", 1234);
 * ```
 */
export function createOrigins(opts: OriginsOptions): Origins {
  const list = originsOf(opts.origins);
  const doFetch = opts.fetch ?? ((input, init) => fetch(input, init));
  const log = opts.log;
  const health = createHealthChecker(
    // A GET URL: the probe reads the marker (a presigned HEAD URL would not sign a GET).
    list.map((o) => ({ name: o.name, canaryUrl: () => o.getUrl(MARKER_KEY) })),
    opts.health,
    { log, fetch: doFetch, now: opts.now, storeId: opts.storeId },
  );
  const cache = new VerifyCache({ ...opts.verifyBlobs, now: opts.now });
  const redirects = list.map(() => 0);
  const plan = planEgress(
    { rules: opts.routing ?? [], fallback: opts.fallback ?? "none" },
    list.map((o) => o.name),
  );
  const trivial = isTrivial(plan);
  const isHealthy = (i: number) => health.isHealthy(i);

  function egress(c: { readonly client: string | undefined }): Egress {
    if (trivial) return plan.all;
    return chooseEgress(plan.rules.length ? c.client : undefined, plan, isHealthy);
  }

  /**
   * The hot path of every blob GET. When the first healthy origin needs neither a HEAD
   * nor a signature, the URL is returned as a plain string (no promise, no allocation
   * beyond the string), so the server can answer the 307 synchronously.
   */
  function locate(
    digest: string,
    size: number,
    order: readonly number[] = plan.all.redirect,
    into?: { origin?: string },
  ): string | Promise<string> {
    const key = blobKey(digest); // throws DIGEST_INVALID for a bad digest
    for (let k = 0; k < order.length; k++) {
      const i = order[k];
      if (!health.isHealthy(i)) continue;
      const o = list[i];
      if (o.verify || o.presigned) break;
      redirects[i]++;
      if (into) into.origin = o.name;
      return `${opts.origins[i].url}${key}`;
    }
    return locateChecked(digest, size, key, order, into);
  }

  async function locateChecked(
    digest: string,
    size: number,
    key: string,
    order: readonly number[],
    into: { origin?: string } | undefined,
  ): Promise<string> {
    if (list.length === 0) throw new OciError("UNAVAILABLE", "no origin is configured");
    const healthy = order.filter((i) => health.isHealthy(i));
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
          async () => headObject(doFetch, await o.headUrl(key), size, opts.health.timeoutMs),
        );
        if (!v.ok) {
          skipped[o.name] = v.kind === "size" ? `wrong size: ${v.reason}` : v.reason;
          if (v.kind === "error") unanswered = true;
          log.debug({ origin: o.name, digest, reason: v.reason }, "origin skipped for blob");
          continue;
        }
      }
      const url = await o.getUrl(key);
      redirects[i]++;
      if (into) into.origin = o.name;
      return url;
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
    // Redacted (lib/oci/redact.ts): an origin URL may carry user-info, and a probe's error
    // quotes the URL it probed, presigned for S3 origins.
    const states = health.states().map((s, i) => ({
      ...s,
      url: redactUrl(list[i].url),
      ...(s.lastError == null ? {} : { lastError: redact(s.lastError) }),
    }));
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
        checkSeconds: states[i].lastCheckMs === null ? null : states[i].lastCheckMs! / 1000,
      })),
      verifyCache: { hits: cache.hits, misses: cache.misses },
    };
  }

  return {
    list,
    locate,
    egress,
    readiness,
    stats,
    start: () => health.start(),
    stop: () => health.stop(),
    health,
  };
}
