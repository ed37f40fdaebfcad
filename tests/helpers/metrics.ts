/**
 * @module
 * Reading `/metrics` text in tests: `static_registry_requests_total` carries `route`,
 * `method` and `status`; most tests care about route and status, summed over methods.
 */

/** Requests counted for `route` and `status`, summed over every method (0 if none). */
export function requestCount(text: string, route: string, status: number): number {
  return statuses(text, route).get(status) ?? 0;
}

/** status → requests for `route`, summed over every method. */
export function statuses(text: string, route: string): Map<number, number> {
  const out = new Map<number, number>();
  const re =
    /^static_registry_requests_total\{route="([^"]*)",method="[^"]*",status="(\d+)"\} (\d+)$/gm;
  for (const m of text.matchAll(re)) {
    if (m[1] !== route) continue;
    out.set(Number(m[2]), (out.get(Number(m[2])) ?? 0) + Number(m[3]));
  }
  return out;
}

/** The value of one sample, by its exact series (`name{labels}` as rendered); undefined if absent. */
export function sample(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(series + " ")) return Number(line.slice(series.length + 1));
  }
  return undefined;
}
