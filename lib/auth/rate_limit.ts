/**
 * @module
 * Rate limiting per client address: a token bucket per client (`rateLimit.perClient`
 * tokens a second, `rateLimit.burst` at most), in an lru-cache so memory stays bounded
 * whatever the number of clients. A bucket left alone long enough to be full again is
 * the same as no bucket, so each entry lives only that long (its TTL); the size bound
 * only matters under more distinct clients than it holds, and then the least recent ones
 * start over with a full bucket.
 *
 * Over the limit: 429 TOOMANYREQUESTS (distribution-spec §"Error Codes") with
 * `Retry-After` in whole seconds, at least 1 (RFC 9110 §10.2.3). `/healthz`, `/readyz`
 * and `/metrics` are exempt: a probe or a scraper must never be refused for the load of
 * the clients it watches. The client address is `c.client`, the peer or the client
 * behind a trusted proxy (lib/auth/client_address.ts runs before this).
 */
import { LRUCache } from "lru-cache";
import { OciError } from "../oci/errors.ts";
import type { Middleware, Reply, RequestContext } from "../server/context.ts";
import type { RateLimitOptions } from "./options.ts";

interface Bucket {
  tokens: number;
  at: number;
}

/** The buckets of every client. */
export class TokenBuckets {
  readonly #cache: LRUCache<string, Bucket>;
  readonly #now: () => number;

  constructor(
    readonly opts: RateLimitOptions,
    more: { maxClients?: number; now?: () => number } = {},
  ) {
    this.#now = more.now ?? performance.now.bind(performance);
    const fullMs = Math.ceil((opts.burst / opts.perSecond) * 1000);
    this.#cache = new LRUCache({
      max: more.maxClients ?? 100_000,
      ttl: Math.max(1, fullMs),
      // The cache's clock must be ours, or a test moving time would see stale TTLs.
      perf: { now: this.#now },
    });
  }

  /** Takes one token for `key`: 0 when allowed, else the seconds to wait (≥ 1). */
  take(key: string): number {
    const now = this.#now();
    const { perSecond, burst } = this.opts;
    let b = this.#cache.get(key);
    if (!b) b = { tokens: burst, at: now };
    else b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      this.#cache.set(key, b);
      return 0;
    }
    this.#cache.set(key, b);
    return Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
  }
}

const EXEMPT = new Set(["healthz", "readyz", "metrics"]);

/** The rate-limit middleware over `buckets`. */
export function rateLimitMiddleware(buckets: TokenBuckets): Middleware {
  return function rateLimit(c: RequestContext, next: () => Reply): Reply {
    if (EXEMPT.has(c.family)) return next();
    const wait = buckets.take(c.client ?? "unknown");
    if (wait === 0) return next();
    throw new OciError("TOOMANYREQUESTS", "too many requests", { retryAfterSeconds: wait }, {
      headers: { "Retry-After": String(wait) },
    });
  };
}
