/**
 * @module
 * `auth`, `rateLimit` and `http.trustedProxies` resolved into the options lib/auth runs
 * with (lib/auth/options.ts): file paths absolute against the config file's folder,
 * durations and rates as numbers, and the checks a schema cannot express — a prefix
 * repeated in the rules, a CIDR ipaddr.js cannot read, a rate of zero. The files
 * themselves (htpasswd, token key) are read by lib/auth when the server starts or
 * reloads: they change without the config changing.
 */
import * as path from "node:path";
import { parseCidr } from "../auth/client_address.ts";
import type { AccessConfig, AuthOptions, RateLimitOptions } from "../auth/options.ts";
import { parseDuration } from "./duration.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import type { UserConfig } from "./schema.ts";

const MAX_TOKEN_TTL_MS = 3_600_000;
const PER = { s: 1, m: 60, h: 3600 } as const;

/** The access-control part of a schema-valid config; problems go to `problems`. */
export function resolveAccess(
  u: UserConfig,
  fileDir: string,
  problems: Problem[],
): AccessConfig {
  const trustedProxies = (u.http?.trustedProxies ?? []).map((c, i) => {
    const r = parseCidr(c);
    if (!r) {
      problems.push({
        path: `http.trustedProxies[${i}]`,
        problem: `expected a CIDR like "10.0.0.0/8" or "fd00::/8", or an address, got ${quote(c)}`,
      });
      return c;
    }
    return `${r[0].toString()}/${r[1]}`;
  });
  const out: { -readonly [K in keyof AccessConfig]: AccessConfig[K] } = { trustedProxies };
  if (u.auth) out.auth = resolveAuth(u.auth, fileDir, problems);
  if (u.rateLimit) out.rateLimit = resolveRate(u.rateLimit, problems);
  return out;
}

function resolveAuth(
  a: NonNullable<UserConfig["auth"]>,
  fileDir: string,
  problems: Problem[],
): AuthOptions {
  const seen = new Map<string, number>();
  a.rules.forEach((r, i) => {
    const prev = seen.get(r.prefix);
    if (prev !== undefined) {
      problems.push({
        path: `auth.rules[${i}].prefix`,
        problem: `prefix ${quote(r.prefix)} again (also auth.rules[${prev}])`,
      });
    } else seen.set(r.prefix, i);
  });
  const ttlText = a.tokenTtl ?? "5m";
  const tokenTtlMs = parseDuration(ttlText) ?? NaN;
  if (!(tokenTtlMs >= 1000 && tokenTtlMs <= MAX_TOKEN_TTL_MS)) {
    problems.push({
      path: "auth.tokenTtl",
      problem: `must be between 1s and 1h, got ${quote(a.tokenTtl)}`,
    });
  }
  const out: AuthOptions = {
    htpasswd: path.resolve(fileDir, a.htpasswd),
    scheme: a.scheme ?? "bearer",
    rules: a.rules.map((r) => ({
      prefix: r.prefix,
      pull: typeof r.pull === "string" ? r.pull as "anyone" | "authenticated" : [...r.pull],
    })),
    tokenTtlMs,
  };
  return a.tokenKey === undefined ? out : { ...out, tokenKey: path.resolve(fileDir, a.tokenKey) };
}

function resolveRate(
  r: NonNullable<UserConfig["rateLimit"]>,
  problems: Problem[],
): RateLimitOptions {
  const [n, unit] = r.perClient.split("/");
  const perSecond = Number(n) / PER[unit as keyof typeof PER];
  if (!(perSecond > 0)) {
    problems.push({
      path: "rateLimit.perClient",
      problem: `must be above 0, got ${quote(r.perClient)}`,
    });
  }
  return { perSecond, burst: r.burst ?? Math.max(1, Math.ceil(perSecond)) };
}
