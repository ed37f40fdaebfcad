/**
 * @module
 * The checks every `/v2/<name>/...` route starts with, in distribution's order: the
 * index is loaded, the name matches the grammar (400 NAME_INVALID), the repository
 * exists (404 NAME_UNKNOWN). distribution-spec §"Error Codes".
 *
 * With `index.load: "on-demand"` a repository not held is read first (a promise; 503
 * UNAVAILABLE when it cannot be read now, lib/index/held.ts). Handlers stay synchronous
 * for a held one: {@link withRepo}.
 */
import { errors } from "../oci/errors.ts";
import { nameProblem } from "../oci/reference.ts";
import type { RepoView } from "../index/registry.ts";
import type { RequestContext } from "./context.ts";

/**
 * The repository of the request, or throws the spec error for why it cannot be served.
 * It is looked up as `c.repo` in `c.mount`'s index (`app` for `team-a/app` under mount
 * `team-a`, lib/server/mounts.ts); errors always show `c.name`, the name the client used.
 */
export function findRepo(c: RequestContext): RepoView | Promise<RepoView> {
  const { registry, prefix } = c.mount;
  if (!registry.ready) {
    throw errors.unavailable(
      prefix === ""
        ? "the index is not loaded yet"
        : `the index of mount "${prefix}" is not loaded yet`,
    );
  }
  const repo = registry.lookup(c.repo);
  if (repo) return repo;
  const why = nameProblem(c.name);
  if (why) throw errors.nameInvalid(c.name, why);
  throw errors.nameUnknown(c.name);
}

/**
 * Runs `then` on the request's repository: at once when it is held (no promise on the
 * path of a 307), after its read otherwise.
 */
export function withRepo<T>(
  c: RequestContext,
  then: (repo: RepoView) => T | Promise<T>,
): T | Promise<T> {
  const repo = findRepo(c);
  return repo instanceof Promise ? repo.then(then) : then(repo);
}
