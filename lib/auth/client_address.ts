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
import ipaddr from "ipaddr.js";
import type { Middleware, Reply, RequestContext } from "../server/context.ts";

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Whether `text` is an address in its usual form: ipaddr.js also reads the legacy IPv4
 * forms (`10.1`, `0x0a.1`), which no proxy writes and which make a CIDR read ambiguously.
 */
function usual(text: string): boolean {
  return text.includes(":") ? ipaddr.IPv6.isValid(text) : ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** A CIDR (`10.0.0.0/8`, `fd00::/8`) or one address, as a range; undefined when neither. */
export function parseCidr(text: string): Range | undefined {
  if (!usual(text.split("/")[0])) return undefined;
  try {
    if (text.includes("/")) {
      return ipaddr.parseCIDR(text);
    }
    const addr = ipaddr.process(text);
    return [addr, addr.kind() === "ipv4" ? 32 : 128];
  } catch {
    return undefined;
  }
}

/** An address as ipaddr.js reads it, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as IPv4. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const t = text.trim().replace(/^\[(.*)\]$/, "$1");
  if (!usual(t)) return undefined;
  try {
    return ipaddr.process(t);
  } catch {
    return undefined;
  }
}

/**
 * A set of CIDRs (IPv4 and IPv6): the trusted proxies here, the client rules of
 * `routing` (lib/origins/routing.ts). IPv4-mapped IPv6 addresses match IPv4 CIDRs.
 */
export class CidrSet {
  readonly #ranges: Range[];

  constructor(cidrs: readonly string[]) {
    this.#ranges = cidrs.map((c) => {
      const r = parseCidr(c);
      if (!r) throw new Error(`not a CIDR: ${JSON.stringify(c)}`);
      return r;
    });
  }

  /** Whether the parsed address is in one of the ranges. */
  matches(a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
    return this.#ranges.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
  }

  /** Whether `address` (text, as the runtime reports it) is in one of the ranges. */
  has(address: string | undefined): boolean {
    const a = address === undefined ? undefined : parseAddress(address);
    return a !== undefined && this.matches(a);
  }
}

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
