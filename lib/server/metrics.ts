/**
 * @module
 * `/metrics` in the Prometheus text exposition format (version 0.0.4): requests by route
 * family and status, the index size and freshness, and whatever the origins report.
 * Counting is two map lookups per request; rendering happens only when scraped. With
 * mounts (federation) the index and origins lines are per store, labelled `mount`.
 */
import type { Registry } from "../index/registry.ts";
import type { Mount } from "./deps.ts";
import { labelValue, mergeExposition } from "./prom.ts";

/** Request counters by route family and HTTP status. */
export class RequestMetrics {
  #counts = new Map<string, Map<number, number>>();

  count(family: string, status: number): void {
    let byStatus = this.#counts.get(family);
    if (!byStatus) this.#counts.set(family, byStatus = new Map());
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /**
   * The full `/metrics` text. Without mounts the index gauges carry no labels; with
   * mounts every index gauge and every origins line carries `mount="<prefix>"`, the root
   * store's being `mount=""` — which Prometheus treats as no label, so the root's series
   * keep their identity when a mount is added.
   */
  render(
    root: Pick<Mount, "registry" | "origins">,
    mounts: readonly Mount[] = [],
  ): string {
    const lines = [
      "# HELP static_registry_requests_total HTTP requests by route family and status.",
      "# TYPE static_registry_requests_total counter",
    ];
    for (const [family, byStatus] of [...this.#counts].sort(([a], [b]) => a < b ? -1 : 1)) {
      for (const [status, n] of [...byStatus].sort(([a], [b]) => a - b)) {
        lines.push(`static_registry_requests_total{route="${family}",status="${status}"} ${n}`);
      }
    }
    const stores = [{ prefix: "", ...root }, ...mounts];
    const label = (m: { prefix: string }) =>
      mounts.length === 0 ? "" : `{mount="${labelValue(m.prefix)}"}`;
    const gauge = (name: string, type: string, help: string, value: (r: Registry) => number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const m of stores) lines.push(`${name}${label(m)} ${value(m.registry)}`);
    };
    gauge(
      "static_registry_index_ready",
      "gauge",
      "1 once the index has been loaded.",
      (r) => r.ready ? 1 : 0,
    );
    gauge(
      "static_registry_index_repositories",
      "gauge",
      "Repositories in the loaded index.",
      (r) => r.status().repositories,
    );
    gauge(
      "static_registry_index_tags",
      "gauge",
      "Tags in the loaded index.",
      (r) => r.status().tags,
    );
    gauge(
      "static_registry_index_last_refresh_timestamp_seconds",
      "gauge",
      "Last successful load or refresh.",
      (r) => r.lastRefreshSeconds(),
    );
    gauge(
      "static_registry_index_refresh_failures_total",
      "counter",
      "Failed index refreshes.",
      (r) => r.status().refreshFailures,
    );
    let text = lines.join("\n") + "\n";
    if (mounts.length === 0) {
      const extra = root.origins?.metrics?.();
      if (extra) text += extra.endsWith("\n") ? extra : extra + "\n";
      return text;
    }
    const parts = stores.flatMap((m) => {
      const t = m.origins?.metrics?.();
      return t ? [{ labels: `mount="${labelValue(m.prefix)}"`, text: t }] : [];
    });
    return text + mergeExposition(parts);
  }
}
