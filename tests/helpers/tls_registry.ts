/**
 * @module
 * The COMPILED binary serving HTTPS: `serve --config DIR/cfg.json` (the config and the
 * pair live in DIR, so a test swaps the pair by rewriting the files and sending SIGHUP,
 * as a renewal tool does). Ready once it logs `listening` with an `https://` address
 * (tests/helpers/binary.ts `startRegistry` polls plain HTTP, which a TLS port never
 * answers).
 */
import { binaryExists, binaryPath } from "./binary.ts";
import { type Daemon, spawnDaemon } from "./process.ts";

export interface TlsRegistry {
  readonly port: number;
  readonly pid: number;
  readonly dir: string;
  logs(): string;
  /** SIGHUP, then waits for the reload's outcome line; resolves to that line's msg. */
  reload(): Promise<string>;
  stop(): Promise<void>;
}

/** JSON log lines of a daemon's output. */
export function logLines(logs: string): Record<string, unknown>[] {
  return logs.split("\n").flatMap((l) => {
    try {
      return l.startsWith("{") ? [JSON.parse(l)] : [];
    } catch {
      return [];
    }
  });
}

/** A free TCP port on ::1 (the kernel's pick, released again: the race is accepted). */
function freePort6(): number {
  const l = Deno.listen({ hostname: "::1", port: 0 });
  try {
    return (l.addr as Deno.NetAddr).port;
  } finally {
    l.close();
  }
}

/**
 * Starts the binary on `config` (written to DIR/cfg.json, `listen` on a free [::1] port)
 * and resolves once `GET https://[::1]:PORT/v2/` answers 200 trusting only `caPem`
 * (`readyPath`: another path, e.g. `/healthz` when `auth` challenges `/v2/`).
 */
export async function startTlsRegistry(
  dir: string,
  config: Record<string, unknown>,
  caPem: string,
  opts: { readyPath?: string } = {},
): Promise<TlsRegistry> {
  const bin = binaryPath();
  if (!binaryExists(bin)) throw new Error(`static-registry binary "${bin}" not found`);
  const cfg = `${dir}/cfg.json`;
  const port = freePort6();
  await Deno.writeTextFile(cfg, JSON.stringify({ listen: `[::1]:${port}`, ...config }, null, 2));
  const client = Deno.createHttpClient({ caCerts: [await Deno.readTextFile(caPem)] });
  let daemon: Daemon;
  try {
    daemon = await spawnDaemon({
      name: `static-registry serve (tls, ${cfg})`,
      cmd: bin,
      args: ["serve", "--config", cfg],
      timeoutMs: 15_000,
      ready: async () => {
        // Deno's fetch takes a `client` (its own CA list); lib.dom's RequestInit does not say so.
        const init = { client, signal: AbortSignal.timeout(2000) } as RequestInit;
        const res = await fetch(`https://[::1]:${port}${opts.readyPath ?? "/v2/"}`, init);
        await res.body?.cancel();
        return res.status === 200;
      },
    });
  } finally {
    client.close();
  }
  return {
    port,
    pid: daemon.pid,
    dir,
    logs: daemon.logs,
    async reload() {
      const outcomes = () =>
        logLines(daemon.logs()).filter((l) =>
          l.msg === "config reloaded" || String(l.msg).startsWith("reload failed") ||
          String(l.msg).startsWith("config reload failed")
        ).length;
      const before = outcomes();
      Deno.kill(daemon.pid, "SIGHUP");
      const deadline = Date.now() + 15_000;
      while (outcomes() === before) {
        if (Date.now() > deadline) throw new Error(`no reload outcome logged:\n${daemon.logs()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const lines = logLines(daemon.logs()).filter((l) =>
        l.msg === "config reloaded" || String(l.msg).includes("reload failed")
      );
      return String(lines[lines.length - 1].msg);
    },
    stop: () => daemon.stop(),
  };
}
