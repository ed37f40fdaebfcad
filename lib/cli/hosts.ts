/**
 * @module
 * `static-registry hosts --config FILE [--json]`: every host:port a client of this config
 * may be sent to, for firewall allowlists — each origin's (root and mounts) with the
 * default port made explicit (80, 443), a presigned origin's as its signed URLs have it
 * (`<bucket>.<endpoint host>` for virtual-hosted buckets), and `v1.origin`'s. One per
 * line, sorted, unique. Clients a `routing` rule streams to, and the `fallback`, reach the
 * server itself, which is not listed.
 */
import process from "node:process";
import { loadConfig } from "../config/load.ts";
import { storesOf } from "../config/mounts.ts";
import type { ResolvedConfig } from "../config/resolved.ts";
import type { OriginOptions } from "../origins/origins.ts";
import { parseFlags } from "./flags.ts";
import { UsageError } from "./usage.ts";

export const HOSTS_HELP = `Usage: static-registry hosts --config FILE [--json]

Prints every host:port a client may be redirected to (each origin of the config and of its
mounts, presigned S3 endpoints as their signed URLs name them, v1.origin), one per line,
sorted, default ports made explicit: what a firewall must let clients reach.

Options:
  -c, --config FILE   config file (JSON), the same one "serve" uses
      --json          print [{"address", "host", "port", "for": [...]}] instead
  -h, --help          this text
`;

/** One host:port and what sends clients there (origin names, `v1.origin`). */
export interface ClientHost {
  /** `host:port`, `[v6]:port` for IPv6. */
  address: string;
  host: string;
  port: number;
  for: string[];
}

/** `host:port` of a URL, the scheme's default port made explicit (WHATWG URL drops it). */
function hostPort(url: URL): { host: string; port: number } {
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { host: url.hostname.replace(/^\[(.*)\]$/, "$1"), port };
}

/** Where a client is sent for this origin: a presigned one's signed URL host. */
function originHost(o: OriginOptions): { host: string; port: number } {
  if (!o.presign) return hostPort(new URL(o.url));
  const e = hostPort(new URL(o.presign.endpoint));
  // Virtual-hosted-style URLs put the bucket in the host name (S3 API "Virtual hosting").
  return o.presign.s3.forcePathStyle ? e : { ...e, host: `${o.presign.bucket}.${e.host}` };
}

/**
 * Every host:port clients of `config` may be sent to, sorted by address.
 *
 * @example
 * ```ts
 * clientHosts(config).map((h) => h.address); // ["cdn-a.example.com:443", "10.0.0.5:8080"]
 * ```
 */
export function clientHosts(config: ResolvedConfig): ClientHost[] {
  const by = new Map<string, ClientHost>();
  const add = (h: { host: string; port: number }, why: string) => {
    const address = `${h.host.includes(":") ? `[${h.host}]` : h.host}:${h.port}`;
    const e = by.get(address) ?? { address, ...h, for: [] };
    if (!e.for.includes(why)) e.for.push(why);
    by.set(address, e);
  };
  for (const m of storesOf(config)) for (const o of m.origins) add(originHost(o), o.name);
  if (config.v1.origin !== undefined) add(hostPort(new URL(config.v1.origin)), "v1.origin");
  return [...by.values()].sort((
    a,
    b,
  ) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** Runs `hosts` with the arguments after the word `hosts`; resolves to the exit code. */
export async function hostsCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    json: { type: "boolean" },
  });
  if (flags.help) {
    console.log(HOSTS_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`hosts takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  if (flags.config === undefined) throw new UsageError("hosts needs --config FILE");
  const config = await loadConfig({ file: flags.config, env: process.env });
  const hosts = clientHosts(config);
  if (flags.json) console.log(JSON.stringify(hosts, null, 2));
  else if (hosts.length) console.log(hosts.map((h) => h.address).join("\n"));
  return 0;
}
