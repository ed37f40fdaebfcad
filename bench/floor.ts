/**
 * @module
 * Floors for the redirect row, to say which layer costs what (run with Bun, the product's
 * runtime; bench tooling, so it calls Bun.serve directly):
 *
 *   bun bench/floor.ts bun    PORT   bare Bun.serve answering every request with a 307
 *   bun bench/floor.ts bun-ip PORT   the same, plus `server.requestIP(req)` per request: what
 *                                    the server paid before the client address became lazy
 *   bun bench/floor.ts hono   PORT   Hono on Bun.serve: one `app.all("*")` handler, answering
 *                                    the same 307
 *   bun bench/floor.ts hono-routes PORT  Hono for real: the raw path (`getPath`), one route per
 *                                    endpoint family with a greedy `:name{.+}`, one
 *                                    pass-through middleware (where an access log or request
 *                                    metrics would go), `onError` and `notFound`
 *   bun bench/floor.ts log-sync PORT  bare Bun.serve + requestIP() + one access line written
 *                                    with a write(2) per request (a temp file)
 *   bun bench/floor.ts log-batched PORT  the same line through lib/log_sink.ts (batched
 *                                    writes): why the access log buffers its lines
 *   bun bench/floor.ts log-stringify PORT  log-batched with its strings quoted by
 *                                    `JSON.stringify` instead of lib/server/access_log.ts
 *                                    `jsonString` (a small step: bench/access_line_cost.ts
 *                                    measures it in process, where wrk's noise is absent)
 *   bun bench/floor.ts table  PORT   the shape lib/server/app.ts took instead: a plain fetch
 *                                    that splits the raw URL, picks the family by hand and
 *                                    runs one pass-through middleware around the route
 *
 * The 307 carries the headers static-registry sends (Location, Docker-Content-Digest, the
 * API version) and no body.
 */
import { Hono } from "hono";
import { openSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { fdSink } from "../lib/log_sink.ts";
import { jsonString } from "../lib/server/access_log.ts";

const MODES = [
  "bun",
  "bun-ip",
  "log-sync",
  "log-batched",
  "log-stringify",
  "hono",
  "hono-routes",
  "table",
];
const [mode, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!MODES.includes(mode) || !Number.isInteger(port)) {
  console.error(`usage: bun bench/floor.ts ${MODES.join("|")} PORT`);
  process.exit(2);
}
const ORIGIN = `http://127.0.0.1:${port}/base/blobs/sha256/`;

function redirect(url: string): Response {
  const i = url.lastIndexOf("sha256:");
  if (i < 0) return new Response(null, { status: 200 });
  const hex = url.slice(i + 7);
  return new Response(null, {
    status: 307,
    headers: {
      "Docker-Distribution-API-Version": "registry/2.0",
      Location: ORIGIN + hex,
      "Docker-Content-Digest": `sha256:${hex}`,
    },
  });
}

// deno-lint-ignore no-explicit-any
const Bun = (globalThis as any).Bun;
let fetch: (req: Request, srv: { requestIP(r: Request): { address: string } | null }) => Response;
if (mode === "hono") {
  const app = new Hono();
  app.all("*", function serve(c) {
    return redirect(c.req.raw.url);
  });
  fetch = (req) => app.fetch(req) as Response;
} else if (mode === "hono-routes") {
  const rawPath = (url: string) => {
    const start = url.indexOf("/", url.indexOf("://") + 3);
    const q = url.indexOf("?", start);
    return q < 0 ? url.slice(start) : url.slice(start, q);
  };
  const app = new Hono({ getPath: (req) => rawPath(req.url) });
  const READ = ["GET", "HEAD"];
  const ok = () => new Response("{}", { status: 200 });
  app.use(async function passThrough(_c, next) {
    await next();
  });
  app.on(READ, "/v2/", ok);
  app.on(READ, "/v2/_catalog", ok);
  app.on(READ, "/v2/:name{.+}/manifests/:ref", ok);
  app.on(READ, "/v2/:name{.+}/blobs/:digest", (c) => redirect(c.req.raw.url));
  app.on(READ, "/v2/:name{.+}/tags/list", ok);
  app.on(READ, "/v2/:name{.+}/referrers/:digest", ok);
  app.on(READ, "/v1/*", ok);
  app.on(READ, "/healthz", ok);
  app.on(READ, "/readyz", ok);
  app.on(READ, "/metrics", ok);
  app.onError(() => new Response("{}", { status: 500 }));
  app.notFound(() => new Response("{}", { status: 404 }));
  fetch = (req) => app.fetch(req) as Response;
} else if (mode === "table") {
  type Ctx = { req: Request; path: string; name: string; ref: string };
  type Mw = (c: Ctx, next: () => Response) => Response;
  const passThrough: Mw = (_c, next) => next();
  const chain: Mw[] = [passThrough];
  const families: Record<string, (c: Ctx) => Response> = {
    blobs: (c) => redirect(c.req.url),
  };
  fetch = (req) => {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("://") + 3);
    const q = url.indexOf("?", start);
    const path = q < 0 ? url.slice(start) : url.slice(start, q);
    const last = path.lastIndexOf("/");
    const prev = path.lastIndexOf("/", last - 1);
    const kind = path.slice(prev + 1, last);
    const c: Ctx = { req, path, name: path.slice(4, prev), ref: path.slice(last + 1) };
    const route = families[kind];
    // `/v2/` is the readiness probe (bench/proc.ts waitFor), as in the other modes.
    if (path === "/v2/") return new Response(null, { status: 200 });
    if (!route) return new Response("{}", { status: 404 });
    let i = 0;
    const next = (): Response => i < chain.length ? chain[i++](c, next) : route(c);
    return next();
  };
} else if (mode === "log-sync" || mode === "log-batched" || mode === "log-stringify") {
  const fd = openSync(`${tmpdir()}/sr-floor-${process.pid}.log`, "w");
  const sink = fdSink(fd);
  // The access line's string fields (lib/server/access_log.ts): path, client, repo, origin.
  const quote = mode === "log-stringify" ? JSON.stringify : jsonString;
  const line = (req: Request, client: string | undefined) =>
    `{"level":30,"msg":"request","method":"${req.method}","path":${
      quote(req.url)
    },"status":307,"client":${client === undefined ? "null" : quote(client)},"repo":${
      quote("bench/app")
    },"origin":${quote("nginx")}}\n`;
  fetch = mode === "log-sync"
    ? (req, srv) => {
      writeSync(fd, line(req, srv.requestIP(req)?.address));
      return redirect(req.url);
    }
    : (req, srv) => {
      sink.buffer(line(req, srv.requestIP(req)?.address));
      return redirect(req.url);
    };
} else if (mode === "bun-ip") {
  fetch = (req, srv) => {
    srv.requestIP(req);
    return redirect(req.url);
  };
} else {
  fetch = (req) => redirect(req.url);
}
Bun.serve({ hostname: "127.0.0.1", port, fetch });
console.log(`floor ${mode} listening on ${port}`);
