/**
 * @module
 * The runtime seam: the only file that touches `Deno.*` or `Bun.*`. Tests run on Deno;
 * the product binary is `deno compile`d, or `bun build --compile`d where denort cannot be
 * had. Everything else uses web standards and `node:` built-ins, which both provide.
 */
import type * as NodeFs from "node:fs";
import type * as NodeStream from "node:stream";
import { type Bind, listen, type TlsPem } from "./listener.ts";

export type { TlsPem } from "./listener.ts";

/**
 * What the listener calls per request. `client()` asks the runtime for the client's
 * address: a call, not a value, because Bun's `server.requestIP()` is the dearest step of
 * a 307 when nothing reads it (bench/floor.ts `bun-ip`); the app calls it only on demand.
 * It cannot be cached (Bun 1.4.4, checked): each call is a getpeername(2) (strace: one
 * per call, about 5 µs on this CI's VM, where a syscall is dear), Bun.serve gives the
 * handler no per-connection object to keep the answer on, and after the response it
 * answers `null`, so it cannot be put off the response's path either. Deno.serve hands
 * the address over with the request (`info.remoteAddr`, from accept), at no cost.
 */
export type FetchHandler = (
  req: Request,
  client: () => string | undefined,
) => Response | Promise<Response>;

export interface ServeOptions {
  hostname: string;
  port: number;
  /**
   * Seconds a keep-alive connection may stay idle. Clients trickling a request head are
   * closed by Bun itself about 10 s after connecting, whatever this says (measured in
   * tests/reliability/slow_clients_test.ts).
   */
  idleTimeoutSeconds?: number;
  /** Speak HTTPS (TLS 1.2+) with this pair. */
  tls?: TlsPem;
}

export interface RunningServer {
  readonly hostname: string;
  readonly port: number;
  /** Whether it speaks HTTPS. */
  readonly tls: boolean;
  /** HTTPS only: new connections get this pair, open ones keep theirs. */
  setTls(tls: TlsPem): Promise<void>;
  /** Stops accepting connections and resolves when in-flight requests are done. */
  shutdown(): Promise<void>;
}

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

/** Why a bind fails, by errno code (the runtimes' own messages name no address). */
const BIND_REASONS: Record<string, string> = {
  EADDRINUSE: "the port is already in use (another process listens there)",
  EADDRNOTAVAIL: "no network interface of this machine has that address",
  EACCES: "permission denied (ports below 1024 need privileges)",
  EPERM: "permission denied",
  AddrInUse: "the port is already in use (another process listens there)",
  AddrNotAvailable: "no network interface of this machine has that address",
  PermissionDenied: "permission denied (ports below 1024 need privileges)",
};

/**
 * The address could not be bound. The message names it and says why (issue 9): the
 * runtimes' own errors do not (`EADDRNOTAVAIL: address not available, listen`).
 */
export class ListenError extends Error {
  override name = "ListenError";
  /** The errno-style code (`EADDRINUSE`), when the runtime gave one. */
  readonly code: string | undefined;
  constructor(hostname: string, port: number, cause: unknown) {
    const c = cause as { code?: string; name?: string; message?: string };
    const code = c?.code ?? c?.name;
    const host = hostname.includes(":") ? `[${hostname}]` : hostname;
    const why = (code && BIND_REASONS[code]) ?? c?.message ?? String(cause);
    super(`cannot listen on ${host}:${port}: ${why}`, { cause });
    this.code = c?.code;
  }
}

/** Which runtime runs this code. */
export const runtimeName: "bun" | "deno" | "other" = g.Bun ? "bun" : g.Deno ? "deno" : "other";

/**
 * Starts an HTTP server, or an HTTPS one with `opts.tls` (lib/runtime/listener.ts swaps its
 * certificate with `setTls`). Resolves once it is listening; a bind failure is a
 * {@link ListenError}.
 */
export async function serve(handler: FetchHandler, opts: ServeOptions): Promise<RunningServer> {
  const bind = runtimeName === "bun"
    ? bunBind(handler, opts)
    : runtimeName === "deno"
    ? denoBind(handler, opts)
    : undefined;
  if (!bind) throw new Error("static-registry needs Deno or Bun to serve HTTP");
  let l: Awaited<ReturnType<typeof listen>>;
  try {
    l = await listen(bind, opts.port, opts.tls);
  } catch (e) {
    throw new ListenError(opts.hostname, opts.port, e);
  }
  return {
    hostname: l.hostname,
    port: l.port,
    tls: l.tls,
    setTls: l.setTls,
    shutdown: l.shutdown,
  };
}

/** TLS 1.2 (0x0303): Bun takes the protocol version number, not the "TLSv1.2" name. */
const TLS_1_2 = 0x0303;

function bunBind(handler: FetchHandler, opts: ServeOptions): Bind {
  return (port, tls, reusePort) => {
    const server = g.Bun.serve({
      hostname: opts.hostname,
      port,
      reusePort,
      ...(tls ? { tls: { cert: tls.cert, key: tls.key, minVersion: TLS_1_2 } } : {}),
      idleTimeout: opts.idleTimeoutSeconds ?? 30,
      // Bun buffers bodies by default above this; we only ever read small requests.
      maxRequestBodySize: 1024 * 1024,
      fetch: (req: Request, srv: { requestIP(r: Request): { address: string } | null }) =>
        handler(req, () => srv.requestIP(req)?.address),
    });
    return Promise.resolve({
      hostname: server.hostname,
      port: server.port,
      stop: () => drainBun(server),
    });
  };
}

/**
 * Stops a Bun server gracefully: no new connections, every in-flight request finishes,
 * then the connections left (idle keep-alive ones) are closed. Bun 1.4.4's `stop(false)`
 * alone waits for a client's idle keep-alive connection until `idleTimeout` (30 s) and
 * `closeIdleConnections()` does not close it (seen with Deno's fetch as the client: a
 * SIGTERM drain outlived a 10 s stop grace), so `stop(true)` once nothing is pending.
 */
async function drainBun(
  server: { stop(abrupt: boolean): Promise<void>; readonly pendingRequests: number },
): Promise<void> {
  const done = server.stop(false);
  while (server.pendingRequests > 0) await new Promise((r) => setTimeout(r, 20));
  // A request stops being pending once its body is handed to Bun, not once it is sent: over
  // TLS, a slow client's last megabytes are still in Bun's buffer, and stop(true) then
  // resets the connection (bare Bun.serve, a 16 MB file to curl --limit-rate 2M: reset at
  // 11.8 MB in 1 of 4 runs; a SIGHUP certificate swap's drain failed tls_reload_test so).
  // So the graceful stop gets DRAIN_GRACE_MS more to end on its own before it is forced.
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([done, new Promise((r) => timer = setTimeout(r, DRAIN_GRACE_MS))]);
  clearTimeout(timer);
  await Promise.all([done, server.stop(true)]);
}

/**
 * How long a drain waits for sends still buffered once no request is pending (ms). Short,
 * because stop(false) also waits on idle keep-alive connections (see above), and a SIGTERM
 * must still end well within a service manager's stop timeout: a client slower than its
 * buffered tail over this time is still reset (a SIGHUP's old listener included).
 */
const DRAIN_GRACE_MS = 2_000;

/** Deno (the test runtime): rustls speaks TLS 1.2 and 1.3 only. */
function denoBind(handler: FetchHandler, opts: ServeOptions): Bind {
  return (port, tls, reusePort) =>
    new Promise((resolve) => {
      const server = g.Deno.serve(
        {
          hostname: opts.hostname,
          port,
          reusePort,
          ...(tls ? { cert: tls.cert, key: tls.key } : {}),
          onListen: (addr: { hostname: string; port: number }) =>
            resolve({
              hostname: addr.hostname,
              port: addr.port,
              stop: () => server.shutdown(),
            }),
        },
        (req: Request, info: { remoteAddr: { hostname: string } }) =>
          handler(req, () => info.remoteAddr?.hostname),
      );
    });
}

/**
 * A response body for (a byte range of) a file. On Bun a lazy file Blob: Bun then sends it
 * with sendfile(2) and a Content-Length (Bun drops Content-Length on stream bodies and
 * answers chunked, which clients accept but cannot show progress for). Elsewhere a stream.
 * `range` is inclusive, like HTTP's.
 */
export function fileBody(
  path: string,
  range?: { start: number; end: number },
): ReadableStream<Uint8Array> | Blob {
  if (runtimeName === "bun") {
    const file = g.Bun.file(path) as Blob;
    return range ? file.slice(range.start, range.end + 1) : file;
  }
  // Fetched here, not imported: every command loads this file, and on Bun evaluating
  // node:fs and node:stream costs about 20 ms of a start (issue 13) for a path Bun never takes.
  const { createReadStream } = g.process.getBuiltinModule("node:fs") as typeof NodeFs;
  const { Readable } = g.process.getBuiltinModule("node:stream") as typeof NodeStream;
  const stream = createReadStream(path, range ? { ...range } : {});
  return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
}

/**
 * Writes `res`'s body over file `path`, natively: on Bun,
 * `Bun.write(file, response)` moves the bytes from its HTTP thread to the file without a
 * JavaScript call per chunk. Measured on `publish docker://` of a 100 MB image (issue 13;
 * bench/publish_docker_ab.ts, 6 blobs in flight): 1.9 s of CPU for fetch's reader loop
 * plus writev, 0.4 s for Bun.write, hashing the file afterwards another 0.08 s. Rejects
 * when the body fails (a drop, an abort of the request's signal). Not for appending: into
 * an fd opened for append, Bun 1.4.4 sometimes wrote part of the body twice. Undefined
 * where the runtime has no such write (Deno): the caller streams the body itself.
 */
export const nativeBodyToFile:
  | ((res: Response, path: string) => Promise<void>)
  | undefined = g.Bun
    ? async (res, path) => {
      const { openSync, closeSync } = g.process.getBuiltinModule("node:fs") as typeof NodeFs;
      const fd = openSync(path, "w");
      try {
        await g.Bun.write(g.Bun.file(fd), res);
      } finally {
        closeSync(fd);
      }
    }
    : undefined;

/**
 * A native incremental hash for `algorithm`: on Bun `Bun.CryptoHasher`, where node:crypto's
 * `createHash` costs about three times the CPU (measured, issue 13: the 105 MB of the
 * bench image read in 1 MiB chunks hashed in 0.23–0.29 s of CPU with createHash, 0.08–0.09
 * s with CryptoHasher, on the main thread of a `publish docker://`). Undefined elsewhere
 * (Deno: node:crypto is its native hash).
 */
export const nativeHasher:
  | ((
    algorithm: "sha256" | "sha512",
  ) => { update(b: Uint8Array): unknown; digest(e: "hex"): string })
  | undefined = g.Bun ? (algorithm) => new g.Bun.CryptoHasher(algorithm) : undefined;

/** Runs `fn` on a POSIX signal (SIGHUP: reload, SIGTERM/SIGINT: drain and exit). */
export function onSignal(signal: "SIGHUP" | "SIGTERM" | "SIGINT", fn: () => void): void {
  if (runtimeName === "deno") g.Deno.addSignalListener(signal, fn);
  else g.process.on(signal, fn);
}

/** Command-line arguments after the program (and script) name. */
export function args(): string[] {
  if (runtimeName === "deno") return [...g.Deno.args];
  return g.process.argv.slice(2);
}

export function exit(code: number): never {
  if (runtimeName === "deno") g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}

/**
 * Runs `fn` on each SIGINT/SIGTERM until the returned function removes it. While one is
 * registered the runtime no longer exits on that signal by itself (publish uses this to
 * clean up before exiting 130/143).
 */
export function listenSignal(signal: "SIGTERM" | "SIGINT", fn: () => void): () => void {
  if (runtimeName === "deno") {
    g.Deno.addSignalListener(signal, fn);
    return () => g.Deno.removeSignalListener(signal, fn);
  }
  g.process.on(signal, fn);
  return () => g.process.off(signal, fn);
}

/**
 * Asks for a garbage collection, without waiting for it where the runtime can (Bun:
 * `Bun.gc(false)`); a no-op where there is no API (Deno without `--expose-gc`). For a
 * burst of short-lived allocations the collector would otherwise let the heap grow over
 * (lib/index/held.ts: tag indexes read and evicted on demand).
 */
export function collectGarbage(): void {
  g.Bun?.gc(false);
}
