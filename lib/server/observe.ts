/**
 * @module
 * The outermost middleware: measures each request once — status, body bytes, time until
 * the response's head was ready — and hands the figures to `/metrics`
 * (lib/server/request_figures.ts) and, when it is on, to the access log
 * (lib/server/access_log.ts). Outermost, so it sees the status that is sent whatever
 * answered: a route, auth's 401, the rate limit's 429, a rendered error
 * (lib/server/middleware.ts guards every layer).
 *
 * Bytes: a HEAD sends none (lib/server/app.ts drops the body after the chain); otherwise the
 * Content-Length when the response has one — blob bodies, manifests and JSON documents all
 * do — and only a body without one is wrapped in a counting stream, its line written when
 * the stream ends or the client goes away, with the bytes that were sent. The header is
 * read before the body: on Bun, touching `Response.body` of a file-backed response turns
 * it into a stream and loses sendfile(2).
 */
import type { AccessLog } from "./access_log.ts";
import type { Middleware, RequestContext } from "./context.ts";
import type { RequestFigures } from "./request_figures.ts";

/** Builds the middleware over the app's figures and, when on, its access log. */
export function observeRequests(figures: RequestFigures, access?: AccessLog): Middleware {
  function done(c: RequestContext, res: Response, started: number): Response {
    const ms = performance.now() - started;
    figures.record(c.family, c.req.method, res.status, ms / 1000);
    const length = c.req.method === "HEAD" ? "0" : res.headers.get("content-length");
    if (length !== null || res.body === null) {
      const bytes = length === null ? 0 : Number(length);
      figures.sent(c.family, bytes);
      access?.write(c, res.status, bytes, ms);
      return res;
    }
    return new Response(
      counted(res.body, (bytes) => {
        figures.sent(c.family, bytes);
        access?.write(c, res.status, bytes, ms);
      }),
      res,
    );
  }

  return function observe(c, next) {
    const started = performance.now();
    const res = next();
    // No closure on the synchronous path (the 307): this runs on every request.
    if (res instanceof Promise) return res.then((r) => done(c, r, started));
    return done(c, res, started);
  };
}

/**
 * `body`, passed through chunk by chunk, calling `end(bytes)` once with the bytes handed
 * on: when it ends, fails, or is cancelled (the client went away).
 */
export function counted(
  body: ReadableStream<Uint8Array>,
  end: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const finish = () => {
    if (!ended) {
      ended = true;
      end(bytes);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        finish();
        throw e;
      }
      if (r.done) {
        ctl.close();
        finish();
        return;
      }
      bytes += r.value.byteLength;
      ctl.enqueue(r.value);
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
