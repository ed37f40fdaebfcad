/**
 * @module
 * `/metrics` with prom-client (Prometheus text format 0.0.4): requests by route family,
 * method and status, latency and bytes sent by route family, the index size, age and
 * freshness of every store, what the origins report (health, check latency, redirects),
 * the build, and the process (prom-client's default metrics).
 *
 * The request figures are kept in plain arrays on the request path
 * (lib/server/request_figures.ts) and, like every other figure, handed to prom-client only
 * when scraped, in its `collect()` callbacks; the latency histogram is rendered by
 * {@link latencyHistogram}, as prom-client has no way to load a histogram's buckets.
 *
 * Labels: without mounts the store metrics carry no `mount` label; with mounts every
 * store's carry `mount="<prefix>"`, the root store's being `mount=""` — which Prometheus
 * treats as no label, so the root's series keep their identity when a mount is added.
 */
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Registry as PromRegistry,
  type RegistryContentType,
} from "prom-client";
import type { Registry } from "../index/registry.ts";
import { BUILD } from "../version.ts";
import type { Mount } from "./deps.ts";
import { LATENCY_BUCKETS, METHODS, type RequestFigures } from "./request_figures.ts";

/** A store whose figures `/metrics` shows. */
type Measured = Pick<Mount, "prefix" | "registry" | "origins">;

// prom-client's default metrics start an event-loop monitor and a GC observer: once per
// process, shared by every app (a config reload builds a new app).
let processMetrics: PromRegistry | undefined;
const PROMTOOL_REJECTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];
function processRegistry(): PromRegistry {
  if (!processMetrics) {
    processMetrics = new PromRegistry();
    collectDefaultMetrics({ register: processMetrics });
    // Gauges that prom-client names like counters: `promtool check metrics` rejects the
    // `_total` suffix on a gauge (Prometheus naming), and the counts they give (libuv
    // handles) mean little on Bun anyway.
    for (const name of PROMTOOL_REJECTS) processMetrics.removeSingleMetric(name);
  }
  return processMetrics;
}

/** The `/metrics` document of an app: its own registry merged with the process metrics. */
export interface Metrics {
  readonly contentType: RegistryContentType;
  render(): Promise<string>;
}

/** Builds the registry of one app over `stores` (the root first, prefix `""`). */
export function createMetrics(
  figures: RequestFigures,
  root: Omit<Measured, "prefix">,
  mounts: readonly Measured[],
  tlsCertExpiry?: () => number | undefined,
): Metrics {
  const register = new PromRegistry();
  const federated = mounts.length > 0;
  const stores: Measured[] = [{ prefix: "", ...root }, ...mounts];
  const storeLabel = federated ? ["mount"] : [];
  const labels = (m: Measured): Record<string, string> => federated ? { mount: m.prefix } : {};

  new Counter({
    name: "static_registry_requests_total",
    help: "HTTP requests by route family, method and status.",
    labelNames: ["route", "method", "status"],
    registers: [register],
    collect() {
      this.reset();
      for (const [route, f] of figures.families()) {
        f.byMethod.forEach((byStatus, m) => {
          for (const [status, n] of byStatus) this.inc({ route, method: METHODS[m], status }, n);
        });
      }
    },
  });
  new Counter({
    name: "static_registry_response_bytes_total",
    help: "Response body bytes sent, by route family (blobs streamed by the server: as sent).",
    labelNames: ["route"],
    registers: [register],
    collect() {
      this.reset();
      for (const [route, f] of figures.families()) this.inc({ route }, f.bytes);
    },
  });
  register.registerMetric(latencyHistogram(figures) as never);

  const indexFigure = (
    Kind: typeof Gauge | typeof Counter,
    name: string,
    help: string,
    value: (r: Registry) => number,
  ) =>
    new Kind({
      name,
      help,
      labelNames: storeLabel,
      registers: [register],
      collect(this: Gauge | Counter) {
        this.reset();
        for (const m of stores) set(this, labels(m), value(m.registry));
      },
    });
  indexFigure(
    Gauge,
    "static_registry_index_ready",
    "1 once the index has been loaded.",
    (r) => r.ready ? 1 : 0,
  );
  indexFigure(
    Gauge,
    "static_registry_index_repositories",
    "Repositories in the loaded index.",
    (r) => r.status().repositories,
  );
  indexFigure(
    Gauge,
    "static_registry_index_tags",
    "Tags in the loaded index.",
    (r) => r.status().tags,
  );
  indexFigure(
    Gauge,
    "static_registry_index_last_refresh_timestamp_seconds",
    "Last successful load or refresh.",
    (r) => r.lastRefreshSeconds(),
  );
  indexFigure(
    Gauge,
    "static_registry_index_age_seconds",
    "Seconds since the last successful load or refresh (-1 before the first).",
    (r) => {
      const at = r.lastRefreshSeconds();
      return at > 0 ? Math.max(0, Date.now() / 1000 - at) : -1;
    },
  );
  // Documents the index could not use (lib/index/problems.ts), the detail in /readyz. No
  // repository label: one series per store, whatever a tenant names its repositories.
  const problems = (r: Registry, kind: "missing" | "rejected") =>
    r.status().problems.filter((p) => p.kind === kind).length;
  indexFigure(
    Gauge,
    "static_registry_index_rejected_repositories",
    "Repositories whose tag index the server refuses (last good version or none served).",
    (r) => problems(r, "rejected"),
  );
  indexFigure(
    Gauge,
    "static_registry_index_missing_documents",
    "Catalog or listed tag indexes answering not found (last good copy kept, retried).",
    (r) => problems(r, "missing"),
  );
  // What a refresh costs (issue 13): layout version 2 reads the marker and the catalog,
  // plus the tag indexes that changed; version 1 reads every tag index.
  indexFigure(
    Gauge,
    "static_registry_index_refresh_reads",
    "Store reads the last successful load or refresh made.",
    (r) => r.status().lastReads,
  );
  indexFigure(
    Gauge,
    "static_registry_index_refresh_duration_seconds",
    "Wall time of the last successful load or refresh.",
    (r) => r.status().lastRefreshMs / 1000,
  );
  indexFigure(
    Counter,
    "static_registry_index_refresh_failures_total",
    "Failed index refreshes.",
    (r) => r.status().refreshFailures,
  );

  const withOrigins = stores.filter((m) => m.origins?.stats);
  if (withOrigins.length) originMetrics(register, withOrigins, federated, labels);

  new Gauge({
    name: "static_registry_build_info",
    help: "The running build: always 1, with the version as a label.",
    labelNames: ["version"],
    registers: [register],
  }).set({ version: BUILD }, 1);

  if (tlsCertExpiry) {
    new Gauge({
      name: "static_registry_tls_cert_expiry_seconds",
      help: "When the served TLS certificate expires (its notAfter, Unix seconds).",
      registers: [register],
      collect() {
        const at = tlsCertExpiry();
        if (at !== undefined) this.set(at);
      },
    });
  }

  const merged = PromRegistry.merge([register, processRegistry()]);
  return { contentType: merged.contentType, render: () => merged.metrics() };
}

/** Per-origin health and redirects, and the verify cache, from `Origins.stats()`. */
function originMetrics(
  register: PromRegistry,
  stores: Measured[],
  federated: boolean,
  mount: (m: Measured) => Record<string, string>,
) {
  const perOrigin = (
    Kind: typeof Gauge | typeof Counter,
    name: string,
    help: string,
    value: (o: { healthy: boolean; redirects: number; checkSeconds?: number | null }) => number,
    skip?: (o: { checkSeconds?: number | null }) => boolean,
  ) =>
    new Kind({
      name,
      help,
      labelNames: federated ? ["mount", "origin"] : ["origin"],
      registers: [register],
      collect(this: Gauge | Counter) {
        this.reset();
        for (const m of stores) {
          for (const o of m.origins!.stats!().origins) {
            if (skip?.(o)) continue;
            set(this, { ...mount(m), origin: o.name }, value(o));
          }
        }
      },
    });
  perOrigin(
    Gauge,
    "static_registry_origin_up",
    "Whether the origin passes its health checks (1) or not (0).",
    (o) => o.healthy ? 1 : 0,
  );
  perOrigin(
    Gauge,
    "static_registry_origin_check_duration_seconds",
    "How long the origin's last health check took (absent before the first).",
    (o) => o.checkSeconds ?? 0,
    (o) => o.checkSeconds === undefined || o.checkSeconds === null,
  );
  perOrigin(
    Counter,
    "static_registry_redirects_total",
    "Blob redirects sent to the origin.",
    (o) => o.redirects,
  );
  const cache = (name: string, help: string, key: "hits" | "misses") =>
    new Counter({
      name,
      help,
      labelNames: federated ? ["mount"] : [],
      registers: [register],
      collect() {
        this.reset();
        for (const m of stores) {
          const c = m.origins!.stats!().verifyCache;
          if (c) this.inc(mount(m), c[key]);
        }
      },
    });
  cache(
    "static_registry_verify_cache_hits_total",
    "Blob verifications answered from cache.",
    "hits",
  );
  cache(
    "static_registry_verify_cache_misses_total",
    "Blob verifications that sent a HEAD.",
    "misses",
  );
}

/** Sets a gauge, or brings a freshly reset counter to `value`. */
function set(metric: Gauge | Counter, labels: Record<string, string>, value: number) {
  if (metric instanceof Gauge) metric.set(labels, value);
  else metric.inc(labels, value);
}

/**
 * `static_registry_request_duration_seconds` as prom-client's registry renders a metric
 * (`get()` → values with their series names): cumulative buckets, `_sum`, `_count`.
 */
function latencyHistogram(figures: RequestFigures) {
  const name = "static_registry_request_duration_seconds";
  return {
    name,
    help: "Time to answer a request (a streamed blob: to its last byte), by route family.",
    type: "histogram",
    aggregator: "sum",
    reset() {},
    get() {
      const values: {
        labels: Record<string, string | number>;
        value: number;
        metricName: string;
      }[] = [];
      for (const [route, f] of figures.families()) {
        let cumulative = 0;
        LATENCY_BUCKETS.forEach((le, i) => {
          cumulative += f.buckets[i];
          values.push({ labels: { route, le }, value: cumulative, metricName: `${name}_bucket` });
        });
        values.push({
          labels: { route, le: "+Inf" },
          value: f.count,
          metricName: `${name}_bucket`,
        });
        values.push({ labels: { route }, value: f.seconds, metricName: `${name}_sum` });
        values.push({ labels: { route }, value: f.count, metricName: `${name}_count` });
      }
      return { name, help: this.help, type: this.type, values, aggregator: this.aggregator };
    },
  };
}
