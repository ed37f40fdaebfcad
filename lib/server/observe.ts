/**
 * @module
 * The outermost middleware: it times every request and, once the response is known,
 * adds it to the request figures (lib/server/request_figures.ts, for `/metrics`) and
 * writes its access line (lib/server/access_log.ts). Being outermost, it sees the status
 * that is sent, whatever an inner layer (auth, rate limit) or the route answered or threw.
 *
 * `bytes` is the length of the body sent. A blob the server streams itself (no origins,
 * a `stream` routing rule, the fallback: lib/server/blobs.ts) is counted as it goes and
 * recorded when its body ends — or fails, or the client goes away, with the bytes sent so
 * far — so its `ms` is the whole transfer. Every other response is recorded when it is
 * handed to the runtime (its body is in memory: `bytes` is its `Content-Length`, 0 for
 * HEAD, 304 and redirects; `ms` is the time to the headers).
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
    if (c.req.method === "HEAD" || res.body === null) {
      done(c, res.status, 0, start);
      return res;
    }
    if (c.family === "blobs" && res.status < 300) {
      return new Response(counted(res.body, (n) => done(c, res.status, n, start)), res);
    }
    const length = res.headers.get("content-length");
    done(c, res.status, length === null ? 0 : Number(length), start);
    return res;
  }

  return function observed(c, next) {
    const start = performance.now();
    const res = next();
    if (res instanceof Promise) return res.then((r) => finish(c, r, start));
    return finish(c, res, start);
  };
}

/** `body`, calling `end(bytes)` once: at its end, on an error, or when the reader cancels. */
function counted(
  body: ReadableStream<Uint8Array>,
  end: (bytes: number) => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let bytes = 0;
  let ended = false;
  const once = () => {
    if (!ended) {
      ended = true;
      end(bytes);
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          once();
          controller.close();
          return;
        }
        bytes += value.byteLength;
        controller.enqueue(value);
      } catch (e) {
        once();
        controller.error(e);
      }
    },
    cancel(reason) {
      once();
      return reader.cancel(reason);
    },
  });
}
