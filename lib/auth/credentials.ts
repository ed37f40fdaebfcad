/**
 * @module
 * The credentials of a request's `Authorization` header: Basic (RFC 7617) or Bearer
 * (RFC 6750). Parsed only; checking them is the caller's.
 */

export type Credentials =
  | { kind: "none" }
  | { kind: "basic"; user: string; password: string }
  | { kind: "bearer"; token: string }
  /** A header we cannot read: treated as wrong credentials, never as anonymous. */
  | { kind: "malformed" };

const NONE: Credentials = { kind: "none" };
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const MALFORMED: Credentials = { kind: "malformed" };

/** Reads an `Authorization` header value (null: none). Schemes are case-insensitive. */
export function parseAuthorization(header: string | null): Credentials {
  if (header === null) return NONE;
  const sp = header.indexOf(" ");
  if (sp < 0) return MALFORMED;
  const scheme = header.slice(0, sp).toLowerCase();
  const value = header.slice(sp + 1).trim();
  if (scheme === "bearer") return value === "" ? MALFORMED : { kind: "bearer", token: value };
  if (scheme !== "basic") return MALFORMED;
  let decoded: string;
  try {
    // RFC 7617 §2.1: UTF-8 is what every client sends.
    decoded = UTF8.decode(
      Uint8Array.from(atob(value), (c) => c.charCodeAt(0)),
    );
  } catch {
    return MALFORMED;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return MALFORMED;
  return { kind: "basic", user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
