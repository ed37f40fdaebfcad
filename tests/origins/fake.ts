/**
 * @module
 * A scriptable fake `fetch` and clock for origin tests: each URL prefix answers with a
 * status/size the test sets, or hangs until aborted (a timeout), or throws (connection
 * refused). Every call is recorded. And {@link fromConfig}: origin options resolved the way
 * the program resolves them (lib/config), since lib/origins checks nothing itself.
 */
import { resolveConfig } from "../../lib/config/resolve.ts";
import type { UserConfig } from "../../lib/config/schema.ts";
import type { OriginsOptions } from "../../lib/origins/origins.ts";

/** `origins`, `health`, `verifyBlobs`, `routing`, `fallback` of a config document, resolved by lib/config. */
export function fromConfig(
  doc: Partial<UserConfig>,
): Pick<OriginsOptions, "origins" | "health" | "verifyBlobs" | "routing" | "fallback"> {
  const r = resolveConfig({ store: "./data", ...doc } as UserConfig, { baseDir: "/" });
  if ("problems" in r) throw new Error(`bad test config: ${JSON.stringify(r.problems)}`);
  const { origins, health, verifyBlobs, routing, fallback } = r.config;
  return { origins, health, verifyBlobs, routing, fallback };
}

/**
 * How a fake host behaves. A 2xx GET of the marker (`…/static-registry.json`) answers with
 * `body`, by default the v1 marker without an id, as a real origin of such a store does;
 * with `etag`, a GET whose If-None-Match is that ETag answers 304.
 */
export type Behaviour =
  | { status: number; size?: number; body?: string; etag?: string }
  | "hang"
  | "refuse";

/** The marker a fake origin serves by default. */
export const FAKE_MARKER = '{"layout":"static-registry","version":1}\n';

/** A fake fetch routed by URL prefix (longest match wins). */
export class FakeFetch {
  readonly calls: { method: string; url: string; headers: Headers }[] = [];
  readonly #routes = new Map<string, Behaviour>();

  /** Sets how URLs starting with `prefix` are answered. */
  set(prefix: string, b: Behaviour): this {
    this.#routes.set(prefix, b);
    return this;
  }

  /** Calls whose URL starts with `prefix`. */
  count(prefix: string): number {
    return this.calls.filter((c) => c.url.startsWith(prefix)).length;
  }

  readonly fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input);
    const method = init?.method ?? "GET";
    const sent = new Headers(init?.headers);
    this.calls.push({ method, url, headers: sent });
    let best: Behaviour | undefined;
    let bestLen = -1;
    for (const [p, b] of this.#routes) {
      if (url.startsWith(p) && p.length > bestLen) [best, bestLen] = [b, p.length];
    }
    if (best === undefined || best === "refuse") {
      return Promise.reject(new TypeError(`error sending request for url (${url}): refused`));
    }
    if (best === "hang") {
      return new Promise((_, reject) => {
        const signal = init?.signal;
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    const headers = new Headers();
    if (best.size !== undefined) headers.set("content-length", String(best.size));
    if (best.etag !== undefined) {
      headers.set("etag", best.etag);
      if (sent.get("if-none-match") === best.etag) {
        return Promise.resolve(new Response(null, { status: 304, headers }));
      }
    }
    const ok = best.status >= 200 && best.status < 300 && best.status !== 204;
    const body = ok && method === "GET" && url.endsWith("/static-registry.json")
      ? best.body ?? FAKE_MARKER
      : best.body ?? null;
    return Promise.resolve(new Response(body, { status: best.status, headers }));
  };
}

/** A clock the test moves by hand. */
export class FakeClock {
  t = Date.parse("2030-01-01T00:00:00Z");
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}
