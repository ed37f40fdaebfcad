/**
 * @module
 * The checks every `/v2/<name>/...` route starts with, in distribution's order: the
 * index is loaded, the name matches the grammar (400 NAME_INVALID), the repository
 * exists (404 NAME_UNKNOWN). distribution-spec §"Error Codes".
 */
import { errors } from "../oci/errors.ts";
import { nameProblem } from "../oci/reference.ts";
import type { Registry, RepoView } from "../index/registry.ts";

/** The repository `name`, or throws the spec error for why it cannot be served. */
export function findRepo(registry: Registry, name: string): RepoView {
  if (!registry.ready) throw errors.unavailable("the index is not loaded yet");
  const repo = registry.repo(name);
  if (repo) return repo;
  const why = nameProblem(name);
  if (why) throw errors.nameInvalid(name, why);
  throw errors.nameUnknown(name);
}
