/**
 * @module
 * `routing` resolved into the rules lib/origins/routing.ts runs with: each CIDR read by
 * ipaddr.js (lib/auth/client_address.ts `parseCidr`, the one CIDR reader) and written in
 * its normal form, each origin name one of the config's (the root's or any mount's: each
 * store applies a rule to its own origins by name), and a rule either streams or names
 * origins. Problems name the key: `routing[1].clients[0]`, `routing[0].origins[2]`.
 */
import { parseCidr } from "../auth/cidr.ts";
import type { RoutingRule } from "../origins/routing.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import type { UserConfig } from "./schema.ts";

type UserRule = NonNullable<UserConfig["routing"]>[number];

/**
 * The rules of a schema-valid `routing`. `names` holds every origin name of the config
 * (name → key path), root and mounts, as lib/config/origins.ts collected them.
 */
export function resolveRouting(
  rules: readonly UserRule[],
  names: ReadonlyMap<string, string>,
  problems: Problem[],
): RoutingRule[] {
  const known = [...names.keys()].map((n) => quote(n)).join(", ") || "none";
  return rules.map((r, i): RoutingRule => {
    const at = `routing[${i}]`;
    const clients = r.clients.map((c, j) => {
      const range = parseCidr(c);
      if (range) return `${range[0].toString()}/${range[1]}`;
      problems.push({
        path: `${at}.clients[${j}]`,
        problem: `expected a CIDR like "10.1.0.0/16" or "fd00::/8", or an address, got ${quote(c)}`,
      });
      return c;
    });
    const origins = r.origins ?? [];
    const stream = r.stream ?? false;
    if (stream && origins.length) {
      problems.push({
        path: `${at}.stream`,
        problem: "a rule either streams or names origins, not both",
      });
    } else if (!stream && !origins.length) {
      problems.push({ path: at, problem: 'needs "origins" or "stream": true' });
    }
    origins.forEach((name, j) => {
      if (!names.has(name)) {
        problems.push({
          path: `${at}.origins[${j}]`,
          problem: `no origin is named ${quote(name)} (origins: ${known})`,
        });
      } else if (origins.indexOf(name) !== j) {
        problems.push({
          path: `${at}.origins[${j}]`,
          problem: `${quote(name)} again (also ${at}.origins[${origins.indexOf(name)}])`,
        });
      }
    });
    return { clients, origins: [...origins], stream };
  });
}
