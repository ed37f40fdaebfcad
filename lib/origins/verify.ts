/**
 * @module
 * Per-blob verification: before the first redirect of a blob to an origin, HEAD the blob
 * there and compare its Content-Length with the size the index records. Results are cached
 * per (origin, digest): positive ones in a bounded LRU (blobs are immutable, so "present
 * with the right size" stays true), negative ones only for `negativeTtl` ms (a publish or
 * a CDN catching up can make a missing blob appear). Concurrent verifications of the same
 * (origin, digest) share one HEAD.
 */

/** The outcome of one verification. */
export type Verdict =
  /** The origin serves the blob with the expected size. */
  | { ok: true }
  /**
   * The origin answered and does not have it: `missing` (404/403/410) or `size` (wrong
   * Content-Length). `error`: no definitive answer (timeout, 5xx, connection error).
   */
  | { ok: false; kind: "missing" | "size" | "error"; reason: string };

/** Options of the cache. */
export interface VerifyCacheOptions {
  /** Maximum number of cached verdicts (positive and negative together). */
  cacheSize: number;
  /** How long a negative verdict is trusted (ms). */
  negativeTtl: number;
  now?: () => number;
}

interface Entry {
  verdict: Verdict;
  /** Expiry time for negative verdicts; Infinity for positive ones. */
  expires: number;
}

/**
 * A bounded LRU of verdicts with in-flight deduplication.
 *
 * @example
 * ```ts
 * const cache = new VerifyCache({ cacheSize: 10_000, negativeTtl: 30_000 });
 * const v = await cache.get("cdn-a sha256:…", () => headBlob(url, size));
 * ```
 */
export class VerifyCache {
  readonly #max: number;
  readonly #negativeTtl: number;
  readonly #now: () => number;
  // A Map iterates in insertion order: deleting and re-inserting on a hit makes it an LRU.
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Verdict>>();
  hits = 0;
  misses = 0;

  constructor(opts: VerifyCacheOptions) {
    if (!Number.isInteger(opts.cacheSize) || opts.cacheSize < 1) {
      throw new Error(
        `verifyBlobs.cacheSize: must be a positive integer, got ${JSON.stringify(opts.cacheSize)}`,
      );
    }
    if (!Number.isFinite(opts.negativeTtl) || opts.negativeTtl < 0) {
      throw new Error(
        `verifyBlobs.negativeTtl: must be a duration >= 0, got ${JSON.stringify(opts.negativeTtl)}`,
      );
    }
    this.#max = opts.cacheSize;
    this.#negativeTtl = opts.negativeTtl;
    this.#now = opts.now ?? Date.now;
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
    const e = this.#entries.get(key);
    if (e) {
      if (e.expires > this.#now()) {
        this.hits++;
        this.#entries.delete(key);
        this.#entries.set(key, e);
        return Promise.resolve(e.verdict);
      }
      this.#entries.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const p = verify().then((verdict) => {
      this.#store(key, verdict);
      return verdict;
    }).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  #store(key: string, verdict: Verdict): void {
    if (!verdict.ok && verdict.kind === "error") return;
    const expires = verdict.ok ? Infinity : this.#now() + this.#negativeTtl;
    this.#entries.delete(key);
    this.#entries.set(key, { verdict, expires });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}

/**
 * HEADs `url` and judges it against `size`.
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
