/**
 * @module
 * What every request adds to `/metrics`: a count by route family, method and status, its
 * latency in a histogram by route family, and the body bytes sent by route family.
 *
 * Recording runs on every request, the 307 included, so it is plain arithmetic on
 * preallocated per-family arrays: no label object is built or hashed per request (a
 * prom-client `inc()`/`observe()` with labels does both). lib/server/metrics.ts hands the
 * figures to prom-client only when `/metrics` is scraped. The latency is the time until
 * the response's status and headers are ready (what the handler controls); the transfer
 * of a body is the client's and the network's time, and for a file sent with sendfile(2)
 * the runtime never says when it ends.
 */

/** Histogram bucket bounds, in seconds (Prometheus `le`): 250 µs to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00025,
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/**
 * Methods counted under their own name; anything else is `other`, so a client inventing
 * methods cannot create series without bound (label values must stay few).
 */
const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** One route family's figures. */
export class FamilyFigures {
  /** method → status → requests. */
  readonly counts = new Map<string, Map<number, number>>();
  /** Requests per bucket (not cumulative; rendering accumulates), the last one +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  /** Sum of the latencies, in seconds. */
  seconds = 0;
  /** Requests observed (the histogram's `_count`). */
  observed = 0;
  /** Body bytes sent. */
  bytes = 0;
}

/** The figures of one app, by route family. */
export class RequestFigures {
  readonly #families = new Map<string, FamilyFigures>();

  #family(family: string): FamilyFigures {
    let f = this.#families.get(family);
    if (!f) this.#families.set(family, f = new FamilyFigures());
    return f;
  }

  /** Counts one response and observes its latency (`seconds` until its head was ready). */
  record(family: string, method: string, status: number, seconds: number): void {
    const f = this.#family(family);
    const m = METHODS.has(method) ? method : "other";
    let byStatus = f.counts.get(m);
    if (!byStatus) f.counts.set(m, byStatus = new Map());
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    f.buckets[i]++;
    f.seconds += seconds;
    f.observed++;
  }

  /** Adds body bytes sent (once per response, or when a counted stream ends). */
  sent(family: string, bytes: number): void {
    if (bytes > 0) this.#family(family).bytes += bytes;
  }

  /** Every family seen, with its figures. */
  entries(): Iterable<[family: string, figures: FamilyFigures]> {
    return this.#families.entries();
  }
}
