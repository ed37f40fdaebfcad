/**
 * @module
 * `/metrics` in the Prometheus text exposition format (version 0.0.4): requests by route
 * family and status, the index size and freshness, and whatever the origins report.
 * Counting is two map lookups per request; rendering happens only when scraped.
 */
import type { Registry } from "../index/registry.ts";
import type { Origins } from "./deps.ts";

/** Request counters by route family and HTTP status. */
export class RequestMetrics {
  #counts = new Map<string, Map<number, number>>();

  count(family: string, status: number): void {
    let byStatus = this.#counts.get(family);
    if (!byStatus) this.#counts.set(family, byStatus = new Map());
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }

  /** The full `/metrics` text. */
  render(registry: Registry, origins: Origins | undefined): string {
    const s = registry.status();
    const lines = [
      "# HELP static_registry_requests_total HTTP requests by route family and status.",
      "# TYPE static_registry_requests_total counter",
    ];
    for (const [family, byStatus] of [...this.#counts].sort(([a], [b]) => a < b ? -1 : 1)) {
      for (const [status, n] of [...byStatus].sort(([a], [b]) => a - b)) {
        lines.push(`static_registry_requests_total{route="${family}",status="${status}"} ${n}`);
      }
    }
    lines.push(
      "# HELP static_registry_index_ready 1 once the index has been loaded.",
      "# TYPE static_registry_index_ready gauge",
      `static_registry_index_ready ${s.ready ? 1 : 0}`,
      "# HELP static_registry_index_repositories Repositories in the loaded index.",
      "# TYPE static_registry_index_repositories gauge",
      `static_registry_index_repositories ${s.repositories}`,
      "# HELP static_registry_index_tags Tags in the loaded index.",
      "# TYPE static_registry_index_tags gauge",
      `static_registry_index_tags ${s.tags}`,
      "# HELP static_registry_index_last_refresh_timestamp_seconds Last successful load or refresh.",
      "# TYPE static_registry_index_last_refresh_timestamp_seconds gauge",
      `static_registry_index_last_refresh_timestamp_seconds ${registry.lastRefreshSeconds()}`,
      "# HELP static_registry_index_refresh_failures_total Failed index refreshes.",
      "# TYPE static_registry_index_refresh_failures_total counter",
      `static_registry_index_refresh_failures_total ${s.refreshFailures}`,
    );
    let text = lines.join("\n") + "\n";
    const extra = origins?.metrics?.();
    if (extra) text += extra.endsWith("\n") ? extra : extra + "\n";
    return text;
  }
}
