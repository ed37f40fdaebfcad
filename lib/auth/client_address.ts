/**
 * @module
 * The client's address behind trusted proxies (`http.trustedProxies`, CIDRs, IPv4 and
 * IPv6, parsed with ipaddr.js). Only when the peer itself is trusted is
 * `X-Forwarded-For` read, and then from the right: each proxy appends the address it
 * got the request from, so the rightmost address that is not a trusted proxy is the
 * first one no trusted party vouches for — the client. Anything left of it may be forged
 * by that client. The result replaces `c.client`, so the rate limiter and the access log
 * see the client, not the proxy.
 */
import type ipaddr from "ipaddr.js";
import type { Middleware, Reply, RequestContext } from "../server/context.ts";
import { CidrSet, parseAddress } from "./cidr.ts";

export { parseCidr } from "./cidr.ts";

/** The trusted proxies. */
export class TrustedProxies {
  readonly #set: CidrSet;

  constructor(cidrs: readonly string[]) {
    this.#set = new CidrSet(cidrs);
  }

  #trusted(a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.#set.matches(a);
  }

  /** Whether `address` is a trusted proxy. */
  trusts(address: string | undefined): boolean {
    return this.#set.has(address);
  }

  /**
   * The client of a request from `peer` with this `X-Forwarded-For` (null: none). When
   * every hop is trusted, the leftmost; an unreadable hop stops the walk at the last
   * readable one to its right (it is not a vouched-for address either way).
   */
  clientOf(peer: string | undefined, xff: string | null): string | undefined {
    if (xff === null || !this.trusts(peer)) return peer;
    const hops = xff.split(",");
    let client = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const a = parseAddress(hops[i]);
      if (!a) break;
      client = a.toString();
      if (!this.#trusted(a)) break;
    }
    return client;
  }
}

/** The middleware that resolves `c.client` (and `c.viaTrustedProxy`) once, first. */
export function clientAddressMiddleware(proxies: TrustedProxies): Middleware {
  return function clientAddress(c: RequestContext, next: () => Reply): Reply {
    const peer = c.client;
    if (proxies.trusts(peer)) {
      c.viaTrustedProxy = true;
      c.client = proxies.clientOf(peer, c.req.headers.get("x-forwarded-for"));
    }
    return next();
  };
}
