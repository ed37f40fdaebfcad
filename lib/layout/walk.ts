/**
 * @module
 * What a repository's tags reference, walked once for every consumer (`check`, `export`):
 * from each tag, its manifest, recursively an index's children (image-spec §"Image
 * Index"), the manifests whose `subject` is a reached manifest (referrers,
 * distribution-spec §"Listing Referrers"), and each image manifest's config and layers,
 * with the sizes the index records.
 *
 * Cycle-safe: each manifest is expanded once, so an index listing itself as a child (or
 * two referrers of each other) ends the walk instead of recursing forever.
 */
import type { RepoIndex } from "./schema.ts";

/** One object a tag references. */
export interface ReferencedObject {
  digest: string;
  size: number;
  kind: "manifest" | "blob";
  /** `repo:tag` of the first tag whose walk reached it (for people reading a report). */
  ref: string;
}

export interface WalkOptions {
  /** The tags to start from, in this order; every tag (sorted) when absent. */
  tags?: readonly string[];
  /** Also follow referrers of reached manifests (default true). */
  referrers?: boolean;
}

/**
 * Every object the tags of `index` reference, each digest once, in walk order. Throws
 * naming the repository when a tag is unknown or the index lacks a referenced manifest
 * or blob size (a store the layout's rules would have refused).
 */
export function referencedObjects(index: RepoIndex, opts: WalkOptions = {}): ReferencedObject[] {
  const bySubject = opts.referrers === false ? undefined : referrersOf(index);
  const out = new Map<string, ReferencedObject>();
  const expanded = new Set<string>();
  for (const tag of opts.tags ?? Object.keys(index.tags).sort()) {
    const root = index.tags[tag];
    if (root === undefined) throw new Error(`repository "${index.name}" has no tag "${tag}"`);
    const ref = `${index.name}:${tag}`;
    const stack = [root];
    while (stack.length) {
      const digest = stack.pop()!;
      if (expanded.has(digest)) continue;
      expanded.add(digest);
      const m = index.manifests[digest];
      if (!m) {
        throw new Error(`repository "${index.name}": manifest ${digest} is not in its index`);
      }
      if (!out.has(digest)) out.set(digest, { digest, size: m.size, kind: "manifest", ref });
      for (const b of m.blobs ?? []) {
        const size = index.blobs[b];
        if (size === undefined) {
          throw new Error(`repository "${index.name}": blob ${b} has no size in its index`);
        }
        if (!out.has(b)) out.set(b, { digest: b, size, kind: "blob", ref });
      }
      // Reversed so that popping visits children in document order.
      stack.push(...[...(bySubject?.get(digest) ?? []), ...(m.children ?? [])].reverse());
    }
  }
  return [...out.values()];
}

/** subject digest → digests of the manifests that name it, sorted (lib/layout/removal.ts too). */
export function referrersOf(index: RepoIndex): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const digest of Object.keys(index.manifests).sort()) {
    const subject = index.manifests[digest].subject;
    if (subject === undefined) continue;
    const list = map.get(subject);
    if (list) list.push(digest);
    else map.set(subject, [digest]);
  }
  return map;
}
