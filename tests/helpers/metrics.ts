/**
 * @module
 * Reading `/metrics` text in tests: `static_registry_requests_total` is labelled by route,
 * method and status (issue 11); {@link requestCount} sums the methods unless one is given,
 * which is what the tests written before the method label counted.
 */

/** Requests of `route` answered `status` (every method, or only `method`), 0 if none. */
export function requestCount(
  text: string,
  route: string,
  status: number,
  method?: string,
): number {
  const re = new RegExp(
    `^static_registry_requests_total\\{route="${route}",method="([^"]+)",status="${status}"\\} (\\d+)$`,
    "gm",
  );
  let n = 0;
  for (const m of text.matchAll(re)) if (method === undefined || m[1] === method) n += Number(m[2]);
  return n;
}

/** Every status of `route` with its count (methods summed). */
export function statusCounts(text: string, route: string): Map<number, number> {
  const re = new RegExp(
    `^static_registry_requests_total\\{route="${route}",method="[^"]+",status="(\\d+)"\\} (\\d+)$`,
    "gm",
  );
  const out = new Map<number, number>();
  for (const m of text.matchAll(re)) {
    out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + Number(m[2]));
  }
  return out;
}
