/**
 * @module
 * Federation in the server: one app fronts several stores. Repository `team-a/app` is
 * repository `app` of the store mounted at `team-a` (lib/config/mounts.ts); a name under no
 * mount is the root store's. Prefixes are never nested, so at most one mount matches and
 * the lookup is one pass over the prefixes with `startsWith` — no allocation but the inner
 * name's slice. Every `/v2/<name>/...` route resolves the mount once, then runs that
 * store's own route functions (its registry, store and origins).
 *
 * A root repository whose name falls under a mount (`team-a/old` in the root store while
 * `team-a` is mounted) can never be reached: the mount wins, the root's copy is hidden
 * from `_catalog` too, and a warning names it (lib/server/catalog.ts).
 */
import type { Logger } from "../log.ts";
import { blobsRoute } from "./blobs.ts";
import type { Mount } from "./deps.ts";
import { manifestsRoute } from "./manifests.ts";
import { referrersRoute } from "./referrers.ts";
import { tagsRoute } from "./tags.ts";

/** The route functions of one store (the root has prefix `""`). */
export interface MountRoutes {
  readonly prefix: string;
  readonly manifests: ReturnType<typeof manifestsRoute>;
  readonly blobs: ReturnType<typeof blobsRoute>;
  readonly tags: ReturnType<typeof tagsRoute>;
  readonly referrers: ReturnType<typeof referrersRoute>;
}

/** Builds the routes of one store, once per app. */
export function mountRoutes(m: Mount, log: Logger): MountRoutes {
  return {
    prefix: m.prefix,
    manifests: manifestsRoute(m.registry, log),
    blobs: blobsRoute(m.registry, m.store, m.origins, log),
    tags: tagsRoute(m.registry),
    referrers: referrersRoute(m.registry),
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
  root: MountRoutes,
  mounts: readonly MountRoutes[],
): (name: string) => MountRoutes {
  return function pick(name: string): MountRoutes {
    for (let i = 0; i < mounts.length; i++) {
      if (isUnder(name, mounts[i].prefix)) return mounts[i];
    }
    return root;
  };
}

/** `name` within the store of `m` (the name itself for the root). */
export function innerName(m: MountRoutes, name: string): string {
  return m.prefix === "" ? name : name.slice(m.prefix.length + 1);
}
