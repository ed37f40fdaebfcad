/**
 * @module
 * A running server, apart from argv and signals (lib/cli/serve.ts adds those), so tests
 * drive it in-process: {@link startInstance} → `reload()` (what SIGHUP does) → `stop()`.
 *
 * What runs is one *generation* {config, store, registry, origins, app}; the listener's
 * handler always calls the current generation's app. A reload builds the parts that
 * changed and swaps them in whole; if anything fails (bad config, unreachable new store)
 * the old generation keeps serving and the reason is logged.
 */
import type { ResolvedConfig } from "../config/resolve.ts";
import { Registry } from "../index/registry.ts";
import type { Logger } from "../log.ts";
import { originsOptions } from "../origins/config.ts";
import { createOrigins, type Origins } from "../origins/origins.ts";
import { UsageError } from "../oci/errors.ts";
import { type RunningServer, serve } from "../runtime/runtime.ts";
import { createApp } from "../server/app.ts";
import { openStore } from "../store/open.ts";
import type { ReadStore } from "../store/store.ts";

/** How long a shutdown waits for in-flight requests before giving up on them. */
export const DRAIN_TIMEOUT_MS = 30_000;

interface Generation {
  config: ResolvedConfig;
  store: ReadStore;
  registry: Registry;
  origins?: Origins;
  app: { fetch(req: Request): Response | Promise<Response> };
}

export interface Instance {
  /** Where it listens (the real port when the config said port 0). */
  readonly address: { hostname: string; port: number; url: string };
  /** The config in force. */
  readonly config: ResolvedConfig;
  /** Re-reads the config and refreshes the index; false (logged) when the old one stays. */
  reload(): Promise<boolean>;
  /** Stops accepting, drains in-flight requests, stops timers and health checks. */
  stop(): Promise<void>;
}

export interface InstanceDeps {
  log: Logger;
  /** Loads the config again, for reload() (throws UsageError when it is broken). */
  reloadConfig: () => Promise<ResolvedConfig>;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Starts serving `config`. Throws on config errors or when the address cannot be bound. */
export async function startInstance(
  config: ResolvedConfig,
  deps: InstanceDeps,
): Promise<Instance> {
  const { log } = deps;
  const store = openStore(config.store, { log });
  const registry = new Registry(store, { log });
  await loadOrReport(registry, config, log);
  const origins = await startOrigins(config, log);
  let gen: Generation = {
    config,
    store,
    registry,
    origins,
    app: app(config, store, registry, origins, log),
  };

  const server: RunningServer = await serve((req) => gen.app.fetch(req), {
    hostname: config.listen.hostname,
    port: config.listen.port,
    idleTimeoutSeconds: Math.ceil(config.http.idleTimeoutMs / 1000),
  });
  const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
  const url = `http://${host}:${server.port}`;
  log.info({ address: url, store: store.location, origins: config.origins.length }, "listening");
  registry.startRefresh(config.refresh.intervalMs);

  let reloading: Promise<boolean> | undefined;
  async function reload(): Promise<boolean> {
    const old = gen;
    let next: ResolvedConfig;
    try {
      next = await deps.reloadConfig();
    } catch (e) {
      log.error(
        { reason: (e as Error).message },
        "config reload failed; keeping the running config",
      );
      await old.registry.refresh();
      return false;
    }
    if (!same(next.listen, old.config.listen)) {
      log.warn({ running: url }, "listen changed in the config: restart to apply it");
    }
    log.level = next.log.level;
    let { store, registry, origins } = old;
    try {
      if (!same(next.store, old.config.store)) {
        store = openStore(next.store, { log });
        registry = new Registry(store, { log });
        await registry.load();
      } else if (!(await registry.refresh())) {
        log.warn("index refresh failed on reload; serving the last good index");
      }
      if (!same(originsPart(next), originsPart(old.config))) {
        origins = await startOrigins(next, log);
      }
    } catch (e) {
      if (origins !== old.origins) origins?.stop();
      log.error({ reason: (e as Error).message }, "reload failed; keeping the running config");
      return false;
    }
    gen = { config: next, store, registry, origins, app: app(next, store, registry, origins, log) };
    if (registry !== old.registry) old.registry.stopRefresh();
    if (origins !== old.origins) old.origins?.stop();
    registry.startRefresh(next.refresh.intervalMs);
    log.info({ store: store.location, origins: next.origins.length }, "config reloaded");
    return true;
  }

  return {
    address: { hostname: server.hostname, port: server.port, url },
    get config() {
      return gen.config;
    },
    reload() {
      // One reload at a time: a second SIGHUP during a reload waits for it, then runs.
      const run = (reloading ?? Promise.resolve(true)).then(reload);
      reloading = run.finally(() => {
        if (reloading === run) reloading = undefined;
      });
      return run;
    },
    async stop() {
      gen.registry.stopRefresh();
      gen.origins?.stop();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) =>
        timer = setTimeout(() => r("timeout"), DRAIN_TIMEOUT_MS)
      );
      const how = await Promise.race([server.shutdown().then(() => "drained" as const), timeout]);
      clearTimeout(timer);
      if (how === "timeout") {
        log.warn({ ms: DRAIN_TIMEOUT_MS }, "requests still running after the drain timeout");
      }
    },
  };
}

/** Loads the index; an unreachable store is logged, not fatal (refresh retries it). */
async function loadOrReport(
  registry: Registry,
  config: ResolvedConfig,
  log: Logger,
): Promise<void> {
  try {
    await registry.load();
  } catch (e) {
    log.error(
      {
        store: registry.store.location,
        reason: (e as Error).message,
        retryMs: config.refresh.intervalMs,
      },
      "cannot load the index; /readyz answers 503 until a refresh succeeds",
    );
  }
}

function originsPart(c: ResolvedConfig) {
  return [c.origins, c.health, c.verifyBlobs, c.s3, c.store];
}

async function startOrigins(config: ResolvedConfig, log: Logger): Promise<Origins | undefined> {
  if (config.origins.length === 0) return undefined;
  let origins: Origins;
  try {
    origins = createOrigins(originsOptions(config, { log }));
  } catch (e) {
    // lib/config validates origins first; this catches what only the origins module knows.
    const where = config.file ? `config ${JSON.stringify(config.file)}` : "config";
    throw new UsageError(`${where}: ${(e as Error).message}`, { cause: e });
  }
  // Resolves after the first round of probes (bounded by health.timeout), so the first
  // requests are routed by real health rather than by the initial state.
  await origins.start();
  return origins;
}

function app(
  config: ResolvedConfig,
  store: ReadStore,
  registry: Registry,
  origins: Origins | undefined,
  log: Logger,
): Generation["app"] {
  return createApp({ registry, store, origins, v1Origin: config.v1.origin, log });
}
