/**
 * @module
 * The request figures `/metrics` shows — requests by route family, method and status; a
 * latency histogram and bytes sent by route family — kept in plain arrays and maps.
 *
 * Why not prom-client's `inc()`/`observe()` on each request: with labels, each call
 * hashes a label object, and this runs on every request (a 307 is a few microseconds).
 * Here a request costs a map lookup and a short bucket scan; prom-client gets the figures
 * only when `/metrics` is scraped (lib/server/metrics.ts).
 */
import type { Family } from "./path.ts";

/**
 * Latency bucket bounds, seconds: from a 307 answered from memory (tens of µs) to a
 * streamed blob (seconds). Prometheus' `le` label, cumulative (the `+Inf` bucket is the count).
 */
export const LATENCY_BUCKETS: readonly number[] = Object.freeze([
  0.0001,
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
  30,
]);

/**
 * The `method` label: the pull API's methods by name, anything else as `other` (a client
 * must not be able to make a series per made-up method).
 */
export const METHODS = ["GET", "HEAD", "other"] as const;
export type MethodLabel = (typeof METHODS)[number];

const methodIndex = (m: string): number => m === "GET" ? 0 : m === "HEAD" ? 1 : 2;

/** One route family's figures. */
export class FamilyFigures {
  /** Per method (index in {@link METHODS}): status → requests. */
  readonly byMethod: [Map<number, number>, Map<number, number>, Map<number, number>] = [
    new Map(),
    new Map(),
    new Map(),
  ];
  /** Non-cumulative counts per bucket of {@link LATENCY_BUCKETS}, then one past the last. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS.length + 1);
  seconds = 0;
  count = 0;
  bytes = 0;
}

/** Every family's figures, created as families are seen. */
export class RequestFigures {
  readonly #families = new Map<Family, FamilyFigures>();

  /** Adds one answered request. */
  record(family: Family, method: string, status: number, seconds: number, bytes: number): void {
    let f = this.#families.get(family);
    if (f === undefined) this.#families.set(family, f = new FamilyFigures());
    const byStatus = f.byMethod[methodIndex(method)];
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    f.buckets[i]++;
    f.seconds += seconds;
    f.count++;
    f.bytes += bytes;
  }

  families(): Iterable<[Family, FamilyFigures]> {
    return this.#families.entries();
  }
}
