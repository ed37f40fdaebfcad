/**
 * @module
 * The load generator: Debian's wrk with the settings of issue 4 (2 threads, 64 connections,
 * fixed duration, `--latency`), run against one system at a time. wrk mishandles HEAD (it
 * waits for a body that never comes), so every row uses GET. A short warm-up run is made
 * and thrown away before the measured run, so JIT warm-up and page cache do not count.
 */

/** What one wrk run measured. */
export interface WrkResult {
  requestsPerSec: number;
  /** Latency percentiles in milliseconds (wrk's `--latency` distribution). */
  p50: number;
  p75: number;
  p90: number;
  p99: number;
  requests: number;
  /** Responses that were not 2xx/3xx, and socket errors (connect+read+write+timeout). */
  non2xx3xx: number;
  socketErrors: number;
  transferPerSec: string;
}

/** Load settings shared by every row of a run. */
export interface LoadSettings {
  threads: number;
  connections: number;
  /** Seconds of measured load per row. */
  durationS: number;
  /** Seconds of thrown-away load before it. */
  warmupS: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** Parses `1.23ms` / `850.00us` / `1.02s` into milliseconds. */
export function parseDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) throw new Error(`wrk: cannot parse duration "${s}"`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Parses wrk's text report (run with `--latency`). Throws naming the missing line. */
export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(out);
    if (!m) throw new Error(`wrk: no "${what}" in its output:\n${out}`);
    return m;
  };
  const pct = (p: number) =>
    parseDuration(num(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m"), `${p}% latency`)[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(num(/^Requests\/sec:\s+([\d.]+)/m, "Requests/sec")[1]),
    p50: pct(50),
    p75: pct(75),
    p90: pct(90),
    p99: pct(99),
    requests: Number(num(/^\s+(\d+) requests in/m, "requests in")[1]),
    non2xx3xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    transferPerSec: /^Transfer\/sec:\s+(\S+)/m.exec(out)?.[1] ?? "?",
  };
}

async function wrkOnce(url: string, s: LoadSettings, durationS: number, headers: string[]) {
  const args = [
    "-t",
    String(s.threads),
    "-c",
    String(s.connections),
    "-d",
    `${durationS}s`,
    "--latency",
    "--timeout",
    "5s",
    ...headers.flatMap((h) => ["-H", h]),
    url,
  ];
  const r = await new Deno.Command("wrk", { args, stdin: "null" }).output();
  const out = new TextDecoder().decode(r.stdout);
  if (r.code !== 0) {
    throw new Error(
      `wrk ${args.join(" ")} exited ${r.code}: ${new TextDecoder().decode(r.stderr)}`,
    );
  }
  return out;
}

/**
 * Warm-up run (discarded), then the measured run. Throws if any response was not 2xx/3xx or a
 * socket error happened: a benchmark of error pages would be a lie.
 */
export async function loadTest(
  url: string,
  s: LoadSettings,
  headers: string[] = [],
  during?: () => () => void,
): Promise<WrkResult> {
  if (s.warmupS > 0) await wrkOnce(url, s, s.warmupS, headers);
  const stop = during?.();
  let out: string;
  try {
    out = await wrkOnce(url, s, s.durationS, headers);
  } finally {
    stop?.();
  }
  const res = parseWrk(out);
  if (res.non2xx3xx > 0 || res.socketErrors > 0) {
    throw new Error(
      `wrk ${url}: ${res.non2xx3xx} non-2xx/3xx responses, ${res.socketErrors} socket errors\n${out}`,
    );
  }
  return res;
}
