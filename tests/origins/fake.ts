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

/** How a fake host behaves. */
export type Behaviour =
  | { status: number; size?: number }
  | "hang"
  | "refuse";

/** A fake fetch routed by URL prefix (longest match wins). */
export class FakeFetch {
  readonly calls: { method: string; url: string }[] = [];
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
    this.calls.push({ method: init?.method ?? "GET", url });
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
    return Promise.resolve(new Response(null, { status: best.status, headers }));
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
