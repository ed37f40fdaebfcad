/**
 * @module
 * An HTTP proxy on 127.0.0.1 in front of a real registry (CNCF distribution) for the sync
 * tests: it records every request (method, path, status, Range) so a test can count what
 * sync asked the upstream, and misbehaves on purpose when `fault` says so — a status
 * (429 with Retry-After, 503), a body that stops after N bytes and never sends more
 * (stall), or one that breaks the connection after N bytes (drop), or an answer of the
 * test's own (`respond`: e.g. tags/list pages, which distribution 2.8 does not page). Headers are passed
 * through both ways (Authorization, Range, Accept; Link, WWW-Authenticate, Location are
 * relative or point elsewhere, so nothing is rewritten). `close()` releases stalled bodies
 * and stops the server.
 */

export interface ProxyRequest {
  method: string;
  /** Path and query. */
  path: string;
  status: number;
  range: string | null;
}

export type ProxyFault =
  | { status: number; headers?: Record<string, string> }
  | { stallAfter: number }
  | { dropAfter: number }
  /** Answers in place of the upstream. */
  | { respond: () => Response };

export interface UpstreamProxy {
  /** `127.0.0.1:PORT` */
  readonly addr: string;
  readonly requests: ProxyRequest[];
  /** Decides a fault for a request; `n` counts the requests to this path so far (1: first). */
  fault?: (req: { method: string; path: string; n: number }) => ProxyFault | undefined;
  /** Requests whose path matches `re`. */
  count(re: RegExp): number;
  close(): Promise<void>;
}

/** Starts a proxy to `target` (`http://127.0.0.1:PORT`). */
export function startProxy(target: string): UpstreamProxy {
  const seen = new Map<string, number>();
  const stalled: ReadableStreamDefaultController<Uint8Array>[] = [];
  const proxy: UpstreamProxy = {
    addr: "",
    requests: [],
    count: (re) => proxy.requests.filter((r) => re.test(r.path)).length,
    close: async () => {
      for (const c of stalled) c.error(new Error("proxy closed"));
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const path = url.pathname + url.search;
    const n = (seen.get(path) ?? 0) + 1;
    seen.set(path, n);
    const fault = proxy.fault?.({ method: req.method, path, n });
    const rec: ProxyRequest = {
      method: req.method,
      path,
      status: 0,
      range: req.headers.get("range"),
    };
    proxy.requests.push(rec);
    if (fault && "respond" in fault) {
      const res = fault.respond();
      rec.status = res.status;
      return res;
    }
    if (fault && "status" in fault) {
      rec.status = fault.status;
      return new Response(`proxy fault ${fault.status}\n`, {
        status: fault.status,
        headers: fault.headers,
      });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${target}${path}`, {
      method: req.method,
      headers,
      redirect: "manual",
    });
    rec.status = res.status;
    if (!fault || !res.body) return res;
    const cut = "stallAfter" in fault ? fault.stallAfter : fault.dropAfter;
    const reader = res.body.getReader();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(ctl) {
        if (sent >= cut) {
          await reader.cancel();
          // Let what was sent reach the client first: erroring at once can abort the
          // response before its last chunks are flushed (seen under load), and a client
          // that got nothing retries whole instead of resuming.
          await new Promise((r) => setTimeout(r, 200));
          if ("dropAfter" in fault) ctl.error(new Error("proxy: connection dropped"));
          else stalled.push(ctl);
          return new Promise<void>(() => {}); // a stall never sends more
        }
        const { done, value } = await reader.read();
        if (done) return ctl.close();
        const part = value.subarray(0, cut - sent);
        sent += part.byteLength;
        ctl.enqueue(part);
      },
    });
    return new Response(body, { status: res.status, headers: res.headers });
  });
  (proxy as { addr: string }).addr = `127.0.0.1:${server.addr.port}`;
  return proxy;
}
