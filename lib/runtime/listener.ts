/**
 * @module
 * A listener whose TLS certificate can be replaced while it runs, built from a runtime's
 * `bind` (lib/runtime/runtime.ts passes Bun.serve's or Deno.serve's) — no runtime API here.
 *
 * Neither runtime can change the certificate of a running server: Bun's
 * `server.reload({ tls })` swaps the handler but keeps serving the old certificate
 * (checked on Bun 1.4.4 with `openssl s_client -showcerts`), and Deno.serve has no reload.
 * So a new certificate gets a new listener on the same address, bound with SO_REUSEPORT
 * next to the old one; the old one then stops accepting (`stop()`, which lets its open
 * connections finish) and the kernel hands every new connection to the new listener.
 * Connections already open, such as a long blob download, keep the old certificate until
 * they close.
 *
 * SO_REUSEPORT would also let a second server start on a port that is already served
 * (it binds with SO_REUSEPORT too). So before the first TLS bind the port is taken once
 * WITHOUT it: that fails with EADDRINUSE exactly as a plain server would, and on port 0
 * it picks the port every later listener reuses.
 */

/** PEM texts the listener serves. */
export interface TlsPem {
  cert: string;
  key: string;
}

/** One bound socket as a runtime gives it. */
export interface Bound {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting; resolves once its open connections are done. */
  stop(): Promise<void>;
}

/** Binds `port` (0: any), with TLS when `tls` is given, sharing the port when `reusePort`. */
export type Bind = (
  port: number,
  tls: TlsPem | undefined,
  reusePort: boolean,
) => Promise<Bound>;

/** A listener: where it is, how to change its certificate, how to stop it. */
export interface Listener {
  readonly hostname: string;
  readonly port: number;
  /** Whether it speaks TLS (fixed at start: a plain listener never becomes HTTPS). */
  readonly tls: boolean;
  /** New connections get `tls`; open ones keep theirs. Throws when it cannot bind. */
  setTls(tls: TlsPem): Promise<void>;
  /** Stops accepting and resolves when every listener's connections are done. */
  shutdown(): Promise<void>;
}

/** Starts listening on `port`; with `tls`, as a listener whose certificate can be swapped. */
export async function listen(bind: Bind, port: number, tls?: TlsPem): Promise<Listener> {
  if (!tls) {
    const plain = await bind(port, undefined, false);
    return {
      hostname: plain.hostname,
      port: plain.port,
      tls: false,
      setTls: () => Promise.reject(new Error("this listener speaks plain HTTP")),
      shutdown: () => plain.stop(),
    };
  }
  const probe = await bind(port, undefined, false);
  const fixed = probe.port;
  await probe.stop();
  let current = await bind(fixed, tls, true);
  const draining = new Set<Promise<void>>();
  return {
    hostname: current.hostname,
    port: fixed,
    tls: true,
    async setTls(next) {
      const bound = await bind(fixed, next, true);
      const old = current;
      current = bound;
      const done: Promise<void> = old.stop().finally(() => draining.delete(done));
      draining.add(done);
    },
    async shutdown() {
      await Promise.all([current.stop(), ...draining]);
    },
  };
}
