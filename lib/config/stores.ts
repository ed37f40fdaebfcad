/**
 * @module
 * A store's S3 settings, resolved the same way for the root (`s3`) and for every mount
 * (`mounts[i].s3`, over the top-level one): the region default and the path-style default
 * are decided here and nowhere else. Problems are reported under the key path given
 * (`s3.endpoint`, `mounts[1].s3`) instead of thrown, so one load lists every mistake.
 */
import { baseUrl } from "../store/base_url.ts";
import type { UserConfig } from "./schema.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import type { S3Settings } from "./resolved.ts";

type UserS3 = NonNullable<UserConfig["s3"]>;
/**
 * S3 client settings from the `s3` object at key path `at` ("s3", "mounts[0].s3").
 * Path style defaults to on with a custom endpoint (MinIO, R2, Swift s3api and local
 * servers rarely have wildcard DNS for virtual-hosted buckets), off on AWS itself.
 */
export function resolveS3(s3u: UserS3, at: string, problems: Problem[]): S3Settings {
  const s3: S3Settings = {
    region: s3u.region ?? "us-east-1",
    forcePathStyle: s3u.forcePathStyle ?? s3u.endpoint !== undefined,
  };
  if (s3u.endpoint !== undefined) {
    const url = baseUrl(s3u.endpoint, { query: false });
    if (typeof url === "string") {
      problems.push({ path: `${at}.endpoint`, problem: `${url}, got ${quote(s3u.endpoint)}` });
    } else s3.endpoint = s3u.endpoint;
  }
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
