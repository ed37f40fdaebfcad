/**
 * @module
 * Duration and throughput of a finished command, for its summary line and its `--json`
 * (`duration_ms`, `mb_per_s`: decimal megabytes of bytes really moved per second of the
 * whole command, as skopeo and curl count them).
 */
import { formatDuration } from "./progress_format.ts";

/** What `--json` carries. */
export interface Timing {
  duration_ms: number;
  mb_per_s: number;
}

/** A clock started now: `stop(bytes)` gives the Timing of what ran since. */
export function stopwatch(now: () => number = () => performance.now()) {
  const t0 = now();
  return { stop: (bytes: number): Timing => timing(now() - t0, bytes) };
}

/** `bytes` moved in `ms`: the duration in whole ms, the rate in MB/s to 2 decimals. */
export function timing(ms: number, bytes: number): Timing {
  const duration_ms = Math.max(0, Math.round(ms));
  const mb_per_s = ms > 0 ? Math.round((bytes / 1e6 / (ms / 1000)) * 100) / 100 : 0;
  return { duration_ms, mb_per_s };
}

/** "in 2.3 s (12.45 MB/s)" for a summary line. */
export function describeTiming(t: Timing): string {
  return `in ${formatDuration(t.duration_ms)} (${t.mb_per_s.toFixed(2)} MB/s)`;
}
