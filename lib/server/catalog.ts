/**
 * @module
 * `GET /v2/_catalog?n=&last=` (distribution's catalog API, paged like tags):
 * `{"repositories":[…]}` in lexical order.
 *
 * With mounts (lib/server/mounts.ts) the list is the root's repositories that no mount
 * hides, plus `<prefix>/<name>` for every mount's repositories, sorted. The merged list
 * is cached and rebuilt only when one of the indexes changed: a Registry swaps its
 * repository list (a new array) on every load or refresh, so comparing the arrays by
 * identity tells whether the cache is stale without looking at the names. While any
 * store's index is not loaded the catalog is 503: a partial list would read as "these
 * repositories are gone" to a client mirroring the registry.
 */
import { errors } from "../oci/errors.ts";
import type { Logger } from "../log.ts";
import type { Registry } from "../index/registry.ts";
import type { RequestContext } from "./context.ts";
import type { Mount } from "./deps.ts";
import { json } from "./http.ts";
import { isUnder } from "./mounts.ts";
import { paginate } from "./paging.ts";

/**
 * The sorted repository list `_catalog` pages through: the root registry's own list
 * without mounts, else {@link federatedCatalog}. Throws UNAVAILABLE before a load.
 */
export function repositoryList(
  registry: Registry,
  mounts: readonly Mount[],
  log: Logger,
): () => readonly string[] {
  if (mounts.length) return federatedCatalog(registry, mounts, log);
  return function rootList(): readonly string[] {
    if (!registry.ready) throw errors.unavailable("the index is not loaded yet");
    return registry.repositories();
  };
}

/** Builds the catalog handler over a repository list (see {@link repositoryList}). */
export function catalogRoute(list: () => readonly string[]) {
  return function catalog(c: RequestContext): Response {
    // With auth, only what the caller may pull (lib/auth/middleware.ts sets the filter).
    const names = c.mayPull ? list().filter(c.mayPull) : list();
    const page = paginate(names, c.query, "/v2/_catalog");
    return json(200, { repositories: page.items }, page.link ? { Link: page.link } : undefined);
  };
}

/**
 * The merged, sorted repository list of the root and every mount, cached until an index
 * changes. Throws UNAVAILABLE naming the stores whose index is not loaded. Root
 * repositories hidden by a mount are logged (a warning, once per name).
 */
export function federatedCatalog(
  root: Registry,
  mounts: readonly Mount[],
  log: Logger,
): () => readonly string[] {
  let sources: (readonly string[])[] = [];
  let merged: readonly string[] = [];
  const warned = new Set<string>();

  return function federatedList(): readonly string[] {
    const missing = [root, ...mounts.map((m) => m.registry)]
      .map((r, i) => r.ready ? undefined : i === 0 ? "the root store" : `"${mounts[i - 1].prefix}"`)
      .filter((w) => w !== undefined);
    if (missing.length) {
      throw errors.unavailable(`the index of ${missing.join(", ")} is not loaded yet`);
    }
    const now = [root.repositories(), ...mounts.map((m) => m.registry.repositories())];
    if (now.length === sources.length && now.every((s, i) => s === sources[i])) return merged;
    const names: string[] = [];
    const shadowed: string[] = [];
    for (const name of now[0]) {
      if (mounts.some((m) => isUnder(name, m.prefix))) shadowed.push(name);
      else names.push(name);
    }
    mounts.forEach((m, i) => {
      for (const name of now[i + 1]) names.push(`${m.prefix}/${name}`);
    });
    // The order of pageAfter (lib/index/repo.ts): UTF-16 code units, as sort() compares.
    names.sort();
    const fresh = shadowed.filter((n) => !warned.has(n));
    if (fresh.length) {
      for (const n of fresh) warned.add(n);
      log.warn(
        { repositories: fresh },
        "root-store repositories under a mount prefix are hidden by the mount",
      );
    }
    sources = now;
    merged = names;
    return merged;
  };
}
