/**
 * @module
 * The bridge from the resolved config (lib/config) to {@link createOrigins}' plain options,
 * so `serve` and `check` build origins the same way.
 *
 * @example
 * ```ts
 * const config = await loadConfig({ file: "cfg.json" });
 * const origins = createOrigins(originsOptions(config, { log }));
 * ```
 */
import type { ResolvedConfig } from "../config/mod.ts";
import type { Logger } from "../log.ts";
import type { FetchFn } from "./health.ts";
import type { OriginsOptions } from "./origins.ts";

/** Options for {@link createOrigins} from a resolved config. */
export function originsOptions(
  config: Pick<ResolvedConfig, "origins" | "health" | "verifyBlobs" | "s3" | "store">,
  deps: { log: Logger; fetch?: FetchFn; now?: () => number },
): OriginsOptions {
  return {
    origins: config.origins.map((o) => ({
      name: o.name,
      url: o.url,
      verifyBlobs: o.verifyBlobs,
      ...(o.presign ? { presign: { expires: o.presign.expiresMs } } : {}),
    })),
    health: {
      interval: config.health.intervalMs,
      timeout: config.health.timeoutMs,
      rise: config.health.rise,
      fall: config.health.fall,
    },
    verify: {
      cacheSize: config.verifyBlobs.cacheSize,
      negativeTtl: config.verifyBlobs.negativeTtlMs,
    },
    s3: config.s3,
    store: config.store.location,
    ...deps,
  };
}
