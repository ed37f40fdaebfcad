/**
 * @module
 * Per-blob verification: before the first redirect of a blob to an origin, HEAD the blob
 * there and compare its Content-Length with the size the index records. Results are cached
 * per (origin, digest): positive ones in a bounded LRU (blobs are immutable, so "present
 * with the right size" stays true), negative ones only for `negativeTtl` ms (a publish or
 * a CDN catching up can make a missing blob appear). Concurrent verifications of the same
 * (origin, digest) share one HEAD.
 */
import { LRUCache } from "lru-cache";
import { userAgent } from "../version.ts";

/** The outcome of one verification. */
export type Verdict =
  /** The origin serves the blob with the expected size. */
  | { ok: true }
  /**
   * The origin answered and does not have it: `missing` (404/403/410) or `size` (wrong
   * Content-Length). `error`: no definitive answer (timeout, 5xx, connection error).
   */
  | { ok: false; kind: "missing" | "size" | "error"; reason: string };

/** Options of the cache, resolved by lib/config (`verifyBlobs`). */
export interface VerifyOptions {
  /** Maximum number of cached verdicts (positive and negative together), at least 1. */
  cacheSize: number;
  /** How long a negative verdict is trusted (ms); 0: not at all. */
  negativeTtlMs: number;
}

/**
 * A bounded LRU of verdicts (lru-cache: `max` entries, a per-entry TTL for the negative
 * ones) with in-flight de-duplication: concurrent callers of one key share one promise.
 *
 * @example
 * ```ts
 * const cache = new VerifyCache({ cacheSize: 10_000, negativeTtlMs: 30_000 });
 * const v = await cache.get("cdn-a sha256:…", () => headBlob(url, size));
 * ```
 */
export class VerifyCache {
  readonly #negativeTtl: number;
  readonly #entries: LRUCache<string, Verdict>;
  readonly #inflight = new Map<string, Promise<Verdict>>();
  hits = 0;
  misses = 0;

  constructor(opts: VerifyOptions & { now?: () => number }) {
    this.#negativeTtl = opts.negativeTtlMs;
    this.#entries = new LRUCache<string, Verdict>({
      max: opts.cacheSize,
      // ttlResolution 0: read the clock on every check (an injected test clock moves in
      // jumps; the default caches "now" for 1 ms of real time).
      ttlResolution: 0,
      ...(opts.now ? { perf: { now: opts.now } } : {}),
    });
  }

  /** Number of cached verdicts. */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * The cached verdict for `key`, or the result of `verify()` (run once for concurrent
   * callers). Errors (`kind: "error"`) are not cached: the next request asks again.
   */
  get(key: string, verify: () => Promise<Verdict>): Promise<Verdict> {
    const cached = this.#entries.get(key);
    if (cached) {
      this.hits++;
      return Promise.resolve(cached);
    }
    const pending = this.#inflight.get(key);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const p = verify().then((verdict) => {
      if (verdict.ok) this.#entries.set(key, verdict);
      else if (verdict.kind !== "error" && this.#negativeTtl > 0) {
        this.#entries.set(key, verdict, { ttl: this.#negativeTtl });
      }
      return verdict;
    }).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }
}

/**
 * HEADs `url` (with our User-Agent, lib/version.ts) and judges it against `size`.
 * 404, 403 and 410 mean "not there" (S3 answers 403 for a missing key when the reader may
 * not list the bucket); a 2xx with another Content-Length than `size` is a wrong size;
 * anything else is an error without a verdict.
 */
export async function headObject(
  fetchFn: (input: string, init?: RequestInit) => Promise<Response>,
  url: string,
  size: number,
  timeoutMs: number,
): Promise<Verdict> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: "HEAD",
      headers: { "user-agent": userAgent() },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
  } catch (e) {
    const err = e as Error;
    const why = err?.name === "TimeoutError"
      ? `timed out after ${timeoutMs} ms`
      : err?.message ?? String(e);
    return { ok: false, kind: "error", reason: `HEAD failed: ${why}` };
  }
  if (res.status === 404 || res.status === 403 || res.status === 410) {
    return { ok: false, kind: "missing", reason: `HTTP ${res.status}` };
  }
  if (res.status < 200 || res.status >= 300) {
    return { ok: false, kind: "error", reason: `HTTP ${res.status}` };
  }
  const header = res.headers.get("content-length");
  if (header === null) return { ok: false, kind: "error", reason: "no Content-Length" };
  const got = Number(header);
  if (got !== size) {
    return { ok: false, kind: "size", reason: `Content-Length ${got}, expected ${size}` };
  }
  return { ok: true };
}
