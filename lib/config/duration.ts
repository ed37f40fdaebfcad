/**
 * @module
 * Durations as people write them in config: `"500ms"`, `"10s"`, `"5m"`, `"1h"`, `"1m30s"`.
 * Pure, no I/O. The same pattern is published in docs/config.schema.json.
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
