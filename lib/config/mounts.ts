/**
 * @module
 * Federation in the config: `mounts` put more stores, each with its own origins (and S3
 * settings), under repository-name prefixes. Repository `team-a/app` is repository `app`
 * of the store mounted at `team-a`; names under no mount are the root store's (`store`,
 * `origins`).
 *
 * Nested prefixes (`a` and `a/b`) are rejected rather than resolved by longest match:
 * with nesting, `a/b/x` could be `b/x` of mount `a` or `x` of mount `a/b`, the catalog
 * would have to shadow one mount's repositories with another's, and a typo in a prefix
 * would silently re-route a whole team. Without nesting at most one mount matches a name,
 * so the server resolves it with one pass over the prefixes and nothing is ever ambiguous.
 */
import { nameProblem } from "../oci/reference.ts";
import type { Problem } from "./errors.ts";
import { quote } from "./errors.ts";
import type { UserConfig } from "./schema.ts";
import type { ResolvedConfig, ResolvedMount } from "./resolved.ts";
import { resolveOrigins } from "./origins.ts";
import { resolveStore } from "./store_location.ts";
import { mergeS3, resolveS3 } from "./stores.ts";

type UserMount = NonNullable<UserConfig["mounts"]>[number];

/** Whether `inner` is `outer` or a path below it (`a` holds `a` and `a/b`, not `ab`). */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}/`);
}

/**
 * Resolves `mounts`. `baseDir` is the config file's folder (relative directory stores
 * start there, like the top-level one); `names` carries the origin names already used.
 */
export function resolveMounts(
  mounts: readonly UserMount[],
  opts: { baseDir: string; s3: UserConfig["s3"]; names: Map<string, string> },
  problems: Problem[],
): ResolvedMount[] {
  const prefixes: string[] = [];
  return mounts.map((m, i): ResolvedMount => {
    const at = `mounts[${i}]`;
    const why = nameProblem(m.prefix);
    if (why) {
      problems.push({ path: `${at}.prefix`, problem: `${why}, got ${quote(m.prefix)}` });
    }
    prefixes.forEach((other, j) => {
      if (other === m.prefix) {
        problems.push({
          path: `${at}.prefix`,
          problem: `duplicate prefix ${quote(m.prefix)} (also mounts[${j}].prefix)`,
        });
      } else if (within(m.prefix, other) || within(other, m.prefix)) {
        problems.push({
          path: `${at}.prefix`,
          problem: `${quote(m.prefix)} and mounts[${j}].prefix ${quote(other)} are nested; ` +
            "a prefix must not be a path prefix of another (nested mounts are not supported)",
        });
      }
    });
    prefixes.push(m.prefix);
    const s3 = resolveMountS3(m, at, opts.s3, problems);
    const store = resolveStore(m.store, opts.baseDir, s3);
    if (typeof store === "string") problems.push({ path: `${at}.store`, problem: store });
    const origins = resolveOrigins(
      m.origins ?? [],
      `${at}.origins`,
      { text: m.store, config: store },
      opts.names,
      problems,
    );
    return {
      prefix: m.prefix,
      store: typeof store === "string" ? { kind: "dir", location: "", path: "" } : store,
      s3,
      origins,
    };
  });
}

/**
 * A mount's S3 settings (see {@link mergeS3}). Problems of inherited top-level values are
 * reported once, at `s3.…`; here only those of keys the mount sets itself.
 */
function resolveMountS3(
  m: UserMount,
  at: string,
  top: UserConfig["s3"],
  problems: Problem[],
) {
  const found: Problem[] = [];
  const s3 = resolveS3(m.s3 === undefined ? top ?? {} : mergeS3(top, m.s3), `${at}.s3`, found);
  const own = (k: string) => (m.s3 as Record<string, unknown> | undefined)?.[k] !== undefined;
  const ownCredentials = own("accessKeyId") || own("secretAccessKey") || own("sessionToken");
  for (const p of found) {
    if (p.path === `${at}.s3.endpoint` ? own("endpoint") : ownCredentials) problems.push(p);
  }
  return s3;
}

/**
 * Every store the config serves, the root first (prefix `""`), then each mount: what the
 * server builds one registry and one set of origins for.
 *
 * @example
 * ```ts
 * for (const m of storesOf(config)) console.log(m.prefix || "(root)", m.store.location);
 * ```
 */
export function storesOf(config: ResolvedConfig): readonly ResolvedMount[] {
  const root: ResolvedMount = {
    prefix: "",
    store: config.store,
    s3: config.s3,
    origins: config.origins,
  };
  return [root, ...config.mounts];
}
