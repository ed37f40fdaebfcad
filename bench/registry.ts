/**
 * @module
 * The system under test: the compiled `dist/static-registry serve --config cfg.json`,
 * with its log in a file and its start-up timed from spawn to the first 200 on `/v2/`.
 */
import { freePort, type Proc, start, waitFor } from "./proc.ts";

export interface Registry {
  proc: Proc;
  url: string;
  /** ms from spawn to the first 200 on /v2/. */
  startupMs: number;
  stop(): Promise<void>;
}

let serial = 0;

/** Writes `config` (listen filled in) into `workDir` and starts the binary. */
export async function startRegistry(
  bin: string,
  workDir: string,
  config: Record<string, unknown>,
  /**
   * `readyPath`: what must answer 200 (`/healthz` when `auth` makes `/v2/` a 401);
   * `timeoutMs`: how long the start (the first index load) may take, 60 s by default;
   * `caPem`: `config.tls` is set, so the URL is https, verified against this CA (PEM text).
   */
  opts: { readyPath?: string; timeoutMs?: number; caPem?: string } = {},
): Promise<Registry> {
  const port = freePort();
  const n = ++serial;
  const cfg = `${workDir}/static-registry-${n}.json`;
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({ ...config, listen: `127.0.0.1:${port}` }, null, 2),
  );
  const url = `${opts.caPem ? "https" : "http"}://127.0.0.1:${port}`;
  const t0 = performance.now();
  const proc = start(
    "static-registry",
    bin,
    ["serve", "--config", cfg],
    `${workDir}/static-registry-${n}.log`,
  );
  const startupMs = await waitFor(proc, `${url}${opts.readyPath ?? "/v2/"}`, {
    t0,
    timeoutMs: opts.timeoutMs ?? 60_000,
    everyMs: 2,
    caPem: opts.caPem,
  });
  return { proc, url, startupMs, stop: () => proc.stop() };
}
