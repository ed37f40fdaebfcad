/**
 * @module
 * From a schema-valid {@link UserConfig} to the {@link ResolvedConfig} the program runs
 * with: defaults applied (from the schema's `default` annotations), durations in
 * milliseconds, the listen address split, the store classified (directory made absolute
 * against the config file's folder), the mounts (lib/config/mounts.ts), and the checks a
 * schema cannot express (origin names unique across the config, parseable URLs, timeout <
 * interval, mount prefixes neither repeated nor nested). The result is deeply frozen.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { Value } from "@sinclair/typebox/value";
import { baseUrl } from "../store/base_url.ts";
import { parseDuration } from "./duration.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import { ConfigSchema, type UserConfig } from "./schema.ts";
import { resolveMounts } from "./mounts.ts";
import { resolveAccess } from "./access.ts";
import { resolveOrigins } from "./origins.ts";
import { resolveRouting } from "./routing.ts";
import { resolveStore } from "./store_location.ts";
import { resolveS3 } from "./stores.ts";
import { resolveTls } from "./tls.ts";
import type { LogLevel } from "../log.ts";
import type { ListenAddress, ResolvedConfig } from "./resolved.ts";

export type * from "./resolved.ts";

/** The longest `http.idleTimeout` both runtimes accept (Bun.serve: 255 s). */
const MAX_IDLE_MS = 255_000;

/** Parses `host:port` / `[v6]:port`; null when it is not one. */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? { hostname: m[1], port } : null;
  const host = m[2];
  const label = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  if (isIP(host) !== 4 && !host.split(".").every((l) => label.test(l))) return null;
  // An all-numeric last label is no host name (RFC 3696 §2): `999.1.1.1` is a bad IPv4.
  if (isIP(host) !== 4 && /^[0-9]+$/.test(host.slice(host.lastIndexOf(".") + 1))) return null;
  return { hostname: host, port };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === "object") {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Resolves a schema-valid config. `baseDir` is where a relative store path starts (the
 * config file's folder, or the working directory for `--store`). Returns the problems
 * instead when a value is valid JSON-Schema-wise but unusable.
 */
export function resolveConfig(
  user: UserConfig,
  opts: { baseDir: string; file?: string },
): { config: ResolvedConfig } | { problems: Problem[] } {
  const u = Value.Default(ConfigSchema, structuredClone(user)) as Required<UserConfig>;
  const problems: Problem[] = [];
  const ms = (p: string, v: string | undefined, min = 1, max = Infinity): number => {
    const n = parseDuration(v ?? "") ?? NaN;
    if (!(n >= min)) {
      problems.push({ path: p, problem: `must be at least ${min}ms, got ${quote(v)}` });
    } else if (n > max) {
      problems.push({ path: p, problem: `must be at most ${max / 1000}s, got ${quote(v)}` });
    }
    return n;
  };

  const listen = parseListen(u.listen!);
  if (!listen) {
    problems.push({
      path: "listen",
      problem: `expected an address like "127.0.0.1:5000" or "[::1]:5000", got ${quote(u.listen)}`,
    });
  }

  const s3 = resolveS3(u.s3 ?? {}, "s3", problems);
  const store = resolveStore(u.store, opts.baseDir, s3);
  if (typeof store === "string") problems.push({ path: "store", problem: store });
  // Origin names are unique across the root and every mount (logs and metrics name them).
  const names = new Map<string, string>();
  const origins = resolveOrigins(
    u.origins!,
    "origins",
    { text: u.store, config: store },
    names,
    problems,
  );
  // Mount stores are only ever written in the file: relative ones start at its folder.
  const fileDir = opts.file === undefined ? opts.baseDir : path.dirname(opts.file);
  const mounts = resolveMounts(u.mounts!, { baseDir: fileDir, s3: u.s3, names }, problems);
  const access = resolveAccess(u, fileDir, problems);
  const routing = resolveRouting(u.routing!, names, problems);

  const health = {
    intervalMs: ms("health.interval", u.health!.interval),
    timeoutMs: ms("health.timeout", u.health!.timeout),
    rise: u.health!.rise!,
    fall: u.health!.fall!,
  };
  if (health.timeoutMs >= health.intervalMs) {
    problems.push({
      path: "health.timeout",
      problem: `must be shorter than health.interval (${u.health!.interval}), got ${
        quote(u.health!.timeout)
      }`,
    });
  }

  let v1Origin: string | undefined;
  if (u.v1!.origin !== undefined) {
    const url = baseUrl(u.v1!.origin);
    if (typeof url === "string") {
      problems.push({ path: "v1.origin", problem: `${url}, got ${quote(u.v1!.origin)}` });
    }
    // No trailing "/" added: the rest of the /v1/... path is appended as it came.
    v1Origin = u.v1!.origin.replace(/\/+$/, "");
  }

  const config: ResolvedConfig = {
    listen: listen ?? { hostname: "", port: 0 },
    store: typeof store === "string" ? { kind: "dir", location: "", path: "" } : store,
    s3,
    origins,
    mounts,
    routing,
    fallback: u.fallback!,
    health,
    verifyBlobs: {
      cacheSize: u.verifyBlobs!.cacheSize!,
      negativeTtlMs: ms("verifyBlobs.negativeTtl", u.verifyBlobs!.negativeTtl, 0),
    },
    refresh: { intervalMs: ms("refresh.interval", u.refresh!.interval) },
    index: u.index!.load === "on-demand"
      ? { load: "on-demand", cacheBytes: u.index!.cacheBytes! }
      : { load: "all" },
    v1: v1Origin === undefined ? {} : { origin: v1Origin },
    log: { level: u.log!.level as LogLevel, access: u.log!.access! },
    metrics: {},
    // Bun.serve refuses an idleTimeout above 255 s and would fail at listen with a message naming no key.
    http: { idleTimeoutMs: ms("http.idleTimeout", u.http!.idleTimeout, 1, MAX_IDLE_MS) },
  };
  if (u.metrics!.listen !== undefined) {
    const at = parseListen(u.metrics!.listen);
    if (!at) {
      problems.push({
        path: "metrics.listen",
        problem: `expected an address like "127.0.0.1:9090" or "[::1]:9090", got ${
          quote(u.metrics!.listen)
        }`,
      });
    } else if (
      listen && at.port !== 0 && at.port === listen.port && at.hostname === listen.hostname
    ) {
      problems.push({
        path: "metrics.listen",
        problem: `must differ from listen (${quote(u.listen)}), got ${quote(u.metrics!.listen)}`,
      });
    } else config.metrics.listen = at;
  }
  if (access.trustedProxies.length) config.http.trustedProxies = access.trustedProxies;
  if (access.auth) config.auth = access.auth;
  if (access.rateLimit) config.rateLimit = access.rateLimit;
  if (opts.file !== undefined) config.file = opts.file;
  // Relative to the config file, like the mounts' stores (the files are read at serve).
  if (u.tls !== undefined) config.tls = resolveTls(u.tls, fileDir);
  return problems.length ? { problems } : { config: deepFreeze(config) };
}
