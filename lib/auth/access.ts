/**
 * @module
 * The access-control part of a running server, built from the config and rebuilt on
 * SIGHUP: the middleware, in order — client address behind trusted proxies
 * (client_address.ts), rate limit (rate_limit.ts), pull access control (middleware.ts).
 * A reload re-reads the htpasswd file; a bad one refuses the reload and the old users keep
 * working. The token signer and the rate-limit buckets are kept across reloads while their
 * settings are unchanged, so a SIGHUP neither invalidates issued tokens (the per-process
 * key lives as long as the process) nor hands every client a fresh burst.
 */
import type { Logger } from "../log.ts";
import type { Middleware } from "../server/context.ts";
import { clientAddressMiddleware, TrustedProxies } from "./client_address.ts";
import { loadUsers } from "./htpasswd.ts";
import { authMiddleware, type AuthState } from "./middleware.ts";
import type { AccessConfig, StoreOrigins } from "./options.ts";
import { rateLimitMiddleware, TokenBuckets } from "./rate_limit.ts";
import { AccessRules, covers } from "./rules.ts";
import { Tokens } from "./token.ts";

/** One generation of access control; {@link next} builds the one after a reload. */
export class AccessControl {
  private constructor(
    readonly config: AccessConfig,
    readonly middleware: readonly Middleware[],
    readonly auth: AuthState | undefined,
    readonly buckets: TokenBuckets | undefined,
  ) {}

  /**
   * Builds it, reading the htpasswd and token key files (AuthFileError when one is bad),
   * and logs what an operator should know (see {@link accessWarnings}).
   */
  static async create(
    config: AccessConfig,
    stores: readonly StoreOrigins[],
    log: Logger,
    prev?: AccessControl,
  ): Promise<AccessControl> {
    let auth: AuthState | undefined;
    if (config.auth) {
      const a = config.auth;
      const users = await loadUsers(a.htpasswd);
      const keep = prev?.auth && prev.config.auth?.tokenKey === a.tokenKey &&
        prev.config.auth?.tokenTtlMs === a.tokenTtlMs;
      const tokens = keep
        ? prev!.auth!.tokens
        : await Tokens.create({ keyFile: a.tokenKey, ttlMs: a.tokenTtlMs });
      auth = { scheme: a.scheme, users, rules: new AccessRules(a.rules), tokens };
      for (const w of accessWarnings(auth, stores)) log.warn(w.fields, w.msg);
    }
    const sameRate = prev?.buckets &&
      JSON.stringify(prev.config.rateLimit) === JSON.stringify(config.rateLimit);
    const buckets = config.rateLimit
      ? (sameRate ? prev!.buckets : new TokenBuckets(config.rateLimit))
      : undefined;
    const chain: Middleware[] = [];
    if (config.trustedProxies.length) {
      chain.push(clientAddressMiddleware(new TrustedProxies(config.trustedProxies)));
    }
    if (buckets) chain.push(rateLimitMiddleware(buckets));
    if (auth) {
      const state = auth;
      chain.push(authMiddleware(() => state));
    }
    return new AccessControl(config, chain, auth, buckets);
  }

  /** The next generation for a reloaded config (throws AuthFileError: keep this one). */
  next(config: AccessConfig, stores: readonly StoreOrigins[], log: Logger) {
    return AccessControl.create(config, stores, log, this);
  }
}

/**
 * What is worth a warning at load: a user named in a rule but not in the htpasswd file
 * (not an error: removing a user from the file is how access is revoked, and the rules
 * need not change with it), and a restricted prefix served by an origin that is not
 * presigned — the 307 sends the client to a URL anyone with the digest can fetch, so the
 * rule protects manifests and tags but not the layers' bytes.
 */
export function accessWarnings(
  auth: AuthState,
  stores: readonly StoreOrigins[],
): { msg: string; fields: Record<string, unknown> }[] {
  const out: { msg: string; fields: Record<string, unknown> }[] = [];
  const unknown = auth.rules.namedUsers().filter((u) => !auth.users.has(u));
  if (unknown.length) {
    out.push({ msg: "auth.rules name users not in the htpasswd file", fields: { users: unknown } });
  }
  const mounts = stores.filter((s) => s.prefix !== "").map((s) => s.prefix);
  for (const prefix of auth.rules.restrictedPrefixes()) {
    for (const s of stores) {
      const overlaps = s.prefix === ""
        ? !mounts.some((m) => covers(m, prefix))
        : covers(prefix, s.prefix) || covers(s.prefix, prefix);
      if (!overlaps) continue;
      const open = s.origins.filter((o) => o.presign === undefined).map((o) => o.name);
      if (open.length) {
        out.push({
          msg: "a restricted prefix is served from origins that are not presigned: anyone " +
            "with a blob's digest can fetch it from them directly",
          fields: { prefix, origins: open },
        });
      }
    }
  }
  return out;
}
