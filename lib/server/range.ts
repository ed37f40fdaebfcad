/**
 * @module
 * The `Range` request header for blob streaming (RFC 9110 §14.2, §14.1.2): one range
 * `bytes=a-b`, `bytes=a-` or `bytes=-n`. A header we do not understand, or several ranges,
 * is ignored (the whole blob is sent with 200), which RFC 9110 allows; a well-formed range
 * that starts past the end is unsatisfiable (416). {@link ifRangeHolds} is the `If-Range`
 * precondition that decides whether `Range` is looked at at all (RFC 9110 §13.1.5).
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

/**
 * Whether `Range` applies under `If-Range` (RFC 9110 §13.1.5): yes without If-Range; with
 * it, only when it is an entity-tag that matches `etag` by STRONG comparison (§8.8.3.2).
 * A weak tag (`W/"..."`) never matches, and neither does an HTTP-date: we send no
 * Last-Modified, so no date can be "an exact match" of it. When it does not hold, the
 * server MUST ignore Range and send the whole representation with 200.
 */
export function ifRangeHolds(ifRange: string | null, etag: string): boolean {
  return ifRange === null || ifRange.trim() === etag;
}
