/**
 * @module
 * A running server, apart from argv and signals (lib/cli/serve.ts adds those), so tests
 * drive it in-process: {@link startInstance} → `reload()` (what SIGHUP does) → `stop()`.
 *
 * What runs is one *generation* {config, stores, app}, where `stores` holds one
 * {store, registry, origins} per store the config serves: the root, then each mount
 * (federation, lib/config/mounts.ts). The listener's handler always calls the current
 * generation's app. A reload builds the parts that changed — a store whose settings are
 * unchanged keeps its registry (refreshed), origins whose settings are unchanged keep
 * their health checker — and swaps the whole generation in; if anything fails (bad config,
 * unreachable new store) the old generation keeps serving and the reason is logged.
 */
import { AccessControl } from "../auth/access.ts";
import type { AccessConfig } from "../auth/options.ts";
import type { ResolvedConfig, ResolvedMount } from "../config/resolve.ts";
import { storesOf } from "../config/mounts.ts";
import { Registry } from "../index/registry.ts";
import type { Logger } from "../log.ts";
import type { LineSink } from "../log_sink.ts";
import { createOrigins, type Origins } from "../origins/origins.ts";
import { type RunningServer, serve } from "../runtime/runtime.ts";
import { type App, createApp } from "../server/app.ts";
import { openStore } from "../config/open_store.ts";
import { errors } from "../oci/errors.ts";
import { json, noSuchEndpoint, renderError } from "../server/http.ts";
import { requestTarget } from "../server/path.ts";
import type { ReadStore } from "../store/store.ts";
import { TlsState } from "./instance_tls.ts";

/** How long a shutdown waits for in-flight requests before giving up on them. */
export const DRAIN_TIMEOUT_MS = 30_000;

/** One store being served: the root (prefix "") or a mount. */
interface Served {
  mount: ResolvedMount;
  /** What the registry depends on / what the origins depend on, to tell a change. */
  storeKey: string;
  originsKey: string;
  store: ReadStore;
  registry: Registry;
  origins?: Origins;
}

interface Generation {
  config: ResolvedConfig;
  stores: Served[];
  /** Trusted proxies, rate limit, pull access control (lib/auth/access.ts). */
  access: AccessControl;
  app: App;
}

/** The access-control part of a config (the htpasswd file is read by AccessControl). */
const accessConfig = (c: ResolvedConfig): AccessConfig => ({
  auth: c.auth,
  rateLimit: c.rateLimit,
  trustedProxies: c.http.trustedProxies ?? [],
});

export interface Instance {
  /** Where it listens (the real port when the config said port 0). */
  readonly address: { hostname: string; port: number; url: string };
  /** The config in force. */
  readonly config: ResolvedConfig;
  /** Re-reads the config and refreshes the indexes; false (logged) when the old one stays. */
  reload(): Promise<boolean>;
  /** Stops accepting, drains in-flight requests, stops timers and health checks. */
  stop(): Promise<void>;
}

export interface InstanceDeps {
  log: Logger;
  /** Loads the config again, for reload() (throws ConfigError when it is broken). */
  reloadConfig: () => Promise<ResolvedConfig>;
  /** Where access lines go (the logger's own sink); absent: no access log. */
  sink?: LineSink;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Starts serving `config`. Throws on config errors or when the address cannot be bound
 * (a ListenError naming it). The address is bound FIRST, before the indexes load and the
 * origins' first probes run: a port in use is the first thing reported, not something
 * said after "index loaded" (issue 9). Requests that arrive while the rest starts wait
 * for it, as they waited in the kernel's backlog before.
 */
export async function startInstance(
  config: ResolvedConfig,
  deps: InstanceDeps,
): Promise<Instance> {
  const { log } = deps;
  // Before anything starts: a bad pair is a ConfigError (exit 2) naming key and file.
  const tls = await TlsState.load(config, log);
  // A bad htpasswd or token key file stops the start before anything runs, too.
  const access = await AccessControl.create(accessConfig(config), storesOf(config), log);
  let gen: Generation | undefined;
  const started = Promise.withResolvers<Generation>();
  started.promise.catch(() => {}); // a failed start is thrown below, not unhandled here
  const server: RunningServer = await serve((req, client) => {
    if (gen) return gen.app.fetch(req, client);
    return started.promise.then((g) => g.app.fetch(req, client), () => starting());
  }, {
    hostname: config.listen.hostname,
    port: config.listen.port,
    idleTimeoutSeconds: Math.ceil(config.http.idleTimeoutMs / 1000),
    ...(tls.pair ? { tls: { cert: tls.pair.cert, key: tls.pair.key } } : {}),
  });
  let metricsServer: RunningServer | undefined;
  let stores: Served[];
  try {
    if (config.metrics.listen) {
      metricsServer = await serve((req) => metricsOnly(req, gen, log), {
        hostname: config.metrics.listen.hostname,
        port: config.metrics.listen.port,
      });
    }
    stores = await buildStores(config, [], log, true);
    gen = { config, stores, access, app: app(config, stores, log, tls, access, deps.sink) };
  } catch (e) {
    started.reject(e);
    await Promise.all([server.shutdown(), metricsServer?.shutdown()]);
    throw e;
  }
  started.resolve(gen);
  const url = listenUrl(server);
  log.info({
    address: url,
    ...(tls.pair ? { certificate: tls.pair.certFile, serial: tls.pair.serial } : {}),
    store: stores[0].store.location,
    origins: config.origins.length,
    ...(config.mounts.length ? { mounts: config.mounts.map((m) => m.prefix) } : {}),
    ...(metricsServer ? { metrics: listenUrl(metricsServer) } : {}),
  }, "listening");
  for (const s of stores) s.registry.startRefresh(config.refresh.intervalMs);

  let reloading: Promise<boolean> | undefined;
  async function reload(): Promise<boolean> {
    const old = gen!;
    let next: ResolvedConfig;
    try {
      next = await deps.reloadConfig();
    } catch (e) {
      log.error(
        { reason: (e as Error).message },
        "config reload failed; keeping the running config",
      );
      await Promise.all(old.stores.map((s) => s.registry.refresh()));
      return false;
    }
    if (!same(next.listen, old.config.listen)) {
      log.warn({ running: url }, "listen changed in the config: restart to apply it");
    }
    if (!same(next.metrics, old.config.metrics)) {
      log.warn(
        { running: metricsServer ? listenUrl(metricsServer) : null },
        "metrics.listen changed in the config: restart to apply it",
      );
    }
    log.level = next.log.level;
    // The pair is re-read on every reload (renewals overwrite the files in place); a bad
    // one refuses the whole reload, and the running certificate keeps serving.
    let pair: typeof tls.pair;
    try {
      pair = await tls.reread(next, server, log);
    } catch (e) {
      log.error({ reason: (e as Error).message }, "reload failed; keeping the running config");
      return false;
    }
    let stores: Served[];
    let access: AccessControl;
    try {
      // First: a bad htpasswd file refuses the reload before any new store is built.
      access = await old.access.next(accessConfig(next), storesOf(next), log);
      stores = await buildStores(next, old.stores, log, false);
    } catch (e) {
      log.error({ reason: (e as Error).message }, "reload failed; keeping the running config");
      return false;
    }
    if (pair !== tls.pair) {
      try {
        await tls.apply(pair!, server, log);
      } catch (e) {
        log.error({ reason: (e as Error).message }, "reload failed; keeping the running config");
        releaseNew(stores, old.stores);
        return false;
      }
    }
    // metrics.listen is fixed until a restart: the new app serves /metrics where the old did.
    const running = { ...next, metrics: old.config.metrics };
    gen = { config: next, stores, access, app: app(running, stores, log, tls, access, deps.sink) };
    for (const s of old.stores) {
      if (!stores.some((n) => n.registry === s.registry)) s.registry.stopRefresh();
      if (s.origins && !stores.some((n) => n.origins === s.origins)) s.origins.stop();
    }
    for (const s of stores) s.registry.startRefresh(next.refresh.intervalMs);
    log.info({
      store: stores[0].store.location,
      origins: next.origins.length,
      ...(next.mounts.length ? { mounts: next.mounts.map((m) => m.prefix) } : {}),
    }, "config reloaded");
    return true;
  }

  return {
    address: { hostname: server.hostname, port: server.port, url },
    get config() {
      return gen!.config;
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
      for (const s of gen!.stores) {
        s.registry.stopRefresh();
        s.origins?.stop();
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((r) =>
        timer = setTimeout(() => r("timeout"), DRAIN_TIMEOUT_MS)
      );
      const drained = Promise.all([server.shutdown(), metricsServer?.shutdown()]);
      const how = await Promise.race([drained.then(() => "drained" as const), timeout]);
      clearTimeout(timer);
      if (how === "timeout") {
        log.warn({ ms: DRAIN_TIMEOUT_MS }, "requests still running after the drain timeout");
      }
    },
  };
}

/** The URL of a listener, as logged: `http://127.0.0.1:5000`, `https://[::1]:443`. */
function listenUrl(server: RunningServer): string {
  const host = server.hostname.includes(":") ? `[${server.hostname}]` : server.hostname;
  return `${server.tls ? "https" : "http"}://${host}:${server.port}`;
}

/**
 * The `metrics.listen` listener: `GET /metrics` of the running generation, 404 for any
 * other path (it serves nothing else), 503 while the first generation starts.
 */
async function metricsOnly(
  req: Request,
  gen: Generation | undefined,
  log: Logger,
): Promise<Response> {
  try {
    const { path } = requestTarget(req.url);
    if (path !== "/metrics") throw noSuchEndpoint(path);
    if (!gen) throw errors.unavailable("the server is starting");
    return await gen.app.metrics();
  } catch (e) {
    return renderError(e, log);
  }
}

/** The answer to a request held during a start that then failed (the process exits). */
function starting(): Response {
  const e = errors.unavailable("the server is stopping: it could not start");
  return json(e.status, e.toJSON());
}

/**
 * The stores of `config` (root first, then each mount), reusing from `old` every
 * registry whose store settings and every origins whose settings did not change. At start
 * (`initial`) an index that cannot be loaded is logged and retried by the refresh timer;
 * on a reload a changed store must load, or the whole reload fails (the new origins
 * started so far are stopped; nothing of the old generation is touched).
 */
async function buildStores(
  config: ResolvedConfig,
  old: readonly Served[],
  log: Logger,
  initial: boolean,
): Promise<Served[]> {
  const built = await Promise.allSettled(
    storesOf(config).map((mount) => buildOne(config, mount, old, log, initial)),
  );
  const failed = built.find((r) => r.status === "rejected");
  if (failed) {
    releaseNew(built.flatMap((r) => r.status === "fulfilled" ? [r.value] : []), old);
    throw (failed as PromiseRejectedResult).reason;
  }
  return built.map((r) => (r as PromiseFulfilledResult<Served>).value);
}

/** Stops the origins started for `built` that `old` does not share (a failed reload). */
function releaseNew(built: readonly Served[], old: readonly Served[]): void {
  for (const s of built) {
    if (s.origins && !old.some((o) => o.origins === s.origins)) s.origins.stop();
  }
}

async function buildOne(
  config: ResolvedConfig,
  mount: ResolvedMount,
  old: readonly Served[],
  rootLog: Logger,
  initial: boolean,
): Promise<Served> {
  // Mount logs say which mount (health checks, refresh failures); the root's stay as they were.
  const log = mount.prefix === "" ? rootLog : rootLog.child({ mount: mount.prefix });
  // A changed `index` setting rebuilds the registry too: it decides what is held.
  const storeKey = JSON.stringify([mount.store, config.index]);
  const originsKey = JSON.stringify([
    mount,
    config.health,
    config.verifyBlobs,
    config.routing,
    config.fallback,
  ]);
  const prevStore = old.find((s) => s.storeKey === storeKey);
  let store: ReadStore;
  let registry: Registry;
  if (prevStore) {
    ({ store, registry } = prevStore);
    if (!(await registry.refresh())) {
      log.warn("index refresh failed on reload; serving the last good index");
    }
  } else {
    store = await openStore(mount.store, { log });
    registry = new Registry(store, { log, index: config.index });
    if (initial) await loadOrReport(registry, config, log);
    else await registry.load();
  }
  const prevOrigins = old.find((s) => s.originsKey === originsKey)?.origins;
  const origins = prevOrigins ?? await startOrigins(config, mount, log, registry);
  return { mount, storeKey, originsKey, store, registry, origins };
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

/** Starts one store's origins (none configured: undefined, blobs stream from the store). */
async function startOrigins(
  config: ResolvedConfig,
  mount: ResolvedMount,
  log: Logger,
  registry: Registry,
): Promise<Origins | undefined> {
  if (mount.origins.length === 0) return undefined;
  const origins = createOrigins({
    origins: mount.origins,
    health: config.health,
    verifyBlobs: config.verifyBlobs,
    routing: config.routing,
    fallback: config.fallback,
    log,
    // Each origin must serve this store (its marker's id), read as the index is.
    storeId: () => registry.storeId,
  });
  // Resolves after the first round of probes (bounded by health.timeout), so the first
  // requests are routed by real health rather than by the initial state.
  await origins.start();
  return origins;
}

function app(
  config: ResolvedConfig,
  stores: readonly Served[],
  log: Logger,
  tls: TlsState,
  access: AccessControl,
  sink: LineSink | undefined,
): Generation["app"] {
  const [root, ...mounts] = stores;
  return createApp({
    registry: root.registry,
    store: root.store,
    origins: root.origins,
    mounts: mounts.map((s) => ({
      prefix: s.mount.prefix,
      registry: s.registry,
      store: s.store,
      origins: s.origins,
    })),
    v1Origin: config.v1.origin,
    ...(tls.pair ? { tlsCertExpiry: tls.expirySeconds } : {}),
    middleware: access.middleware,
    ...(config.log.access && sink ? { accessLog: { sink, log } } : {}),
    metricsHere: config.metrics.listen === undefined,
    log,
  });
}
