/**
 * @module
 * Reading the `Content-Range` of a 206 from an upstream store (S3 GetObject with Range,
 * an HTTP store): the server streams the bytes on with its own Content-Range and
 * Content-Length, so the upstream must have answered exactly the range asked for.
 */
import type { ByteRange } from "./store.ts";

/**
 * The whole object's size from `Content-Range: bytes start-end/size` answering `range`
 * (RFC 9110 §14.4); NaN when it is absent, unreadable, or for another range.
 *
 * @example
 * ```ts
 * contentRangeTotal("bytes 0-99/1000", { start: 0, end: 99 }); // 1000
 * contentRangeTotal("bytes 0-49/1000", { start: 0, end: 99 }); // NaN
 * ```
 */
export function contentRangeTotal(header: string | null | undefined, range: ByteRange): number {
  const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(header?.trim() ?? "");
  if (!m || Number(m[1]) !== range.start || Number(m[2]) !== range.end) return NaN;
  return Number(m[3]);
}
