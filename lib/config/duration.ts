/**
 * @module
 * Durations as people write them in config: `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"1m30s"`.
 * Pure, no I/O. The same pattern is published in docs/config.schema.json. Every duration
 * the program waits is bounded by {@link MAX_TIMER_MS}, what a timer can wait.
 *
 * @example
 * ```ts
 * parseDuration("1m30s"); // 90000
 * parseDuration("ten");   // null
 * ```
 */

/** JSON Schema `pattern` for a duration: one or more `<number><unit>` parts, unit ms|s|m|h. */
export const DURATION_PATTERN = "^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const WHOLE = new RegExp(DURATION_PATTERN);

/** Milliseconds in a duration string, or null when it is not one. */
export function parseDuration(text: string): number | null {
  if (!WHOLE.test(text)) return null;
  let ms = 0;
  for (const [, n, unit] of text.matchAll(PART)) ms += Number(n) * UNIT_MS[unit];
  return Math.round(ms);
}

/**
 * The longest delay a timer honours: 2³¹−1 ms (about 24.8 days). `setTimeout` and
 * `setInterval` take the delay as a signed 32-bit integer, and a longer one is replaced
 * by 1 ms (HTML §8.6 timers; Node, Bun and Deno alike): `health.interval: "600h"` would
 * probe every millisecond. So no duration above it is accepted, in config or flags.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Why a duration string is not one a timer can wait (null when it is one). */
export function durationProblem(text: string): string | null {
  const ms = parseDuration(text);
  if (ms === null) return null; // not a duration at all: the pattern says so
  if (ms > MAX_TIMER_MS) {
    return `must be at most ${formatDuration(MAX_TIMER_MS)} (the longest a timer can wait)`;
  }
  return null;
}

/**
 * Milliseconds as a duration string of the same grammar, largest units first.
 *
 * @example
 * ```ts
 * formatDuration(2 ** 31 - 1); // "596h31m23.647s"
 * formatDuration(1500);        // "1.5s"
 * ```
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ""}${m ? `${m}m` : ""}${s ? `${s}s` : ""}`;
}
