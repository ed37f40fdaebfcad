/**
 * @module
 * `static-registry serve` for the reliability tests: like tests/helpers/binary.ts
 * `startRegistry`, but the process is kept as a {@link Daemon} (its exit status is part of
 * what the signal tests assert), its open-file limit is raised (2,000 client connections
 * are 2,000 server sockets; CI's default soft limit may be 1024), and its memory and open
 * descriptors can be sampled from /proc.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { binaryExists, binaryPath } from "../helpers/binary.ts";
import { freePort } from "../helpers/ports.ts";
import { type Daemon, spawnDaemon } from "../helpers/process.ts";
import { makeReliabilityStore, type ReliabilityStore } from "./fixture.ts";

/** A running registry process. */
export interface Served {
  url: string;
  port: number;
  pid: number;
  configPath: string;
  daemon: Daemon;
  logs(): string;
  /** Resident set size in KiB (`VmRSS` of /proc/<pid>/status). */
  rssKiB(): Promise<number>;
  /** Open file descriptors of the process (sockets included). */
  openFds(): Promise<number>;
  /** The soft open-file limit the process runs with. */
  fdLimit(): Promise<number>;
  stop(): Promise<void>;
}

/** File descriptors the server may open (raised up to the hard limit when lower). */
export const FD_LIMIT = 8192;

/**
 * Starts the compiled binary with `config` written to `<dir>/cfg.json` (`listen` defaults
 * to a free 127.0.0.1 port) and resolves once `GET /v2/` answers 200.
 */
export async function serveBinary(dir: string, config: Record<string, unknown>): Promise<Served> {
  const bin = binaryPath();
  if (!binaryExists(bin)) {
    throw new Error(`static-registry binary "${bin}" not found: run scripts/build`);
  }
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const configPath = path.join(dir, `cfg-${port}.json`);
  await fs.writeFile(configPath, JSON.stringify({ listen: `127.0.0.1:${port}`, ...config }));
  // `exec` keeps the PID: the daemon's PID is the registry's, so signals reach it directly.
  const script = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  const daemon = await spawnDaemon({
    name: `static-registry serve (${url})`,
    cmd: "bash",
    args: ["-c", script, bin, "serve", "--config", configPath],
    timeoutMs: 15_000,
    ready: async () => {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.status === 200;
    },
  });
  const proc = `/proc/${daemon.pid}`;
  return {
    url,
    port,
    pid: daemon.pid,
    configPath,
    daemon,
    logs: daemon.logs,
    async rssKiB() {
      const status = await fs.readFile(`${proc}/status`, "utf8");
      const m = status.match(/^VmRSS:\s+(\d+) kB$/m);
      if (!m) throw new Error(`no VmRSS in ${proc}/status`);
      return Number(m[1]);
    },
    async openFds() {
      return (await fs.readdir(`${proc}/fd`)).length;
    },
    async fdLimit() {
      const limits = await fs.readFile(`${proc}/limits`, "utf8");
      const m = limits.match(/^Max open files\s+(\d+|unlimited)/m);
      return !m || m[1] === "unlimited" ? Infinity : Number(m[1]);
    },
    stop: () => daemon.stop(),
  };
}

/** Whether the process with `pid` still exists (and is not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** Percentile `p` (0..100) of `xs` (nearest rank). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/**
 * Runs `fn` against the binary serving a fresh {@link makeReliabilityStore} (log level
 * warn), then stops the binary and removes the store, whether `fn` passed or not.
 */
export async function withServedStore(
  fn: (reg: Served, s: ReliabilityStore) => Promise<void>,
): Promise<void> {
  const s = await makeReliabilityStore();
  try {
    const reg = await serveBinary(s.tmp, { store: s.store, log: { level: "warn" } });
    try {
      await fn(reg, s);
    } finally {
      await reg.stop();
    }
  } finally {
    await s.cleanup();
  }
}
