/**
 * @module
 * A store named on the command line (`--to`, `--from`, `--store`): a directory,
 * `s3://bucket/prefix` or an `http(s)://` URL, resolved through the config loader so that
 * S3 settings (`s3` key of `--config FILE`, or the standard AWS variables) apply exactly
 * as they do for `serve`. One function, so every subcommand opens stores the same way.
 */
import process from "node:process";
import { loadConfig } from "../config/mod.ts";
import type { ResolvedConfig } from "../config/resolve.ts";
import { UsageError } from "./usage.ts";
import { openStore } from "../config/open_store.ts";
import { isWriteStore, type ReadStore, type WriteStore } from "../store/store.ts";
import { createLogger, type Logger } from "../log.ts";

export interface StoreArg {
  /** The store as given (flag value); falls back to the config file's `store`. */
  store?: string;
  /** `--config FILE`, for `s3` settings (and `store` when no flag names one). */
  config?: string;
  /** The flag's name, for messages: "--to". */
  flag: string;
}

/** Opens a store for reading. Throws UsageError naming the flag or config key. */
export async function readStoreArg(
  arg: StoreArg,
  log: Logger = createLogger({ level: "warn" }),
  create = false,
): Promise<{ store: ReadStore; config: ResolvedConfig }> {
  if (arg.store === undefined && arg.config === undefined) {
    throw new UsageError(`${arg.flag} <store> is required (a directory, s3://bucket/prefix)`);
  }
  const config = await loadConfig({
    file: arg.config,
    flags: arg.store === undefined ? {} : { store: arg.store },
    env: process.env,
  });
  return { store: await openStore(config.store, { log, create }), config };
}

/**
 * Opens a store for writing. By default a missing directory named by the flag is created
 * (a new store: publish, import, sync); `create: false` for commands that need an
 * existing store (delete, migrate). `action` completes the HTTP-store message.
 */
export async function writeStoreArg(
  arg: StoreArg,
  log?: Logger,
  opts: { create?: boolean; action?: string } = {},
): Promise<{ store: WriteStore; config: ResolvedConfig }> {
  const create = (opts.create ?? true) && arg.store !== undefined;
  const { store, config } = await readStoreArg(arg, log, create);
  if (!isWriteStore(store)) {
    throw new UsageError(
      `${arg.flag} ${store.location}: cannot write there (HTTP stores are read-only; ` +
        `${opts.action ?? "publish to"} the directory or bucket behind it)`,
    );
  }
  return { store, config };
}
