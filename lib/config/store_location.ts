/**
 * @module
 * The `store` grammar, decided once for the config file, `--store`/`--to`/`--from` flags and
 * every mount: a directory (relative to `baseDir`), `s3://bucket/prefix`, or an
 * `http(s)://` base URL (lib/store/base_url.ts). What comes out is a {@link StoreConfig}
 * that lib/config/open_store.ts turns into a store without parsing anything again.
 *
 * A text that looks like a mistyped URL (`s3//bucket`, `s3:/bucket`, `https:cdn`) is an
 * error, not a directory: publishing into `./s3/bucket` by accident would look like success.
 * `./s3//bucket` still names such a directory.
 */
import * as path from "node:path";
import { baseUrl } from "../store/base_url.ts";
import { quote } from "./errors.ts";
import type { S3Settings, StoreConfig } from "./resolved.ts";

/** S3 bucket names: 3–63 lowercase letters, digits, "." and "-" (AWS "Bucket naming rules"). */
const S3_URL = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** `name:` without `//` (two letters at least: not a drive letter), or `s3//`, `http//`. */
const MISTYPED = /^(?:[A-Za-z][A-Za-z0-9+.-]+:(?!\/\/)|(?:s3|https?)\/\/)/i;

/** Where the store lives, or the problem with `text` (a message without the key path). */
export function resolveStore(text: string, baseDir: string, s3: S3Settings): StoreConfig | string {
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (MISTYPED.test(text)) {
      return `expected a directory, s3://bucket/prefix or an http(s):// URL; this looks like ` +
        `a mistyped URL (write "./${text}" for a directory of that name), got ${quote(text)}`;
    }
    const p = path.resolve(baseDir, text);
    return { kind: "dir", location: p, path: p };
  }
  if (scheme === "http" || scheme === "https") {
    const url = baseUrl(text);
    if (typeof url === "string") return `${url}, got ${quote(text)}`;
    return { kind: "http", location: url.href, url: url.href };
  }
  if (scheme === "s3") {
    const m = S3_URL.exec(text);
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
