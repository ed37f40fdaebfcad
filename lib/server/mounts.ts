/**
 * @module
 * Federation in the server: one app fronts several stores. Repository `team-a/app` is
 * repository `app` of the store mounted at `team-a` (lib/config/mounts.ts); a name under no
 * mount is the root store's. Prefixes are never nested, so at most one mount matches and
 * the lookup is one pass over the prefixes with `startsWith`. The app resolves the store
 * once per request into its RequestContext (`mount`, and `repo`, the name within it);
 * routes never look at prefixes.
 *
 * A root repository whose name falls under a mount (`team-a/old` in the root store while
 * `team-a` is mounted) can never be reached: the mount wins, the root's copy is hidden
 * from `_catalog` too, and a warning names it (lib/server/catalog.ts).
 */
import { isStreamStore } from "../store/store.ts";
import type { ServedStore } from "./context.ts";
import type { Mount } from "./deps.ts";

/** The {@link ServedStore} of a mount (the root store has prefix `""`). */
export function servedStore(m: Mount): ServedStore {
  return {
    prefix: m.prefix,
    registry: m.registry,
    origins: m.origins,
    stream: isStreamStore(m.store) ? m.store : undefined,
  };
}

/** Whether repository `name` lies under `prefix`: `team-a/app` does, `team-a` and `team-ab/x` do not. */
export function isUnder(name: string, prefix: string): boolean {
  return name.length > prefix.length + 1 && name.charCodeAt(prefix.length) === 47 /* "/" */ &&
    name.startsWith(prefix);
}

/**
 * The store a repository name goes to: the mount whose prefix holds it, else `root`.
 *
 * @example
 * ```ts
 * const pick = mountPicker(root, mounts);
 * const m = pick("team-a/app"); // m.prefix === "team-a"
 * innerName(m, "team-a/app");  // "app"
 * ```
 */
export function mountPicker(
  root: ServedStore,
  mounts: readonly ServedStore[],
): (name: string) => ServedStore {
  if (mounts.length === 0) return () => root;
  return function pick(name: string): ServedStore {
    for (let i = 0; i < mounts.length; i++) {
      if (isUnder(name, mounts[i].prefix)) return mounts[i];
    }
    return root;
  };
}

/**
 * The repository a request means under containerd's mirror mode: with `?ns=HOST` (what
 * containerd appends when a hosts.toml sends it to a mirror; HOST is the upstream it
 * would otherwise pull from) `name` is `HOST/name`, so `library/alpine` with
 * `ns=docker.io` is `docker.io/library/alpine` and lands in the mount at `docker.io`.
 * Without `ns` (or with an empty one) the name is unchanged.
 *
 * The prefixed name is then looked up like any other name, and everything downstream
 * (auth rules, errors, the access log) sees it, so a mirror request can reach exactly
 * what the same client could pull as `HOST/name` without mirror mode, never more. An
 * upstream no mount serves is therefore NOT served from the root as the bare name: that
 * would hand a client asking for `ghcr.io/x/y` whatever image the root calls `x/y` (the
 * collision mirror mode exists to avoid); it is 404 NAME_UNKNOWN unless the root holds
 * `HOST/name` itself, and a 404 lets containerd go on to the next host in hosts.toml.
 * A HOST that is no repository-name component (`registry:5000`, uppercase) gives a name
 * the grammar refuses: 400 NAME_INVALID quoting it.
 *
 * Called only when the raw query contains `ns=`, so the common request (a blob 307 with
 * no query) never parses one. The value is percent-decoded (containerd sends
 * `url.Values.Encode()`: `:` as `%3A`); the first `ns` wins.
 *
 * @example
 * ```ts
 * mirrorName("library/alpine", "ns=docker.io"); // "docker.io/library/alpine"
 * mirrorName("library/alpine", "dns=x&n=1");    // "library/alpine"
 * ```
 */
export function mirrorName(name: string, query: string): string {
  const ns = new URLSearchParams(query).get("ns");
  return ns ? `${ns}/${name}` : name;
}

/** `name` within the store of `m` (the name itself for the root). */
export function innerName(m: ServedStore, name: string): string {
  return m.prefix === "" ? name : name.slice(m.prefix.length + 1);
}
