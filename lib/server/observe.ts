/**
 * @module
 * The outermost middleware: it times every request and, once the response is known,
 * adds it to the request figures (lib/server/request_figures.ts, for `/metrics`) and
 * writes its access line (lib/server/access_log.ts). Being outermost, it sees the status
 * that is sent, whatever an inner layer (auth, rate limit) or the route answered or threw.
 *
 * `bytes` is the length of the body sent. A blob piped from an S3 or HTTP store
 * (lib/server/blobs.ts sets `c.piped`) is recorded when its body ends — or fails, or the
 * client goes away, with the bytes sent so far — so its `ms` is the whole transfer. Every
 * other response is recorded when it is handed to the runtime: `bytes` is its
 * `Content-Length` (0 for HEAD, 304 and redirects), `ms` the time to the headers. That
 * includes blobs from a directory store: a file body is sent by the runtime itself
 * (sendfile, with its length), and wrapping it to count would cost that.
 */
import { type AccessLog, logRequest } from "./access_log.ts";
import type { Middleware, RequestContext } from "./context.ts";
import type { RequestFigures } from "./request_figures.ts";

/** The middleware; `access` absent: no access log (`log.access: false`), figures only. */
export function observe(figures: RequestFigures, access?: AccessLog): Middleware {
  function done(c: RequestContext, status: number, bytes: number, start: number): void {
    const ms = performance.now() - start;
    figures.record(c.family, c.req.method, status, ms / 1000, bytes);
    if (access !== undefined) logRequest(access, c, status, bytes, ms);
  }

  function finish(c: RequestContext, res: Response, start: number): Response {
    // A length the route gave (RequestContext.length) spares reading `res.body`, which
    // costs Bun a ReadableStream. It is the status the route answered with that it
    // describes: a layer outside the route that answered instead (auth's 401) sets none.
    const length = c.length;
    if (length !== undefined && c.req.method !== "HEAD") {
      done(c, res.status, length, start);
      return res;
    }
    if (c.req.method === "HEAD" || res.body === null) {
      done(c, res.status, 0, start);
      return res;
    }
    const piped = c.piped;
    if (piped !== undefined) {
      void piped.ended.then(() => done(c, res.status, piped.bytes, start));
      return res;
    }
    const header = res.headers.get("content-length");
    done(c, res.status, header === null ? 0 : Number(header), start);
    return res;
  }

  return function observed(c, next) {
    const start = performance.now();
    const res = next();
    if (res instanceof Promise) return res.then((r) => finish(c, r, start));
    return finish(c, res, start);
  };
}
