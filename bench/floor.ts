/**
 * @module
 * Floors for the redirect row, to say which layer costs what (run with Bun, the product's
 * runtime; bench tooling, so it calls Bun.serve directly):
 *
 *   bun bench/floor.ts bun    PORT   bare Bun.serve answering every request with a 307
 *   bun bench/floor.ts bun-ip PORT   the same, plus `server.requestIP(req)` per request, as
 *                                    lib/runtime/runtime.ts does to log the client address
 *   bun bench/floor.ts hono   PORT   Hono on Bun.serve: one `app.all("*")` handler, the shape
 *                                    of lib/server/app.ts, answering the same 307
 *
 * The 307 carries the headers static-registry sends (Location, Docker-Content-Digest, the
 * API version) and no body.
 */
import { Hono } from "hono";
import process from "node:process";

const [mode, portArg] = process.argv.slice(2);
const port = Number(portArg);
if (!["bun", "bun-ip", "hono"].includes(mode) || !Number.isInteger(port)) {
  console.error("usage: bun bench/floor.ts bun|bun-ip|hono PORT");
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
let fetch: (req: Request, srv: { requestIP(r: Request): unknown }) => Response;
if (mode === "hono") {
  const app = new Hono();
  app.all("*", function serve(c) {
    return redirect(c.req.raw.url);
  });
  fetch = (req) => app.fetch(req) as Response;
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
