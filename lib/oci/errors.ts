/**
 * @module
 * The one error vocabulary of static-registry. Handlers throw an {@link OciError};
 * the server renders it once as the distribution spec's error body
 * (`{"errors":[{"code","message","detail"}]}`, OCI distribution-spec §"Error Codes").
 * (Command-line mistakes are `UsageError`, lib/cli/usage.ts: they are not the server's.)
 */

/** Error codes of the OCI distribution spec, with the HTTP status each is sent with. */
export const ERROR_CODES = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  // Not in the spec's table, but used by distribution for bad `n`/`last` and ranges.
  PAGINATION_NUMBER_INVALID: 400,
  RANGE_INVALID: 416,
  // Server-side states: not ready (no index loaded yet) and internal faults.
  UNAVAILABLE: 503,
  INTERNAL: 500,
} as const;

export type OciErrorCode = keyof typeof ERROR_CODES;

/** Options of an {@link OciError}: the standard `cause`, and headers for its response. */
export interface OciErrorOptions extends ErrorOptions {
  /**
   * Response headers the error needs, sent by the one renderer with the error body:
   * `Allow` on a 405 (RFC 9110 §15.5.6), `Content-Range: bytes * /size` on a 416
   * (RFC 9110 §15.5.17).
   */
  headers?: Readonly<Record<string, string>>;
}

/** A registry error: HTTP status, spec code, human message and optional detail. */
export class OciError extends Error {
  override name = "OciError";
  readonly status: number;
  readonly code: OciErrorCode;
  readonly detail: unknown;
  /** Headers to send with the error response (see {@link OciErrorOptions}). */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(code: OciErrorCode, message: string, detail?: unknown, options?: OciErrorOptions) {
    super(message, options);
    this.code = code;
    this.status = ERROR_CODES[code];
    this.detail = detail;
    this.headers = options?.headers;
  }

  /** The spec's JSON error body. */
  toJSON(): { errors: { code: string; message: string; detail?: unknown }[] } {
    const e: { code: string; message: string; detail?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (this.detail !== undefined) e.detail = this.detail;
    return { errors: [e] };
  }
}

/** Named constructors, so call sites read like the spec. */
export const errors = {
  blobUnknown: (digest: string) =>
    new OciError("BLOB_UNKNOWN", "blob unknown to registry", { digest }),
  manifestUnknown: (reference: string) =>
    new OciError("MANIFEST_UNKNOWN", "manifest unknown", { reference }),
  nameUnknown: (name: string) =>
    new OciError("NAME_UNKNOWN", "repository name not known to registry", { name }),
  nameInvalid: (name: string, why: string) =>
    new OciError("NAME_INVALID", `invalid repository name: ${why}`, { name }),
  digestInvalid: (digest: string, why: string) =>
    new OciError("DIGEST_INVALID", `invalid digest: ${why}`, { digest }),
  manifestInvalid: (why: string, detail?: unknown) =>
    new OciError("MANIFEST_INVALID", `manifest invalid: ${why}`, detail),
  unsupported: (method: string) =>
    new OciError(
      "UNSUPPORTED",
      `${method} is not supported: this registry is read-only`,
      { method },
      { headers: { Allow: "GET, HEAD" } },
    ),
  paginationInvalid: (why: string) =>
    new OciError("PAGINATION_NUMBER_INVALID", `invalid pagination: ${why}`),
  rangeInvalid: (range: string, size: number) =>
    new OciError(
      "RANGE_INVALID",
      "requested range not satisfiable",
      { range, size },
      { headers: { "Content-Range": `bytes */${size}` } },
    ),
  unavailable: (why: string) => new OciError("UNAVAILABLE", `registry not ready: ${why}`),
  /** A listed repository whose tag index cannot be read now (lib/index/held.ts). */
  repoUnavailable: (name: string, why: string) =>
    new OciError("UNAVAILABLE", `the tag index of ${name} cannot be read now: ${why}`, { name }, {
      headers: { "Retry-After": "5" },
    }),
};
