/**
 * @module
 * The `Range` request header for blob streaming (RFC 9110 §14.2, §14.1.2): one range
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. A header we do not understand, or several ranges,
 * is ignored (the whole blob is sent with 200), which RFC 9110 allows; a well-formed range
 * that starts past the end is unsatisfiable (416).
 */
import type { ByteRange } from "../store/store.ts";

const SINGLE = /^bytes=(\d*)-(\d*)$/;

/** The range to send, `"unsatisfiable"`, or undefined for the whole blob. */
export function parseRange(
  header: string | null,
  size: number,
): ByteRange | "unsatisfiable" | undefined {
  if (header === null) return undefined;
  const m = SINGLE.exec(header.trim());
  if (!m) return undefined;
  const [, first, last] = m;
  if (first === "") {
    if (last === "") return undefined;
    // Suffix range: the last n bytes (RFC 9110 §14.1.2).
    const n = Number(last);
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(first);
  if (last !== "" && Number(last) < start) return undefined; // invalid range-spec: ignore it
  if (start >= size) return "unsatisfiable";
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  return { start, end };
}
