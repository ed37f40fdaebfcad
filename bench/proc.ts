/**
 * @module
 * Processes under test: started with their output going to a log FILE (not a pipe the
 * harness must drain, which would cost CPU while the server is under load), waited for
 * until a URL answers, stopped by PID (SIGTERM, then SIGKILL). Never by name.
 * Also: RSS from /proc/<pid>/status and free ports.
 */

/** A process started by the bench. */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly log: string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number>;
  stop(graceMs?: number): Promise<void>;
}

/**
 * CPU seconds the whole machine has spent busy since boot (/proc/stat: user, nice, system,
 * irq, softirq, steal): the difference over an interval is what every process on it used,
 * the s3rver and the publishers of a contention round alike.
 */
export function machineCpuSeconds(): number {
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1)
    .map(Number);
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100; // USER_HZ is 100 on Linux
}

/** A free TCP port on 127.0.0.1 (the kernel picks; the small race is accepted). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    return (l.addr as Deno.NetAddr).port;
  } finally {
    l.close();
  }
}

/** Starts `cmd args…` with stdout+stderr appended to `log`; `exec` keeps the PID ours. */
export function start(
  name: string,
  cmd: string,
  args: string[],
  log: string,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Proc {
  const child = new Deno.Command("sh", {
    args: ["-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "sh", log, cmd, ...args],
    cwd: opts.cwd,
    env: opts.env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let done = false;
  const exited = child.status.then((s) => {
    done = true;
    return s.code;
  });
  return {
    name,
    pid: child.pid,
    log,
    exited,
    async stop(graceMs = 5000) {
      if (done) return void await exited;
      kill(child.pid, "SIGTERM");
      const t = setTimeout(() => kill(child.pid, "SIGKILL"), graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

function kill(pid: number, sig: Deno.Signal) {
  try {
    Deno.kill(pid, sig);
  } catch { /* already gone */ }
}

/** Last lines of a log file, for error messages. */
export async function tailLog(file: string, lines = 20): Promise<string> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/**
 * Polls `url` every `everyMs` until it answers `status` (default 200); returns the ms from
 * `t0` (a performance.now() value) to that answer. Throws if the process dies or time runs out.
 */
export async function waitFor(
  p: Proc,
  url: string,
  opts: {
    t0?: number;
    timeoutMs?: number;
    everyMs?: number;
    status?: number;
    /** PEM text of the only CA an https `url` is verified against. */
    caPem?: string;
  } = {},
): Promise<number> {
  const t0 = opts.t0 ?? performance.now();
  const deadline = t0 + (opts.timeoutMs ?? 30_000);
  let dead = false;
  p.exited.then(() => dead = true);
  const client = opts.caPem ? Deno.createHttpClient({ caCerts: [opts.caPem] }) : undefined;
  try {
    while (true) {
      try {
        const init = { client, signal: AbortSignal.timeout(2000) } as RequestInit;
        const res = await fetch(url, init);
        await res.body?.cancel();
        if (res.status === (opts.status ?? 200)) return performance.now() - t0;
      } catch { /* not listening yet */ }
      if (dead) {
        throw new Error(`${p.name} exited before ${url} answered:\n${await tailLog(p.log)}`);
      }
      if (performance.now() > deadline) {
        await p.stop(1000);
        throw new Error(`${p.name}: ${url} did not answer in time:\n${await tailLog(p.log)}`);
      }
      await new Promise((r) => setTimeout(r, opts.everyMs ?? 5));
    }
  } finally {
    client?.close();
  }
}

/** Resident set size of a process in MB (VmRSS from /proc/<pid>/status). */
export function rssMB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Samples RSS every `everyMs` until the returned function is called; `peak()` is the max. */
export function sampleRss(pid: number, everyMs = 100): { stop: () => void; peak: () => number } {
  let peak = 0;
  const tick = () => {
    try {
      peak = Math.max(peak, rssMB(pid));
    } catch { /* exited */ }
  };
  tick();
  const id = setInterval(tick, everyMs);
  return { stop: () => clearInterval(id), peak: () => peak };
}

/** Runs a command to completion; throws with its output when it fails. */
export async function runOk(cmd: string, args: string[], env?: Record<string, string>) {
  const r = await new Deno.Command(cmd, { args, env, stdin: "null" }).output();
  const dec = new TextDecoder();
  const out = { stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${out.stderr || out.stdout}`);
  }
  return out;
}
