/**
 * @module
 * The checks every `/v2/<name>/...` route starts with, in distribution's order: the
 * index is loaded, the name matches the grammar (400 NAME_INVALID), the repository
 * exists (404 NAME_UNKNOWN). distribution-spec §"Error Codes".
 */
import { errors } from "../oci/errors.ts";
import { nameProblem } from "../oci/reference.ts";
import type { Registry, RepoView } from "../index/registry.ts";

/**
 * The repository `name`, or throws the spec error for why it cannot be served. Under a
 * mount (lib/server/mounts.ts) `inner` is the name within the mount's store (`app` for
 * `team-a/app`); errors always show `name`, the name the client used.
 */
export function findRepo(registry: Registry, name: string, inner: string = name): RepoView {
  if (!registry.ready) {
    throw errors.unavailable(
      inner === name
        ? "the index is not loaded yet"
        : `the index of mount "${name.slice(0, name.length - inner.length - 1)}" is not loaded yet`,
    );
  }
  const repo = registry.repo(inner);
  if (repo) return repo;
  const why = nameProblem(name);
  if (why) throw errors.nameInvalid(name, why);
  throw errors.nameUnknown(name);
}
