/**
 * @module
 * Misbehaving servers for the fault tests (store_faults_test.ts), all on 127.0.0.1 and
 * stopped by the test:
 * - {@link startFlakyOrigin}: an origin serving a store directory that can be switched, at
 *   run time, to answer 503 for everything or to hang (accept the request, never answer);
 * - {@link startForwarder}: a TCP forwarder on a port chosen in advance, so a store that
 *   was unreachable when the registry started "appears" later on the same address.
 */

/** How the flaky origin answers. */
export type FlakyMode = "ok" | "5xx" | "hang";

/** A running flaky origin. */
export interface FlakyOrigin {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  mode: FlakyMode;
  /** Requests received, by the mode they met. */
  readonly requests: Record<FlakyMode, number>;
  /** Releases hanging requests and stops the server. */
  close(): Promise<void>;
}

/** Starts an origin serving files under `root` (GET/HEAD) in mode `ok`. */
export function startFlakyOrigin(root: string): FlakyOrigin {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const requests: Record<FlakyMode, number> = { ok: 0, "5xx": 0, hang: 0 };
  const state = { mode: "ok" as FlakyMode };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const mode = state.mode;
      requests[mode]++;
      if (mode === "hang") {
        // Never answers while the test runs; close() lets it finish.
        await released;
        return new Response(null, { status: 503 });
      }
      if (mode === "5xx") return new Response("origin broken\n", { status: 503 });
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response(null, { status: 400 });
      try {
        const bytes = await Deno.readFile(`${root}${path}`);
        return new Response(req.method === "HEAD" ? null : bytes, {
          status: 200,
          headers: { "Content-Length": String(bytes.byteLength) },
        });
      } catch {
        return new Response(null, { status: 404 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    get mode() {
      return state.mode;
    },
    set mode(m: FlakyMode) {
      state.mode = m;
    },
    requests,
    async close() {
      release();
      await server.shutdown();
    },
  };
}

/** A TCP forwarder from `127.0.0.1:port` to `127.0.0.1:targetPort`. */
export interface Forwarder {
  close(): void;
}

/** Listens on `port` (which must be free) and pipes every connection to `targetPort`. */
export function startForwarder(port: number, targetPort: number): Forwarder {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const conns = new Set<Deno.Conn>();
  const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
    try {
      await from.readable.pipeTo(to.writable);
    } catch { /* the other side closed */ }
  };
  (async () => {
    try {
      for await (const inbound of listener) {
        conns.add(inbound);
        Deno.connect({ hostname: "127.0.0.1", port: targetPort }).then((outbound) => {
          conns.add(outbound);
          pipe(inbound, outbound);
          pipe(outbound, inbound);
        }, () => inbound.close());
      }
    } catch { /* listener closed */ }
  })();
  return {
    close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
    },
  };
}
