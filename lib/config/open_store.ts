/**
 * @module
 * From a resolved {@link StoreConfig} to a store: the one switch over store kinds, so the
 * server and the CLI never construct stores themselves. It lives in lib/config (config
 * imports lib/store, never the other way): the location was parsed once by
 * lib/config/store_location.ts, and a directory that is not there is a config error.
 *
 * @example
 * ```ts
 * const store = await openStore(config.store, { log });
 * ```
 */
import * as fs from "node:fs";
import type { Logger } from "../log.ts";
import { DirStore } from "../store/dir.ts";
import { HttpStore } from "../store/http.ts";
import type { ReadStore } from "../store/store.ts";
import { ConfigError } from "./errors.ts";
import type { StoreConfig } from "./resolve.ts";

export interface OpenStoreOptions {
  log: Logger;
  /** Create a missing directory (a new store for publish/import) instead of refusing it. */
  create?: boolean;
}

/**
 * Opens the store a resolved config names. A directory must exist unless `create` (a typo
 * would otherwise look like an empty registry); whether it holds a layout is for
 * `Registry.load()` to say. Throws {@link ConfigError} naming the path.
 */
export async function openStore(store: StoreConfig, opts: OpenStoreOptions): Promise<ReadStore> {
  switch (store.kind) {
    case "dir": {
      if (opts.create) fs.mkdirSync(store.path, { recursive: true });
      let st: fs.Stats;
      try {
        st = fs.statSync(store.path);
      } catch (e) {
        throw new ConfigError(`store ${JSON.stringify(store.path)}: directory not found`, {
          cause: e,
        });
      }
      if (!st.isDirectory()) {
        throw new ConfigError(`store ${JSON.stringify(store.path)}: not a directory`);
      }
      opts.log.debug({ store: store.location }, "directory store");
      return new DirStore(store.path);
    }
    case "s3": {
      opts.log.debug({ store: store.location, endpoint: store.s3.endpoint }, "S3 store");
      // Loaded only for an S3 store: the AWS SDK's module graph is ~0.15 s of CPU at
      // start-up, a quarter of a 100 MB `publish docker://` into a directory (issue 13).
      const { S3Store } = await import("../store/s3.ts");
      const { lockSettleMs, ...client } = store.s3;
      return new S3Store({
        bucket: store.bucket,
        prefix: store.prefix,
        ...client,
        lock: lockSettleMs === undefined ? undefined : { settleMs: lockSettleMs },
      });
    }
    case "http":
      opts.log.debug({ store: store.location }, "HTTP store");
      return new HttpStore(store.url);
  }
}
