/**
 * @module
 * Runs the COMPILED product, `dist/static-registry`, the way a user does: `serve --config`
 * as a background process reached over 127.0.0.1, and one-shot subcommands (`publish`,
 * `check`, ...) with their exit status and output.
 */
import { freePort } from "./ports.ts";
import { type Daemon, run, type RunResult, spawnDaemon } from "./process.ts";

/**
 * The binary under test: `STATIC_REGISTRY_BIN` (set by scripts/test) or dist/static-registry.
 * Read when called, never at import time.
 */
export function binaryPath(): string {
  return Deno.env.get("STATIC_REGISTRY_BIN") ??
    new URL("../../dist/static-registry", import.meta.url).pathname;
}

/** Whether the binary exists (tests that need it fail with a clear message otherwise). */
export function binaryExists(bin = binaryPath()): boolean {
  try {
    return Deno.statSync(bin).isFile;
  } catch {
    return false;
  }
}

/** A running `static-registry serve`. */
export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** `127.0.0.1:PORT`, the form pull clients want. */
  readonly addr: string;
  readonly port: number;
  readonly pid: number;
  /** The config file written for it. */
  readonly configPath: string;
  logs(): string;
  /** Resolves with the exit code once the process has exited (for tests that signal it). */
  readonly exited: Promise<number>;
  /** SIGTERM by PID, SIGKILL after a timeout; removes the config's temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts `BIN serve --config <tmp>/cfg.json` and resolves once `GET /v2/` answers 200
 * (`readyPath`: another path, e.g. `/healthz` when `auth` challenges `/v2/` or a rate
 * limit must not be spent on the wait). `config.listen` defaults to a free port on 127.0.0.1.
 *
 * @example
 * ```ts
 * const reg = await startRegistry({ config: { store: storeDir } });
 * try { await fetch(`${reg.url}/v2/`); } finally { await reg.stop(); }
 * ```
 */
export async function startRegistry(opts: {
  bin?: string;
  config: Record<string, unknown>;
  timeoutMs?: number;
  readyPath?: string;
}): Promise<RunningRegistry> {
  const bin = opts.bin ?? binaryPath();
  if (!binaryExists(bin)) {
    throw new Error(`static-registry binary "${bin}" not found: run scripts/build`);
  }
  const listen = typeof opts.config.listen === "string"
    ? opts.config.listen
    : `127.0.0.1:${freePort()}`;
  const port = Number(listen.slice(listen.lastIndexOf(":") + 1));
  const host = listen.slice(0, listen.lastIndexOf(":"));
  const dir = await Deno.makeTempDir({ prefix: "sr-serve-" });
  const configPath = `${dir}/cfg.json`;
  await Deno.writeTextFile(configPath, JSON.stringify({ ...opts.config, listen }, null, 2));
  const url = `http://${host}:${port}`;
  let daemon: Daemon;
  try {
    daemon = await spawnDaemon({
      name: `static-registry serve (${url})`,
      cmd: bin,
      args: ["serve", "--config", configPath],
      timeoutMs: opts.timeoutMs ?? 10_000,
      ready: async () => {
        const res = await fetch(`${url}${opts.readyPath ?? "/v2/"}`, {
          signal: AbortSignal.timeout(1000),
        });
        await res.body?.cancel();
        return res.status === 200;
      },
    });
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
  return {
    url,
    addr: `${host}:${port}`,
    port,
    pid: daemon.pid,
    configPath,
    logs: daemon.logs,
    exited: daemon.exited,
    async stop() {
      await daemon.stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Runs the binary with `args` to completion (default bound 120 s).
 *
 * @example
 * ```ts
 * const r = await runBinary(["publish", `oci:${dir}:v1`, "demo:v1", "--to", store]);
 * assert.equal(r.code, 0, r.stderr);
 * ```
 */
export async function runBinary(
  args: string[],
  opts: { bin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RunResult> {
  const bin = opts.bin ?? binaryPath();
  if (!binaryExists(bin)) {
    throw new Error(`static-registry binary "${bin}" not found: run scripts/build`);
  }
  return await run(bin, args, { env: opts.env, timeoutMs: opts.timeoutMs });
}
