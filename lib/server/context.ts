/**
 * @module
 * What one request is, resolved once before any route or middleware runs: the raw path
 * and query, the endpoint family (lib/server/routes.ts), the repository name the client
 * used, the store that serves it and the name within that store. Every route and every
 * middleware gets this one object instead of `(req, name, ref, inner)`.
 *
 * The client address is a getter: asking the runtime for it (`server.requestIP()` on
 * Bun) is the dearest step of a request when nothing needs it, so it is computed the
 * first time a middleware (access log, auth, client-CIDR routing) reads it, then kept.
 */
import type { Registry } from "../index/registry.ts";
import type { StreamStore } from "../store/store.ts";
import type { Origins } from "./deps.ts";
import type { Family } from "./path.ts";

/** Asks the runtime for the client's address (lib/runtime/runtime.ts). */
export type ClientAddress = () => string | undefined;

/**
 * One store as the routes see it: the root (prefix `""`) or a mount (federation,
 * lib/server/mounts.ts). Built once per app.
 */
export interface ServedStore {
  /** `""` for the root store, else the mount's repository-name prefix (`team-a`). */
  readonly prefix: string;
  readonly registry: Registry;
  /** Blobs go to these when set. */
  readonly origins: Origins | undefined;
  /** Without origins, a store that can stream sends blob bytes itself. */
  readonly stream: StreamStore | undefined;
}

const NO_ADDRESS: ClientAddress = () => undefined;

/** The request as resolved by the app (lib/server/app.ts). */
export class RequestContext {
  /** The client's address, once asked for; `null` until then. */
  #client: string | undefined | null = null;
  readonly #address: ClientAddress;

  constructor(
    readonly req: Request,
    /** The raw request path: percent-encoding intact (`%2F` is never decoded). */
    readonly path: string,
    /** The raw query string, without `?`. */
    readonly query: string,
    /** The endpoint family, also the `route` label of `/metrics`. */
    readonly family: Family,
    /** The repository name as the client sent it (`""` outside `/v2/<name>/...`). */
    readonly name: string,
    /** The reference (tag or digest) of manifests/blobs/referrers paths, else `""`. */
    readonly ref: string,
    /** The store that serves `name` (the root store when the path has no name). */
    readonly mount: ServedStore,
    /** `name` within `mount`'s store: `app` for `team-a/app` under mount `team-a`. */
    readonly repo: string,
    address: ClientAddress = NO_ADDRESS,
  ) {
    this.#address = address;
  }

  /** The client's IP address, computed on first use (see the module doc). */
  get client(): string | undefined {
    if (this.#client === null) this.#client = this.#address();
    return this.#client;
  }

  /** Replaces the address: the client behind a trusted proxy (lib/auth/client_address.ts). */
  set client(address: string | undefined) {
    this.#client = address;
  }

  /** Set when the peer is a trusted proxy, so its `X-Forwarded-*` headers count. */
  viaTrustedProxy = false;

  /** The authenticated user (lib/auth/middleware.ts), for the access log; else undefined. */
  user: string | undefined = undefined;

  /** The origin a blob 307 sent the client to (lib/origins/routing.ts), for the access log. */
  origin: string | undefined = undefined;

  /**
   * A blob piped from a store (S3, HTTP) while it is sent: the bytes so far, and when the
   * body ended (done, failed or the client went away). The access log waits for it
   * (lib/server/observe.ts); file bodies (directory stores) are sent whole by the runtime.
   */
  piped: { bytes: number; readonly ended: Promise<void> } | undefined = undefined;

  /**
   * The length of the body the route answered with, when the route sets it (the
   * manifest GET): lib/server/observe.ts then records it without reading the Response's
   * `body` or `headers`. On Bun, reading `body` of a Response made from bytes turns it
   * into a ReadableStream: a bare Bun.serve answering 563 bytes lost about a sixth of
   * its rate to one `res.body === null` (wrk, 3 alternated rounds: 63.0k/69.5k/47.6k
   * req/s without, 52.0k/54.6k/41.4k with).
   */
  length: number | undefined = undefined;

  /** With `auth`: which names the caller may pull (`_catalog` lists only those). */
  mayPull: ((name: string) => boolean) | undefined = undefined;
}

/** What a route answers. Sync when it can be: a promise per request has a measurable cost. */
export type Reply = Response | Promise<Response>;

/** An endpoint handler (lib/server/routes.ts). Throws OciError for any failure. */
export type RouteHandler = (c: RequestContext) => Reply;

/**
 * A cross-cutting step run around every route (observe: figures and access log; client
 * address, rate limit, auth). Calls `next()` to run the rest of the chain, or throws /
 * returns without calling it to answer itself. Errors thrown by `next()` have already
 * been rendered into a Response, so a middleware always sees the status sent.
 */
export type Middleware = (c: RequestContext, next: () => Reply) => Reply;
