/**
 * @module
 * The tag-index entry for a manifest (docs/LAYOUT.md §"repositories/<name>/_index.json"),
 * built in one place for every writer: publish, and import through publish.
 */
import type { ManifestInfo } from "../oci/mediatypes.ts";
import type { ManifestEntry } from "./schema.ts";
import { validateManifestEntry } from "./rules.ts";

/**
 * The entry for a manifest of `size` bytes parsed as `info`, checked against the rules
 * the server reads it with. Throws a FieldError naming the field (`annotations[org.x]`)
 * when the manifest carries something the server would refuse (a non-string annotation,
 * a `subject` that is not a digest we serve).
 */
export function manifestEntry(info: ManifestInfo, size: number): ManifestEntry {
  const e: Record<string, unknown> = { mediaType: info.mediaType, size };
  if (info.annotations) e.annotations = info.annotations;
  if (info.artifactType) e.artifactType = info.artifactType;
  if (info.subject) e.subject = info.subject.digest;
  if (info.manifests.length) e.children = info.manifests.map((c) => c.digest);
  if (info.blobs.length) e.blobs = info.blobs.map((b) => b.digest);
  return validateManifestEntry(e);
}
