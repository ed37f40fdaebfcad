/**
 * @module
 * The HTTP store: the static layout read from any HTTP(S) base URL that serves its files
 * (a CDN, nginx, a public bucket URL, Swift's `/v1/AUTH_<account>/<container>`). Read-only:
 * it is how the server loads and refreshes its index from a static host.
 *
 * Conditional reads use `If-None-Match` (RFC 9110 §13.1.2): a 304 means the document did
 * not change, so a refresh costs one small round trip.
 */
import { redact, redactUrl } from "../oci/redact.ts";
import { userAgent } from "../version.ts";
import { baseUrl } from "./base_url.ts";
import { checkKey } from "./dir.ts";
import { contentRangeTotal } from "./content_range.ts";
import type { ByteRange, ObjectMeta, ReadResult, StreamStore } from "./store.ts";

export interface HttpStoreOptions {
  /** Per-request timeout (ms), headers and body included. Default 10 s. */
  timeoutMs?: number;
  /** The fetch to use (tests inject one). Default: the global fetch. */
  fetch?: typeof fetch;
  /**
   * Extra request headers (for example an Authorization for a private mirror). Every
   * request also says `User-Agent: static-registry/<version>` (lib/version.ts).
   */
  headers?: Record<string, string>;
}

/**
 * A ReadStore on an HTTP(S) base URL.
 *
 * @example
 * ```ts
 * const store = new HttpStore("https://cdn.example.com/registry");
 * const r = await store.read("catalog.json"); // GET https://cdn.example.com/registry/catalog.json
 * ```
 */
export class HttpStore implements StreamStore {
  readonly location: string;
  readonly #base: URL;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;

  constructor(base: string, opts: HttpStoreOptions = {}) {
    const url = baseUrl(base);
    if (typeof url === "string") {
      throw new Error(`invalid store URL ${JSON.stringify(redact(base))}: ${url}`);
    }
    this.#base = url;
    // `location` is for messages, logs and /readyz: never the user-info or a signature.
    this.location = redactUrl(url);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#fetch = opts.fetch ?? fetch;
    this.#headers = { "user-agent": userAgent(), ...opts.headers };
  }

  /** The URL of a key: base path + the key's segments (percent-encoded) + the base's query. */
  urlOf(key: string): string {
    const url = new URL(this.#base.href);
    url.pathname += checkKey(key).split("/").map(encodeURIComponent).join("/");
    return url.href;
  }

  async read(key: string, opts: { etag?: string } = {}): Promise<ReadResult> {
    const url = this.urlOf(key);
    const headers: Record<string, string> = { ...this.#headers };
    if (opts.etag) headers["If-None-Match"] = opts.etag;
    return await this.#request("GET", url, headers, async (res) => {
      if (res.status === 304) return { status: "not-modified" } as const;
      if (res.status === 404 || res.status === 410) return { status: "missing" } as const;
      if (res.status !== 200) throw statusError("GET", url, res);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const meta = { ...metaOf(res), size: bytes.byteLength };
      if (maybeSuperseded(res)) delete meta.etag; // the next read asks for the whole object
      return { status: "ok", bytes, meta } as const;
    });
  }

  async stat(key: string): Promise<ObjectMeta | null> {
    const url = this.urlOf(key);
    return await this.#request("HEAD", url, { ...this.#headers }, (res) => {
      if (res.status === 404 || res.status === 410) return Promise.resolve(null);
      if (res.status !== 200) throw statusError("HEAD", url, res);
      const length = res.headers.get("content-length");
      if (length === null || !/^\d+$/.test(length)) {
        throw new HttpStoreError(
          `HEAD ${url}: no valid Content-Length in the response (got ${length})`,
          url,
          res.status,
        );
      }
      return Promise.resolve({ ...metaOf(res), size: Number(length) });
    });
  }

  /**
   * Streams an object (or an inclusive byte range) from the base URL: the server's way to
   * serve blobs of an HTTP store itself (no origins, a stream rule, the fallback). The
   * timeout covers the response headers only; a large body may take as long as it takes.
   * The body is fetch's own stream, never buffered: cancelling it (the client went away)
   * aborts the request. A 206 must answer the range asked for (Content-Range).
   */
  async open(
    key: string,
    range?: ByteRange,
  ): Promise<{ body: ReadableStream<Uint8Array>; size: number } | null> {
    const url = this.urlOf(key);
    const headers: Record<string, string> = { ...this.#headers };
    if (range) headers["Range"] = `bytes=${range.start}-${range.end}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    let res: Response;
    try {
      res = await this.#fetch(url, { headers, signal: abort.signal, redirect: "follow" });
    } catch (e) {
      throw requestError("GET", url, e, this.#timeoutMs);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel().catch(() => {});
      return null;
    }
    // A server that ignores Range answers 200 with the whole object: refused, not cut here.
    const total = res.status !== (range ? 206 : 200)
      ? NaN
      : range
      ? contentRangeTotal(res.headers.get("content-range"), range)
      : Number(res.headers.get("content-length") ?? NaN);
    if (!res.body || !Number.isSafeInteger(total)) {
      await res.body?.cancel().catch(() => {});
      throw statusError("GET", url, res);
    }
    return { body: res.body, size: total };
  }

  /** One request under the timeout; the body is consumed (or cancelled) inside it. */
  async #request<T>(
    method: string,
    url: string,
    headers: Record<string, string>,
    handle: (res: Response) => Promise<T>,
  ): Promise<T> {
    const signal = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    try {
      res = await this.#fetch(url, { method, headers, signal, redirect: "follow" });
    } catch (e) {
      throw requestError(method, url, e, this.#timeoutMs);
    }
    try {
      return await handle(res);
    } catch (e) {
      if (e instanceof HttpStoreError) throw e;
      throw requestError(method, url, e, this.#timeoutMs);
    } finally {
      // Unread bodies (304, 404, errors, HEAD) hold the connection: release it.
      if (!res.bodyUsed) await res.body?.cancel().catch(() => {});
    }
  }
}

/**
 * A failed request: names the method, URL and HTTP status (0 when none was received). The
 * message and `url` are redacted (lib/oci/redact.ts): errors end up in logs and `/readyz`.
 */
export class HttpStoreError extends Error {
  override name = "HttpStoreError";
  readonly status: number;
  readonly url: string;
  constructor(message: string, url: string, status: number, options?: ErrorOptions) {
    super(redact(message), options);
    this.url = redactUrl(url);
    this.status = status;
  }
}

/**
 * Whether a copy just read may already be superseded without its ETag changing: static
 * servers (nginx, a CDN in front of files) make ETags of the modification time in whole
 * seconds and the size, so a document rewritten within the same second at the same size —
 * a version-2 catalog whose only change is a digest, a tag moved in a tag index — keeps its
 * ETag, and a conditional read of this copy would answer 304 for ever. A copy modified
 * less than two seconds before the server sent it (both times the server's own clock, so
 * no skew) is therefore not used for a conditional read; an older copy is safe, since a
 * later rewrite has a later second. Without both headers nothing is known: conditional.
 * Object stores' content ETags are exempt (below).
 */
function maybeSuperseded(res: Response): boolean {
  // S3, Swift and GCS answer the MD5 of the content (`"<32 hex>"`, `-<parts>` when multipart):
  // it changes with every rewrite, so their copies are always fine to ask about.
  if (CONTENT_ETAG.test(res.headers.get("etag") ?? "")) return false;
  const date = Date.parse(res.headers.get("date") ?? "");
  const modified = Date.parse(res.headers.get("last-modified") ?? "");
  return Number.isFinite(date) && Number.isFinite(modified) && date - modified < 2000;
}

const CONTENT_ETAG = /^"?[0-9a-f]{32}(-\d+)?"?$/;

function metaOf(res: Response): Omit<ObjectMeta, "size"> {
  const meta: Omit<ObjectMeta, "size"> = {};
  const etag = res.headers.get("etag");
  const type = res.headers.get("content-type");
  if (etag) meta.etag = etag;
  if (type) meta.contentType = type;
  return meta;
}

function statusError(method: string, url: string, res: Response): HttpStoreError {
  return new HttpStoreError(
    `${method} ${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`,
    url,
    res.status,
  );
}

function requestError(method: string, url: string, e: unknown, timeoutMs: number): HttpStoreError {
  const name = (e as Error)?.name;
  const why = name === "TimeoutError" || name === "AbortError"
    ? `timed out after ${timeoutMs} ms`
    : `${(e as Error)?.message ?? e}`;
  // No `cause`: fetch's own error quotes the URL with its user-info ("error sending request
  // for url (http://user:pass@…)"), and pino prints causes. Its message is kept, redacted.
  return new HttpStoreError(`${method} ${url}: ${why}`, url, 0);
}
