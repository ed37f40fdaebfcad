/**
 * @module
 * An `origins` list, resolved the same way for the root and every mount into the
 * {@link OriginOptions} lib/origins runs with: the name unique across the whole config
 * (logs, metrics and `check` output name origins alone), the URL a base URL ending in `/`
 * without a query (lib/store/base_url.ts), `verifyBlobs` defaulted, and a presigned
 * origin's signing settings — expiry, the S3 endpoint clients reach, bucket, prefix and
 * client settings of its store. lib/origins checks none of it again.
 */
import type { OriginOptions } from "../origins/origins.ts";
import type { BucketLocation } from "../origins/presign.ts";
import { baseUrl } from "../store/base_url.ts";
import { parseDuration } from "./duration.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import type { StoreConfig } from "./resolved.ts";
import type { UserConfig } from "./schema.ts";

type UserOrigin = NonNullable<UserConfig["origins"]>[number];

/** SigV4 presigned URLs live at most 7 days (AWS S3 API reference, "Query string auth"). */
const MAX_PRESIGN_MS = 7 * 24 * 3_600_000;

/**
 * The S3 endpoint for a presigned origin's `url`, or the problem when its path is neither
 * `/` (the bare endpoint) nor the bucket's base path the signed URLs will have
 * (`/bucket/prefix` in path style, `/prefix` with virtual-hosted buckets): a SigV4
 * signature covers the host, and the url in the config must not lie about where
 * redirects go.
 */
export function presignEndpoint(
  url: string,
  location: BucketLocation,
  forcePathStyle: boolean,
): string | { problem: string } {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "");
  const tail = location.prefix ? `/${location.prefix}` : "";
  const expected = forcePathStyle ? `/${location.bucket}${tail}` : tail;
  if (path === "" || path === expected) return u.origin;
  return {
    problem: `a presigned origin's url is the S3 endpoint (${u.origin}) or the bucket's base ` +
      `URL (${u.origin}${expected}), got path ${JSON.stringify(u.pathname)}`,
  };
}

/**
 * The origins list at key path `at` ("origins", "mounts[0].origins"). `names` holds the
 * origin names seen so far in the whole config (name → key path).
 */
export function resolveOrigins(
  list: readonly UserOrigin[],
  at: string,
  store: { text: string; config: StoreConfig | string },
  names: Map<string, string>,
  problems: Problem[],
): OriginOptions[] {
  return list.map((o, i): OriginOptions => {
    const here = `${at}[${i}]`;
    const prev = names.get(o.name);
    if (prev !== undefined) {
      problems.push({
        path: `${here}.name`,
        problem: `duplicate origin name ${quote(o.name)} (also ${prev})`,
      });
    } else names.set(o.name, `${here}.name`);
    const url = baseUrl(o.url, { query: false });
    if (typeof url === "string") {
      problems.push({ path: `${here}.url`, problem: `${url}, got ${quote(o.url)}` });
    }
    const r: OriginOptions = {
      name: o.name,
      url: typeof url === "string" ? o.url : url.href,
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
      const s = store.config;
      if (typeof s !== "string" && s.kind !== "s3") {
        problems.push({
          path: `${here}.presign`,
          problem: `needs an s3:// store, but the store is ${quote(store.text)}`,
        });
      } else if (typeof s !== "string" && typeof url !== "string") {
        const { lockSettleMs: _, ...client } = s.s3;
        const endpoint = presignEndpoint(url.href, s, client.forcePathStyle);
        if (typeof endpoint !== "string") {
          problems.push({ path: `${here}.url`, problem: endpoint.problem });
        } else {
          r.presign = { expiresMs, endpoint, bucket: s.bucket, prefix: s.prefix, s3: client };
        }
      }
    }
    return r;
  });
}
