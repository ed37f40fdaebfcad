/**
 * @module
 * `GET /v2/<name>/referrers/<digest>?artifactType=` (distribution-spec §"Listing
 * Referrers"): an image index of the descriptors of this repository's manifests whose
 * `subject` is `<digest>`. An unknown subject gives an empty index, never 404; filtering by
 * `artifactType` is announced with `OCI-Filters-Applied: artifactType`.
 */
import { parseDigest } from "../oci/digest.ts";
import { OCI_INDEX } from "../oci/mediatypes.ts";
import type { RequestContext } from "./context.ts";
import { json } from "./http.ts";
import { withRepo } from "./lookup.ts";
import type { RepoView } from "../index/registry.ts";

/** The referrers handler. */
export function referrers(c: RequestContext): Response | Promise<Response> {
  return withRepo(c, (repo) => listReferrers(c, repo));
}

function listReferrers(c: RequestContext, repo: RepoView): Response {
  const digest = parseDigest(c.ref).digest;
  let list = repo.referrers(digest);
  const headers: Record<string, string> = { "Content-Type": OCI_INDEX };
  const artifactType = c.query === "" ? null : new URLSearchParams(c.query).get("artifactType");
  if (artifactType !== null) {
    list = list.filter((r) => r.artifactType === artifactType);
    headers["OCI-Filters-Applied"] = "artifactType";
  }
  return json(200, { schemaVersion: 2, mediaType: OCI_INDEX, manifests: list }, headers);
}
