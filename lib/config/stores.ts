/**
 * @module
 * The per-store pieces of a config — the store location, its S3 settings and its origins —
 * resolved the same way for the root (`store`, `s3`, `origins`) and for every mount
 * (`mounts[i].store`, `.s3`, `.origins`). Each function reports problems under the key
 * path it is given (`origins[0].url`, `mounts[1].origins[0].url`) instead of throwing, so
 * one load lists every mistake.
 */
import * as path from "node:path";
import type { UserConfig } from "./schema.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import { parseDuration } from "./duration.ts";
import type { ResolvedOrigin, S3Settings, StoreConfig } from "./resolve.ts";

type UserS3 = NonNullable<UserConfig["s3"]>;
type UserOrigin = NonNullable<UserConfig["origins"]>[number];

/** SigV4 presigned URLs live at most 7 days (AWS S3 API reference, "Query string auth"). */
const MAX_PRESIGN_MS = 7 * 24 * 3_600_000;

/** A URL with a trailing "/" so relative keys resolve under it; null when not http(s). */
export function baseUrl(text: string): string | null {
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    if (!u.pathname.endsWith("/")) u.pathname += "/";
    return u.href;
  } catch {
    return null;
  }
}

/** Where a store lives, or the problem with `text` (a message without the key path). */
export function resolveStore(text: string, baseDir: string, s3: S3Settings): StoreConfig | string {
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

/** S3 client settings from the `s3` object at key path `at` ("s3", "mounts[0].s3"). */
export function resolveS3(s3u: UserS3, at: string, problems: Problem[]): S3Settings {
  const s3: S3Settings = { region: s3u.region ?? "us-east-1" };
  if (s3u.endpoint !== undefined) {
    if (!baseUrl(s3u.endpoint)) {
      problems.push({
        path: `${at}.endpoint`,
        problem: `expected a valid URL, got ${quote(s3u.endpoint)}`,
      });
    } else s3.endpoint = s3u.endpoint;
  }
  if (s3u.forcePathStyle !== undefined) s3.forcePathStyle = s3u.forcePathStyle;
  if (s3u.lockSettleMs !== undefined) s3.lockSettleMs = s3u.lockSettleMs;
  if ((s3u.accessKeyId === undefined) !== (s3u.secretAccessKey === undefined)) {
    problems.push({ path: at, problem: "accessKeyId and secretAccessKey must be given together" });
  } else if (s3u.accessKeyId !== undefined) {
    s3.credentials = { accessKeyId: s3u.accessKeyId, secretAccessKey: s3u.secretAccessKey! };
    if (s3u.sessionToken !== undefined) s3.credentials.sessionToken = s3u.sessionToken;
  } else if (s3u.sessionToken !== undefined) {
    problems.push({ path: `${at}.sessionToken`, problem: "needs accessKeyId and secretAccessKey" });
  }
  return s3;
}

const CREDENTIAL_KEYS = ["accessKeyId", "secretAccessKey", "sessionToken"] as const;

/**
 * A mount's S3 settings over the top-level ones: endpoint, region and forcePathStyle are
 * inherited one by one; credentials as a unit — a mount that names any credential key
 * gets none of the top-level ones, so two accounts' keys are never mixed.
 */
export function mergeS3(top: UserS3 | undefined, mount: UserS3): UserS3 {
  const own = CREDENTIAL_KEYS.some((k) => mount[k] !== undefined);
  const base: UserS3 = { ...top };
  if (own) { for (const k of CREDENTIAL_KEYS) delete base[k]; }
  for (const [k, v] of Object.entries(mount)) {
    if (v !== undefined) (base as Record<string, unknown>)[k] = v;
  }
  return base;
}

/**
 * The origins list at key path `at` ("origins", "mounts[0].origins"). `names` holds the
 * origin names seen so far in the whole config (name → key path): names are unique across
 * mounts, since logs, metrics and `check` output name origins by their name alone.
 */
export function resolveOrigins(
  list: readonly UserOrigin[],
  at: string,
  store: { text: string; config: StoreConfig | string },
  names: Map<string, string>,
  problems: Problem[],
): ResolvedOrigin[] {
  return list.map((o, i): ResolvedOrigin => {
    const here = `${at}[${i}]`;
    const prev = names.get(o.name);
    if (prev !== undefined) {
      problems.push({
        path: `${here}.name`,
        problem: `duplicate origin name ${quote(o.name)} (also ${prev})`,
      });
    } else names.set(o.name, `${here}.name`);
    const url = baseUrl(o.url);
    if (!url) {
      problems.push({ path: `${here}.url`, problem: `expected a valid URL, got ${quote(o.url)}` });
    }
    const r: ResolvedOrigin = {
      name: o.name,
      url: url ?? o.url,
      verifyBlobs: o.verifyBlobs ?? false,
    };
    if (o.presign) {
      const p = `${here}.presign.expires`;
      const expiresMs = parseDuration(o.presign.expires ?? "") ?? NaN;
      if (!(expiresMs >= 1)) {
        problems.push({
          path: p,
          problem: `must be at least 1ms, got ${quote(o.presign.expires)}`,
        });
      } else if (expiresMs > MAX_PRESIGN_MS) {
        problems.push({
          path: p,
          problem: `must be at most 7 days, got ${quote(o.presign.expires)}`,
        });
      }
      if (typeof store.config !== "string" && store.config.kind !== "s3") {
        problems.push({
          path: `${here}.presign`,
          problem: `needs an s3:// store, but the store is ${quote(store.text)}`,
        });
      }
      r.presign = { expiresMs };
    }
    return r;
  });
}
