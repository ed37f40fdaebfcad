/**
 * @module
 * The types of the resolved config (what {@link resolveConfig} in lib/config/resolve.ts
 * returns): every field present, durations in milliseconds, frozen. Types only, so the
 * resolvers of each part (stores, origins, mounts) can name them without importing
 * resolve.ts, which imports them (no import cycle).
 */
import type { AuthOptions, RateLimitOptions } from "../auth/options.ts";
import type { LogLevel } from "../log.ts";
import type { HealthOptions } from "../origins/health.ts";
import type { OriginOptions } from "../origins/origins.ts";
import type { Fallback, RoutingRule } from "../origins/routing.ts";
import type { VerifyOptions } from "../origins/verify.ts";
import type { S3ClientOptions } from "../store/s3.ts";
import type { IndexLoad } from "../index/held.ts";
import type { TlsFiles } from "./tls.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** An S3 store's client settings plus the publishers' lease settle delay. */
export interface S3Settings extends S3ClientOptions {
  /** The lease's settle delay (lib/store/s3_lock.ts); its default when absent. */
  lockSettleMs?: number;
}

/**
 * Where the layout lives (lib/config/store_location.ts), for lib/config/open_store.ts.
 * `location` is the text people see in messages.
 */
export type StoreConfig =
  /** `path` is absolute. */
  | { kind: "dir"; location: string; path: string }
  /** `prefix` has no leading or trailing `/` and no `.`/`..` segments; may be empty. */
  | { kind: "s3"; location: string; bucket: string; prefix: string; s3: S3Settings }
  /** `url` ends in `/`, so keys resolve under it. */
  | { kind: "http"; location: string; url: string };

/** A resolved origin: what lib/origins declares. */
export type ResolvedOrigin = OriginOptions;

/** A store mounted under a repository-name prefix, with its own S3 settings and origins. */
export interface ResolvedMount {
  /** `""` for the root store (see storesOf in lib/config/mounts.ts). */
  prefix: string;
  store: StoreConfig;
  s3: S3Settings;
  origins: ResolvedOrigin[];
}

/** The config the program runs with. Every field present, frozen. */
export interface ResolvedConfig {
  /** Absolute path of the config file, when there is one. */
  file?: string;
  listen: ListenAddress;
  store: StoreConfig;
  s3: S3Settings;
  origins: ResolvedOrigin[];
  /** Federated stores under repository-name prefixes (lib/config/mounts.ts); [] without. */
  mounts: ResolvedMount[];
  /** Client routing rules (lib/config/routing.ts); [] without. */
  routing: RoutingRule[];
  /** When every origin is down: 503 (`"none"`) or stream from the store. */
  fallback: Fallback;
  health: HealthOptions;
  verifyBlobs: VerifyOptions;
  refresh: { intervalMs: number };
  /** Which tag indexes a server holds (lib/index/held.ts). */
  index: IndexLoad;
  v1: { origin?: string };
  log: { level: LogLevel; access: boolean };
  /** `metrics.listen`: `/metrics` is served there only (absent: on `listen`). */
  metrics: { listen?: ListenAddress };
  /** `trustedProxies`: normalised CIDRs, present only when configured. */
  http: { idleTimeoutMs: number; trustedProxies?: readonly string[] };
  /** HTTPS: the pair's absolute paths (read and checked by lib/config/tls.ts readTls). */
  tls?: TlsFiles;
  /** Pull access control (lib/auth); absent: anyone pulls everything. */
  auth?: AuthOptions;
  rateLimit?: RateLimitOptions;
}
