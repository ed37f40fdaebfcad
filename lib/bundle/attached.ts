/**
 * @module
 * What `export` writes beside the selected tags so that signatures and attestations cross
 * the air gap with their images:
 *
 * - **cosign tags** (`sha256-<hex>.sig|.att|.sbom`, lib/sources/referrers.ts) of the
 *   exported manifests (roots and platform children) are exported as tags of their own:
 *   index.json entries named like any tag, which `import` puts back as tags, where
 *   `cosign verify` looks for them.
 * - **referrers** (manifests whose `subject` is an exported manifest, walked by
 *   lib/layout/walk.ts) become index.json entries WITHOUT a name: the way oras-go's OCI
 *   store keeps untagged manifests in `index.json` (its `saveIndex` writes them, its GC
 *   keeps those whose subject chain reaches a tagged manifest), and what `import` already
 *   reads as referrers (names.ts: an entry that names no image). skopeo only looks up
 *   entries by `org.opencontainers.image.ref.name`, so the unnamed ones are invisible to it.
 */
import type { RepoIndex } from "../layout/schema.ts";
import type { ReferencedObject } from "../layout/walk.ts";
import { cosignTags } from "../sources/referrers.ts";
import type { IndexEntry } from "./sinks.ts";

/**
 * `tags` plus the cosign tags the repository holds for the manifests they reach
 * (`reached`: the walk of `tags`), in the order given then sorted.
 */
export function withCosignTags(
  index: RepoIndex,
  tags: readonly string[],
  reached: readonly ReferencedObject[],
): string[] {
  const out = new Set(tags);
  const extra: string[] = [];
  for (const o of reached) {
    if (o.kind !== "manifest") continue;
    for (const t of cosignTags(o.digest)) {
      if (index.tags[t] !== undefined && !out.has(t)) {
        out.add(t);
        extra.push(t);
      }
    }
  }
  return [...tags, ...extra.sort()];
}

/**
 * The unnamed index.json entries of the referrers among `reached` (manifests with a
 * `subject`), each digest once across `seen` (a referrer shared by two repositories is one
 * entry: import offers every unnamed entry to every image).
 */
export function referrerEntries(
  index: RepoIndex,
  reached: readonly ReferencedObject[],
  seen: Set<string>,
): IndexEntry[] {
  const out: IndexEntry[] = [];
  for (const o of reached) {
    const m = o.kind === "manifest" ? index.manifests[o.digest] : undefined;
    if (!m?.subject || seen.has(o.digest)) continue;
    seen.add(o.digest);
    const e: IndexEntry = { mediaType: m.mediaType, digest: o.digest, size: m.size };
    if (m.artifactType) e.artifactType = m.artifactType;
    out.push(e);
  }
  return out;
}
