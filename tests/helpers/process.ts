/**
 * @module
 * Background processes for tests (our registry, docker-registry, containerd, dockerd):
 * spawned with their output captured, waited for until they answer, and stopped by PID —
 * SIGTERM, then SIGKILL after a grace period. Never by name.
 */

/** A started background process. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  /** Everything the process wrote to stdout and stderr so far (the last ~1 MiB). */
  logs(): string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number>;
  /** SIGTERM by PID, wait `graceMs`, then SIGKILL. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

/** How to start a daemon and how to know it is ready. */
export interface SpawnOptions {
  /** Shown in errors: "containerd did not become ready in 15000 ms". */
  name: string;
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Polled until it resolves true (errors count as "not yet"). */
  ready: () => Promise<boolean>;
  /** How long to wait for `ready`; default 15 s. */
  timeoutMs?: number;
}

const LOG_LIMIT = 1 << 20;

/** Spawns a process and resolves once `ready()` says so; throws with its output if it dies or times out. */
export async function spawnDaemon(opts: SpawnOptions): Promise<Daemon> {
  const child = new Deno.Command(opts.cmd, {
    args: opts.args,
    env: opts.env,
    cwd: opts.cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  const append = (s: string) => {
    out += s;
    if (out.length > LOG_LIMIT) out = out.slice(out.length - LOG_LIMIT);
  };
  // Both pipes must be drained continuously or a chatty daemon blocks on a full pipe.
  const drains = [child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) append(chunk);
  });
  let done = false;
  const exited = child.status.then(async (s) => {
    done = true;
    await Promise.allSettled(drains);
    return s.code;
  });
  const daemon: Daemon = {
    name: opts.name,
    pid: child.pid,
    logs: () => out,
    exited,
    async stop(graceMs = 5000) {
      if (done) return void await exited;
      signal(child.pid, "SIGTERM");
      let timerId: ReturnType<typeof setTimeout> | undefined;
      const timer = new Promise<"timeout">((r) =>
        timerId = setTimeout(() => r("timeout"), graceMs)
      );
      const result = await Promise.race([exited, timer]);
      clearTimeout(timerId);
      if (result === "timeout") {
        signal(child.pid, "SIGKILL");
        await exited;
      }
    },
  };
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (done) {
      const code = await exited;
      throw new Error(`${opts.name} exited with status ${code} before it was ready:\n${tail(out)}`);
    }
    if (await opts.ready().catch(() => false)) return daemon;
    if (Date.now() > deadline) {
      await daemon.stop(2000);
      throw new Error(`${opts.name} did not become ready in ${timeoutMs} ms:\n${tail(out)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function signal(pid: number, sig: Deno.Signal) {
  try {
    Deno.kill(pid, sig);
  } catch (e) {
    // Already gone: nothing to stop.
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** The last lines of a log, for error messages. */
export function tail(text: string, lines = 30): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Result of a finished command. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (bounded by `timeoutMs`, default 120 s), capturing output. */
export async function run(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const ac = new AbortController();
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const r = await new Deno.Command(cmd, {
      args,
      env: opts.env,
      cwd: opts.cwd,
      stdin: "null",
      signal: ac.signal,
    }).output();
    const dec = new TextDecoder();
    const res = { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
    if (ac.signal.aborted) {
      throw new Error(
        `${cmd} ${args.join(" ")}: killed after ${timeoutMs} ms\n${tail(res.stderr)}`,
      );
    }
    return res;
  } finally {
    clearTimeout(timer);
  }
}

/** Like `run`, but throws (with the command line and its stderr) when the exit status is not 0. */
export async function runOk(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with status ${r.code}:\n${tail(r.stderr || r.stdout)}`,
    );
  }
  return r;
}
