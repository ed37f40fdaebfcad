/**
 * @module
 * Secrets out of text that leaves the process: the one rule for `/readyz`, `/metrics`,
 * log lines, error messages and `check` output. Pure (no I/O), idempotent.
 *
 * What is hidden (each replaced by `***`):
 * - the user-info of an http(s) URL (RFC 3986 §3.2.1: `http://user:pass@host/`; the RFC
 *   itself deprecates passwords there, yet HTTP stores are configured that way);
 * - the value of a query parameter that signs or carries credentials: AWS SigV4 presigned
 *   URLs (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`), SigV2 and CDN
 *   signed URLs (`Signature`, `AWSAccessKeyId`, `Key-Pair-Id`, `Policy`), Azure SAS (`sig`),
 *   GCS (`X-Goog-Signature`, `X-Goog-Credential`), and generic `token`/`access_token`;
 * - the credentials of an `Authorization: Basic|Bearer …` header quoted in a message.
 *
 * ```ts
 * redact("GET http://u:s3cr3t@cdn/x?X-Amz-Signature=ab&v=1: HTTP 500");
 * // "GET http://***@cdn/x?X-Amz-Signature=***&v=1: HTTP 500"
 * ```
 */

/** Query parameters whose values are secrets (compared case-insensitively). */
export const SECRET_PARAMS: readonly string[] = Object.freeze([
  "X-Amz-Signature",
  "X-Amz-Credential",
  "X-Amz-Security-Token",
  "X-Goog-Signature",
  "X-Goog-Credential",
  "Signature",
  "AWSAccessKeyId",
  "Key-Pair-Id",
  "Policy",
  "sig",
  "token",
  "access_token",
]);

// User-info stops at the first "/", "?", "#" or "@" (RFC 3986 §3.2: the authority ends at
// the next "/", "?" or "#"), so `https://host/repo@sha256:…` keeps its path intact.
const USER_INFO = /\b(https?:\/\/)[^\s/?#@"'<>\\]+@/gi;
const escaped = SECRET_PARAMS.map((p) => p.replace(/[-]/g, "\\-")).join("|");
const PARAMS = new RegExp(`([?&;](?:${escaped})=)[^&#\\s"'<>\\\\]*`, "gi");
const AUTHORIZATION = /(authorization["']?\s*[:=]\s*["']?)(basic|bearer)\s+[^\s"',;}]+/gi;

/** `text` with every secret this module knows replaced by `***`. */
export function redact(text: string): string {
  // A fast path: most log lines and messages hold no URL and no header at all.
  if (!text.includes("://") && !/[?&;=]|authorization/i.test(text)) return text;
  return text
    .replace(USER_INFO, "$1***@")
    .replace(PARAMS, "$1***")
    .replace(AUTHORIZATION, "$1$2 ***");
}

/** A URL as it may be shown: user-info and secret query values replaced by `***`. */
export function redactUrl(url: string | URL): string {
  return redact(String(url));
}

/**
 * A JSON-like value with every string in it redacted (keys too: a URL can be a key), for
 * whole reports such as `check --json`. Other values are returned as they are.
 */
export function redactDeep<T>(value: T): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactDeep) as T;
  if (value !== null && typeof value === "object" && !(value instanceof Uint8Array)) {
    // No prototype: a key "__proto__" from input stays a key, not the object's prototype.
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) out[redact(k)] = redactDeep(v);
    return out as T;
  }
  return value;
}
