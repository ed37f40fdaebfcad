/**
 * @module
 * From the resolved `store` setting to a store: the one switch over store kinds, so the
 * server and the CLI never construct stores themselves.
 *
 * @example
 * ```ts
 * const store = openStore(config.store, { log });
 * ```
 */
import * as fs from "node:fs";
import type { StoreConfig } from "../config/resolve.ts";
import type { Logger } from "../log.ts";
import { UsageError } from "../cli/usage.ts";
import { DirStore } from "./dir.ts";
import { HttpStore } from "./http.ts";
import { S3Store } from "./s3.ts";
import type { ReadStore } from "./store.ts";

export interface OpenStoreOptions {
  log: Logger;
}

/**
 * Opens the store a resolved config names. A directory must exist (a typo would otherwise
 * look like an empty registry); whether it holds a layout is for `Registry.load()` to say.
 */
export function openStore(store: StoreConfig, opts: OpenStoreOptions): ReadStore {
  switch (store.kind) {
    case "dir": {
      let st: fs.Stats;
      try {
        st = fs.statSync(store.path);
      } catch {
        throw new UsageError(`store ${JSON.stringify(store.path)}: directory not found`);
      }
      if (!st.isDirectory()) {
        throw new UsageError(`store ${JSON.stringify(store.path)}: not a directory`);
      }
      opts.log.debug({ store: store.location }, "directory store");
      return new DirStore(store.path);
    }
    case "s3": {
      opts.log.debug({ store: store.location, endpoint: store.s3.endpoint }, "S3 store");
      // Copies: the resolved config is frozen, and the AWS SDK tags the credentials object
      // it is given (`$source`), which throws on a frozen object.
      const { lockSettleMs, ...client } = store.s3;
      return new S3Store({
        bucket: store.bucket,
        prefix: store.prefix,
        ...client,
        credentials: client.credentials && { ...client.credentials },
        lock: lockSettleMs === undefined ? undefined : { settleMs: lockSettleMs },
      });
    }
    case "http":
      opts.log.debug({ store: store.location }, "HTTP store");
      return new HttpStore(store.url);
  }
}
