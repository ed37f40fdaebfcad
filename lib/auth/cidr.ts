/**
 * @module
 * CIDRs and client addresses (IPv4 and IPv6) as ipaddr.js reads them: the one reader of
 * `http.trustedProxies` (client_address.ts) and of `routing[i].clients`
 * (lib/origins/routing.ts). Imports nothing of the server, so any layer may use it.
 */
import ipaddr from "ipaddr.js";

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
