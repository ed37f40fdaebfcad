/**
 * @module
 * The per-upstream-host request rate of `sync` (`rate: "10/s"`, `--rate 10/s`): every
 * request to one host (token, tags, manifests, blobs, and the redirects they lead to) goes
 * through one p-throttle queue for that host, spaced 1/rate apart. Spacing rather than a
 * burst window keeps a registry's own per-second limiter (Docker Hub, Harbor, quay) from
 * seeing bursts; 429s that happen anyway are retried by registry_retry.ts.
 */
import pThrottle from "p-throttle";

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** `"10/s"` → 10 (requests a second); throws naming the value otherwise. */
export function parseRate(text: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)\/(s|m|h)$/.exec(text.trim());
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0)) {
    throw new Error(`rate "${text}": expected a rate like "10/s", "600/m" or "1000/h"`);
  }
  return n * 1000 / UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A fetch per upstream host; throttled when `perSecond` is set. */
export class HostFetches {
  readonly #byHost = new Map<string, typeof fetch>();

  constructor(
    readonly perSecond: number | undefined,
    readonly base: typeof fetch = fetch,
  ) {}

  /** The fetch for requests that one host's client sends. */
  for(host: string): typeof fetch {
    let f = this.#byHost.get(host);
    if (!f) {
      f = this.perSecond === undefined ? this.base : pThrottle({
        limit: 1,
        // Strict: each request waits for 1/rate after the previous one really went out;
        // the windowed default lets a late one be followed early (two within 1/rate).
        strict: true,
        interval: Math.max(1, Math.round(1000 / this.perSecond)),
      })(this.base) as typeof fetch;
      this.#byHost.set(host, f);
    }
    return f;
  }
}
