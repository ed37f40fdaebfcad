/**
 * @module
 * From a schema-valid {@link UserConfig} to the {@link ResolvedConfig} the program runs
 * with: defaults applied (from the schema's `default` annotations), durations in
 * milliseconds, the listen address split, the store classified (directory made absolute
 * against the config file's folder), and the checks a schema cannot express (unique
 * origin names, parseable URLs, timeout < interval). The result is deeply frozen.
 */
import { isIP } from "node:net";
import * as path from "node:path";
import { Value } from "@sinclair/typebox/value";
import type { LogLevel } from "../log.ts";
import { parseDuration } from "./duration.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import { ConfigSchema, type UserConfig } from "./schema.ts";

export interface ListenAddress {
  hostname: string;
  port: number;
}

/** S3 client settings; credentials absent → the AWS SDK's standard chain (env, files). */
export interface S3Settings {
  endpoint?: string;
  region: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** Where the layout lives. `location` is the text people see in messages. */
export type StoreConfig =
  | { kind: "dir"; location: string; path: string }
  | { kind: "s3"; location: string; bucket: string; prefix: string; s3: S3Settings }
  | { kind: "http"; location: string; url: string };

export interface ResolvedOrigin {
  name: string;
  /** Base URL, always ending in "/" so store keys resolve under it. */
  url: string;
  presign?: { expiresMs: number };
  verifyBlobs: boolean;
}

/** The config the program runs with. Every field present, frozen. */
export interface ResolvedConfig {
  /** Absolute path of the config file, when there is one. */
  file?: string;
  listen: ListenAddress;
  store: StoreConfig;
  s3: S3Settings;
  origins: ResolvedOrigin[];
  health: { intervalMs: number; timeoutMs: number; rise: number; fall: number };
  verifyBlobs: { cacheSize: number; negativeTtlMs: number };
  refresh: { intervalMs: number };
  v1: { origin?: string };
  log: { level: LogLevel };
  http: { idleTimeoutMs: number };
}

/** SigV4 presigned URLs live at most 7 days (AWS S3 API reference, "Query string auth"). */
const MAX_PRESIGN_MS = 7 * 24 * 3_600_000;

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
  return { hostname: host, port };
}

/** A URL with a trailing "/" so relative keys resolve under it. */
function baseUrl(text: string): string | null {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (!u.pathname.endsWith("/")) u.pathname += "/";
    return u.href;
  } catch {
    return null;
  }
}

function resolveStore(text: string, baseDir: string, s3: S3Settings): StoreConfig | string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const p = path.resolve(baseDir, text);
    return { kind: "dir", location: p, path: p };
  }
  if (scheme === "http" || scheme === "https") {
    const url = baseUrl(text);
    return url ? { kind: "http", location: url, url } : `expected a valid URL, got ${quote(text)}`;
  }
  if (scheme === "s3") {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(text);
    if (!m) {
      return `expected s3://bucket/prefix with a valid bucket name, got ${quote(text)}`;
    }
    const prefix = (m[2] ?? "").replace(/^\/+|\/+$/g, "");
    if (prefix.split("/").some((s) => s === "." || s === "..")) {
      return `the prefix must not contain "." or ".." segments, got ${quote(text)}`;
    }
    const location = `s3://${m[1]}${prefix ? `/${prefix}` : ""}`;
    return { kind: "s3", location, bucket: m[1], prefix, s3 };
  }
  return `unsupported scheme "${scheme}://" (use a directory, s3:// or http(s)://), got ${
    quote(text)
  }`;
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
  const ms = (p: string, v: string | undefined, min = 1): number => {
    const n = parseDuration(v ?? "") ?? NaN;
    if (!(n >= min)) {
      problems.push({ path: p, problem: `must be at least ${min}ms, got ${quote(v)}` });
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

  const s3u = u.s3 ?? {};
  const s3: S3Settings = { region: s3u.region ?? "us-east-1" };
  if (s3u.endpoint !== undefined) {
    const e = baseUrl(s3u.endpoint);
    if (!e) {
      problems.push({
        path: "s3.endpoint",
        problem: `expected a valid URL, got ${quote(s3u.endpoint)}`,
      });
    } else s3.endpoint = s3u.endpoint;
  }
  if (s3u.forcePathStyle !== undefined) s3.forcePathStyle = s3u.forcePathStyle;
  if ((s3u.accessKeyId === undefined) !== (s3u.secretAccessKey === undefined)) {
    problems.push({
      path: "s3",
      problem: "accessKeyId and secretAccessKey must be given together",
    });
  } else if (s3u.accessKeyId !== undefined) {
    s3.credentials = { accessKeyId: s3u.accessKeyId, secretAccessKey: s3u.secretAccessKey! };
    if (s3u.sessionToken !== undefined) s3.credentials.sessionToken = s3u.sessionToken;
  } else if (s3u.sessionToken !== undefined) {
    problems.push({ path: "s3.sessionToken", problem: "needs accessKeyId and secretAccessKey" });
  }

  const store = resolveStore(u.store, opts.baseDir, s3);
  if (typeof store === "string") problems.push({ path: "store", problem: store });

  const seen = new Map<string, number>();
  const origins = u.origins!.map((o, i): ResolvedOrigin => {
    const at = `origins[${i}]`;
    const prev = seen.get(o.name);
    if (prev !== undefined) {
      problems.push({
        path: `${at}.name`,
        problem: `duplicate origin name ${quote(o.name)} (also origins[${prev}].name)`,
      });
    }
    seen.set(o.name, i);
    const url = baseUrl(o.url);
    if (!url) {
      problems.push({ path: `${at}.url`, problem: `expected a valid URL, got ${quote(o.url)}` });
    }
    const r: ResolvedOrigin = {
      name: o.name,
      url: url ?? o.url,
      verifyBlobs: o.verifyBlobs ?? false,
    };
    if (o.presign) {
      const expiresMs = ms(`${at}.presign.expires`, o.presign.expires);
      if (expiresMs > MAX_PRESIGN_MS) {
        problems.push({
          path: `${at}.presign.expires`,
          problem: `must be at most 7 days, got ${quote(o.presign.expires)}`,
        });
      }
      if (typeof store !== "string" && store.kind !== "s3") {
        problems.push({
          path: `${at}.presign`,
          problem: `needs an s3:// store, but store is ${quote(u.store)}`,
        });
      }
      r.presign = { expiresMs };
    }
    return r;
  });

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
    if (!url) {
      problems.push({
        path: "v1.origin",
        problem: `expected a valid URL, got ${quote(u.v1!.origin)}`,
      });
    }
    // No trailing "/" added: the rest of the /v1/... path is appended as it came.
    v1Origin = u.v1!.origin.replace(/\/+$/, "");
  }

  const config: ResolvedConfig = {
    listen: listen ?? { hostname: "", port: 0 },
    store: typeof store === "string" ? { kind: "dir", location: "", path: "" } : store,
    s3,
    origins,
    health,
    verifyBlobs: {
      cacheSize: u.verifyBlobs!.cacheSize!,
      negativeTtlMs: ms("verifyBlobs.negativeTtl", u.verifyBlobs!.negativeTtl, 0),
    },
    refresh: { intervalMs: ms("refresh.interval", u.refresh!.interval) },
    v1: v1Origin === undefined ? {} : { origin: v1Origin },
    log: { level: u.log!.level as LogLevel },
    http: { idleTimeoutMs: ms("http.idleTimeout", u.http!.idleTimeout) },
  };
  if (opts.file !== undefined) config.file = opts.file;
  return problems.length ? { problems } : { config: deepFreeze(config) };
}
