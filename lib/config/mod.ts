/**
 * @module
 * The config of `static-registry serve`: schema (the one definition), loading with
 * precedence flags > file > env, and the resolved, frozen form the program runs with.
 *
 * @example
 * ```ts
 * const config = await loadConfig({ file: "cfg.json", flags: { listen: "127.0.0.1:0" } });
 * config.refresh.intervalMs; // 30000 unless the file says otherwise
 * ```
 */
export { CONFIG_ENV, type ConfigFlags, loadConfig, type LoadOptions } from "./load.ts";
export type {
  ListenAddress,
  ResolvedConfig,
  ResolvedMount,
  ResolvedOrigin,
  S3Settings,
  StoreConfig,
} from "./resolve.ts";
export { ConfigSchema, jsonSchemaText, type UserConfig } from "./schema.ts";
export { parseDuration } from "./duration.ts";
export { storesOf } from "./mounts.ts";
export { ConfigError } from "./errors.ts";
