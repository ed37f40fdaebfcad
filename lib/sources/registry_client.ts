/**
 * @module
 * The few HTTP rules a pull from another registry needs, over `fetch`:
 *
 * - **Auth** (distribution-spec §"Authentication" defers to the Docker token spec): a 401's
 *   `WWW-Authenticate` challenge is answered once per client — `Bearer realm=…,service=…,
 *   scope=…` by GETting a token from the realm (with Basic credentials when the lookup has
 *   some, anonymous otherwise), `Basic` by sending the credentials — and the request is
 *   retried. A second 401 is returned to the caller, whose error names the registry. A
 *   later 401 (an expired token) is answered again the same way.
 * - **Redirects** are followed by hand (at most 5): blob GETs are commonly redirected to a
 *   CDN or a presigned bucket URL, and the registry's `Authorization` must not travel to
 *   another origin.
 * - A response that does not start within `timeoutMs` aborts the request; a body that
 *   sends nothing for `idleTimeoutMs` is given up on and asked for again from where it
 *   stopped (resumable_body.ts).
 * - **Retries** (registry_retry.ts): a failed connection, a timeout, a dropped or stalled
 *   body, 429 (honouring Retry-After) and 5xx are tried again with exponential backoff
 *   and jitter, `retry.attempts` times in all; the error after the last attempt names the
 *   URL (credentials and signatures redacted, lib/oci/redact.ts) and what happened.
 */
import type { CredentialLookup, Credentials } from "./registry_auth.ts";
import { redactUrl } from "../oci/redact.ts";
import { userAgent } from "../version.ts";
import { resumableBody } from "./resumable_body.ts";
import {
  backoffMs,
  DEFAULT_RETRY,
  retryableStatus,
  retryAfterMs,
  type RetryPolicy,
} from "./registry_retry.ts";

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export interface RegistryClientOptions {
  /** The registry's API origin: `http://127.0.0.1:5000`, `https://registry-1.docker.io`. */
  base: string;
  /** The host as the user wrote it (credentials are looked up by it). */
  host: string;
  /** Repository, for the default token scope `repository:<name>:pull`. */
  repository: string;
  credentials?: CredentialLookup;
  /** Until response headers arrive (default 30 s). */
  timeoutMs?: number;
  /** Longest wait for the next bytes of a body (default {@link DEFAULT_IDLE_TIMEOUT_MS}). */
  idleTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  fetch?: typeof fetch;
}

/**
 * 60 s without a byte: far beyond a slow but working link (which delivers something every
 * few seconds, even through a congested CDN edge or a cold object-store read), short
 * enough that a stalled connection costs a minute, not the whole publish.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** A GET's response as fetch gave it, and how to resume its body (RegistryClient.getRaw). */
export interface RawResponse {
  response: Response;
  /** `GET <url>` (redacted), for messages. */
  what: string;
  /** Longest wait for the next bytes of the body (ms). */
  idleMs: number;
  retry: RetryPolicy;
  /** GETs the same URL again from byte `from` (a Range request). */
  reopen(from: number, signal?: AbortSignal): Promise<Response>;
}

/** A failure worth another attempt (network, timeout), as opposed to a refusal. */
class TransientError extends Error {}

/** A parsed `WWW-Authenticate` challenge (RFC 7235 §4.1). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…"` into a lower-case scheme and its parameters. */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+\/-]*)\s*(.*)$/s.exec(header);
  if (!m) throw new Error(`malformed WWW-Authenticate "${header}"`);
  // Parameter names come from the server: a `__proto__=` must be a key, not a prototype.
  const params: Record<string, string> = Object.create(null);
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))/g;
  for (const p of m[2].matchAll(re)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** Whether `host` (with or without port) is this machine: plain HTTP is allowed there only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Builds an Error for a failed response: `what: HTTP 404 MANIFEST_UNKNOWN: manifest unknown`
 * (the registry's first error code and message, distribution-spec §"Error Codes").
 */
export async function responseError(res: Response, what: string): Promise<Error> {
  let detail = "";
  try {
    const doc = JSON.parse(await res.text());
    const e = doc?.errors?.[0];
    if (e?.code) detail = ` ${e.code}${e.message ? `: ${e.message}` : ""}`;
  } catch { /* not a JSON error body */ }
  const hint = res.status === 401 || res.status === 403
    ? " (credentials come from REGISTRY_AUTH_FILE or ~/.docker/config.json auths)"
    : "";
  return new Error(`${what}: HTTP ${res.status}${detail}${hint}`);
}

/** GETs from one registry with auth and redirects handled; see the module doc. */
export class RegistryClient {
  readonly #o: RegistryClientOptions;
  readonly #fetch: typeof fetch;
  #authorization?: string;

  constructor(opts: RegistryClientOptions) {
    this.#o = opts;
    this.#fetch = opts.fetch ?? fetch;
  }

  /**
   * GETs `path` (below the base) with retries; a 401 is answered once per attempt, then
   * returned. A 200's body resumes after a stall or a drop (resumable_body.ts).
   */
  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const raw = await this.getRaw(path, headers);
    const res = raw.response;
    if (res.status !== 200 || !res.body) return res;
    return new Response(this.resumable(raw), { status: res.status, headers: res.headers });
  }

  /**
   * GETs `path` like {@link get}, but hands over the response as fetch gave it (its body
   * can go to a file natively, lib/runtime/runtime.ts nativeBodyToFile), with what resuming it takes:
   * `reopen(from)` asks again from byte `from` (retries and auth as any GET), `signal`
   * aborts the request and its body (an idle watch, an interrupt). {@link resumable}
   * turns it into the resuming stream get() returns.
   */
  async getRaw(
    path: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
  ): Promise<RawResponse> {
    const url = new URL(path, this.#o.base);
    const response = await this.#attempts(url, headers, signal);
    return {
      response,
      what: `GET ${redactUrl(url)}`,
      idleMs: this.#o.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      retry: this.#retry,
      reopen: (from, s) => this.#attempts(url, { ...headers, range: `bytes=${from}-` }, s),
    };
  }

  /** A 200 raw response's body as a stream that resumes after a stall or a drop. */
  resumable(raw: RawResponse): ReadableStream<Uint8Array> {
    return resumableBody(raw.response, {
      idleMs: raw.idleMs,
      retry: raw.retry,
      what: raw.what,
      reopen: (from) => raw.reopen(from),
    });
  }

  get #retry(): RetryPolicy {
    return { ...DEFAULT_RETRY, ...this.#o.retry };
  }

  /** {@link #authorized} until it answers something other than a transient failure. */
  async #attempts(
    url: URL,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const policy = this.#retry;
    for (let attempt = 1;; attempt++) {
      let res: Response | undefined;
      let why: string;
      try {
        res = await this.#authorized(url, headers, signal);
        if (!retryableStatus(res.status)) return res;
        why = (await responseError(res, "")).message.replace(/^: /, "");
      } catch (e) {
        if (!(e instanceof TransientError) || signal?.aborted) throw e;
        why = e.message;
      }
      const last = attempt >= policy.attempts;
      const asked = res && retryAfterMs(res.headers.get("retry-after"));
      if (!last && asked !== undefined && asked > policy.maxRetryAfterMs) {
        throw new Error(`GET ${redactUrl(url)}: ${why}, retry asked after ${asked} ms`);
      }
      if (last) {
        throw new Error(
          `GET ${redactUrl(url)}: ${why} (attempt ${attempt} of ${policy.attempts})`,
        );
      }
      await new Promise((r) => setTimeout(r, asked ?? backoffMs(policy, attempt + 1)));
    }
  }

  /** One attempt: redirects followed, a 401 challenge answered once. */
  async #authorized(
    url: URL,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const res = await this.#follow(url, headers, signal);
    // Also when we hold a token: it may have expired during a long publish.
    if (res.status !== 401) return res;
    const challenge = res.headers.get("www-authenticate");
    if (!challenge) return res;
    await res.body?.cancel();
    this.#authorization = await this.#answer(parseChallenge(challenge));
    return await this.#follow(url, headers, signal);
  }

  async #follow(
    start: URL,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Response> {
    const origin = new URL(this.#o.base).origin;
    let url = start;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const h = new Headers(headers);
      if (this.#authorization && url.origin === origin) h.set("authorization", this.#authorization);
      const res = await this.#request(url, h, "manual", signal);
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || !location) return res;
      await res.body?.cancel();
      url = new URL(location, url);
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new Error(
          `GET ${redactUrl(start)}: redirected to unsupported URL ${redactUrl(url)}`,
        );
      }
    }
    throw new Error(`GET ${redactUrl(start)}: more than ${MAX_REDIRECTS} redirects`);
  }

  async #request(
    url: URL,
    headers: Headers,
    redirect: RequestRedirect,
    signal?: AbortSignal,
  ): Promise<Response> {
    const ms = this.#o.timeoutMs ?? 30_000;
    // Every request, the token endpoint's and each redirect hop's too (lib/version.ts).
    headers.set("user-agent", userAgent());
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(new Error(`no response in ${ms} ms`)), ms);
    // The caller's signal aborts the body too, after the headers (the timer does not).
    const both = signal ? AbortSignal.any([ctl.signal, signal]) : ctl.signal;
    try {
      return await this.#fetch(url, { headers, redirect, signal: both });
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      const why = ctl.signal.aborted ? String(ctl.signal.reason?.message) : String(e);
      throw new TransientError(why, { cause: e });
    } finally {
      clearTimeout(timer); // headers are in: the body may take as long as it needs
    }
  }

  /** The Authorization value answering `c`. */
  async #answer(c: Challenge): Promise<string> {
    const { host, repository } = this.#o;
    const creds = await this.#o.credentials?.(host);
    if (c.scheme === "basic") {
      if (!creds) {
        throw new Error(`registry ${host} asks for Basic auth and no credentials are set for it`);
      }
      return basic(creds);
    }
    if (c.scheme !== "bearer") {
      throw new Error(`registry ${host}: unsupported auth scheme "${c.scheme}"`);
    }
    const realm = c.params.realm;
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new Error(`registry ${host}: Bearer challenge has no usable realm ("${realm}")`);
    }
    if (url.protocol !== "https:" && !(url.protocol === "http:" && isLoopback(url.host))) {
      throw new Error(`registry ${host}: token realm ${realm} is not https`);
    }
    if (c.params.service) url.searchParams.set("service", c.params.service);
    url.searchParams.set("scope", c.params.scope ?? `repository:${repository}:pull`);
    const headers = new Headers(creds ? { authorization: basic(creds) } : {});
    const res = await this.#request(url, headers, "follow");
    if (!res.ok) {
      throw await responseError(res, `registry ${host}: token from ${url.origin}${url.pathname}`);
    }
    const doc = await res.json().catch(() => null);
    const token = doc?.token ?? doc?.access_token;
    if (typeof token !== "string" || !token) {
      throw new Error(`registry ${host}: token response from ${realm} has no "token"`);
    }
    return `Bearer ${token}`;
  }
}

function basic(c: Credentials): string {
  const bytes = new TextEncoder().encode(`${c.username}:${c.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
