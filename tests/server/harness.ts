/**
 * @module
 * The HTTP table-test runner (go-containerregistry style): each row is a request and
 * what the response must be. Every response must carry the API version header, and
 * every 4xx/5xx must carry the spec's error body.
 */
import assert from "node:assert/strict";
import pino from "pino";
import { type Logger, silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import type { IndexLoad } from "../../lib/index/held.ts";
import { type App, createApp, type Origins, type OriginStats } from "../../lib/server/app.ts";
import type { ReadStore } from "../../lib/store/store.ts";

export interface Case {
  description: string;
  method?: string;
  url: string;
  headers?: Record<string, string>;
  status: number;
  /** Exact header values, a RegExp, or null for "must be absent". */
  wantHeaders?: Record<string, string | RegExp | null>;
  /** The parsed JSON body (deep equal), or the raw bytes. */
  wantBody?: unknown;
  /** The error code of a spec error body. */
  wantCode?: string;
}

/** Runs every row as a test step. */
export async function runCases(t: Deno.TestContext, app: App, cases: Case[]): Promise<void> {
  for (const c of cases) {
    await t.step(c.description, async () => {
      const res = await app.request(c.url, { method: c.method ?? "GET", headers: c.headers });
      const body = new Uint8Array(await res.arrayBuffer());
      const text = new TextDecoder().decode(body);
      assert.equal(
        res.status,
        c.status,
        `${c.method ?? "GET"} ${c.url}: body ${text.slice(0, 300)}`,
      );
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
      for (const [k, want] of Object.entries(c.wantHeaders ?? {})) {
        const got = res.headers.get(k);
        if (want === null) assert.equal(got, null, `header ${k}`);
        else if (want instanceof RegExp) assert.match(got ?? "", want, `header ${k}`);
        else assert.equal(got, want, `header ${k}`);
      }
      // /readyz answers 503 with its own detail document; everything else uses the spec's.
      if (res.status >= 400 && c.method !== "HEAD" && !c.url.startsWith("/readyz")) {
        const doc = JSON.parse(text);
        assert.ok(Array.isArray(doc.errors) && doc.errors.length === 1, text);
        assert.equal(typeof doc.errors[0].message, "string");
        if (c.wantCode) assert.equal(doc.errors[0].code, c.wantCode, text);
      } else if (c.wantCode) {
        assert.fail("wantCode on a non-error row");
      }
      if (c.wantBody instanceof Uint8Array) assert.deepEqual(body, c.wantBody);
      else if (c.wantBody !== undefined) assert.deepEqual(JSON.parse(text), c.wantBody);
      if (c.method === "HEAD") assert.equal(body.byteLength, 0, "HEAD has no body");
    });
  }
}

/** A scripted Origins: redirects to a fake CDN, readiness switchable. */
export class FakeOrigins implements Origins {
  /** `name` labels readiness and metrics; `base` is the fake CDN's URL. */
  constructor(readonly name = "cdn-a", readonly base = "http://cdn-a.test/registry") {}
  ready = true;
  calls: [string, number][] = [];
  fail?: Error;
  /** Answer locate() with a plain string instead of a promise. */
  sync = false;
  locate(
    digest: string,
    size: number,
    _order?: readonly number[],
    into?: { origin?: string },
  ): string | Promise<string> {
    this.calls.push([digest, size]);
    if (this.fail) {
      if (this.sync) throw this.fail;
      return Promise.reject(this.fail);
    }
    const url = `${this.base}/blobs/${digest.replace(":", "/")}`;
    if (into) into.origin = this.name;
    return this.sync ? url : Promise.resolve(url);
  }
  readiness(): { ready: boolean; origins: unknown[] } {
    return { ready: this.ready, origins: [{ name: this.name, healthy: this.ready }] };
  }
  stats(): OriginStats {
    return { origins: [{ name: this.name, healthy: true, redirects: this.calls.length }] };
  }
}

/** A loaded Registry and an app over `store`. */
export async function appFor(
  store: ReadStore,
  opts: { origins?: Origins; v1Origin?: string; log?: Logger; index?: IndexLoad } = {},
): Promise<{ app: App; registry: Registry }> {
  const { index, ...rest } = opts;
  const registry = new Registry(store, { log: silentLogger, index });
  await registry.load();
  const app = createApp({ registry, store, ...rest, log: opts.log ?? silentLogger });
  return { app, registry };
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}
