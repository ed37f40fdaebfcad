/**
 * @module
 * The request figures (lib/server/request_figures.ts) as prom-client metrics, read when
 * `/metrics` is scraped:
 *
 * - `static_registry_requests_total{route,method,status}` (counter)
 * - `static_registry_request_duration_seconds{route}` (histogram, time to the response head)
 * - `static_registry_response_bytes_total{route}` (counter, body bytes sent)
 *
 * The histogram is a metric object of our own rather than prom-client's `Histogram`: the
 * bucket counts already exist as arrays, and a `Histogram` can only be fed one observation
 * at a time. The object has the shape prom-client's registry renders (`get()` with
 * `_bucket`/`_sum`/`_count` values, Prometheus text format 0.0.4 §"Histograms and
 * summaries": cumulative buckets, `le="+Inf"` equal to `_count`).
 */
import { Counter, type Metric } from "prom-client";
import type { Registry as PromRegistry } from "prom-client";
import { LATENCY_BUCKETS, type RequestFigures } from "./request_figures.ts";

const DURATION = "static_registry_request_duration_seconds";

/** One sample line as prom-client's registry renders it (its typings lack `metricName`). */
interface Sample {
  metricName: string;
  labels: Record<string, string>;
  value: number;
}

/** Registers the request metrics of `figures` in `register`. */
export function registerRequestMetrics(register: PromRegistry, figures: RequestFigures): void {
  new Counter({
    name: "static_registry_requests_total",
    help: "HTTP requests by route family, method and status.",
    labelNames: ["route", "method", "status"],
    registers: [register],
    collect() {
      this.reset();
      for (const [route, f] of figures.entries()) {
        for (const [method, byStatus] of f.counts) {
          for (const [status, n] of byStatus) this.inc({ route, method, status }, n);
        }
      }
    },
  });
  new Counter({
    name: "static_registry_response_bytes_total",
    help: "Response body bytes sent, by route family (HEAD responses send none).",
    labelNames: ["route"],
    registers: [register],
    collect() {
      this.reset();
      for (const [route, f] of figures.entries()) this.inc({ route }, f.bytes);
    },
  });
  register.registerMetric(durationHistogram(figures) as unknown as Metric);
}

/** The latency histogram, by route family, as a prom-client metric object. */
function durationHistogram(figures: RequestFigures) {
  const help = "Time until the response's status and headers were ready, by route family.";
  return {
    name: DURATION,
    help,
    type: "histogram",
    aggregator: "sum",
    get() {
      const values: Sample[] = [];
      for (const [route, f] of figures.entries()) {
        let cumulative = 0;
        LATENCY_BUCKETS.forEach((le, i) => {
          cumulative += f.buckets[i];
          values.push(bucket(route, String(le), cumulative));
        });
        cumulative += f.buckets[LATENCY_BUCKETS.length];
        values.push(bucket(route, "+Inf", cumulative));
        values.push({ metricName: `${DURATION}_sum`, labels: { route }, value: f.seconds });
        values.push({ metricName: `${DURATION}_count`, labels: { route }, value: f.observed });
      }
      return { name: DURATION, help, type: "histogram", aggregator: "sum", values };
    },
  };
}

function bucket(route: string, le: string, value: number): Sample {
  return { metricName: `${DURATION}_bucket`, labels: { route, le }, value };
}
