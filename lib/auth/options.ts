/**
 * @module
 * The resolved options of pull access control, rate limiting and trusted proxies: what
 * lib/config produces (lib/config/auth.ts) and lib/auth runs with. Types only, so
 * lib/config names them without importing any of lib/auth's code.
 */

/** Who may pull under a prefix: everybody, any user of the htpasswd file, or these users. */
export type PullGrant = "anyone" | "authenticated" | readonly string[];

/** One access rule: names equal to `prefix` or under `prefix/` (`""`: every name). */
export interface AccessRule {
  readonly prefix: string;
  readonly pull: PullGrant;
}

/** `auth` of the config, resolved. */
export interface AuthOptions {
  /** Absolute path of the htpasswd file (bcrypt entries only). */
  readonly htpasswd: string;
  /** Which challenge a 401 carries; both credential kinds are accepted either way. */
  readonly scheme: "bearer" | "basic";
  readonly rules: readonly AccessRule[];
  /** Absolute path of a PEM private key signing tokens; absent: a per-process random key. */
  readonly tokenKey?: string;
  /** Lifetime of an access token issued by `/token`. */
  readonly tokenTtlMs: number;
}

/** `rateLimit` of the config, resolved: a token bucket per client address. */
export interface RateLimitOptions {
  /** Tokens added per second. */
  readonly perSecond: number;
  /** Bucket size: requests a client may send at once. */
  readonly burst: number;
}

/** The parts of the resolved config lib/auth/access.ts builds the middleware from. */
export interface AccessConfig {
  readonly auth?: AuthOptions;
  readonly rateLimit?: RateLimitOptions;
  /** CIDRs whose `X-Forwarded-For` is believed; [] without. */
  readonly trustedProxies: readonly string[];
}

/** A store as the load-time warning sees it: its prefix and whether its origins presign. */
export interface StoreOrigins {
  readonly prefix: string;
  readonly origins: readonly { readonly name: string; readonly presign?: unknown }[];
}
