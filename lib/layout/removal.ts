/**
 * @module
 * What leaves a tag index when tags or manifests go (`delete`, and a tag moved by
 * `publish`): the manifests reachable from what goes — an index's children (image-spec
 * §"Image Index") and the referrers whose `subject` is a reached manifest
 * (distribution-spec §"Listing Referrers"), recursively — that nothing staying still
 * reaches, and the blob entries no staying manifest lists. Pure, no I/O; the objects
 * themselves stay in the store (gc reclaims them).
 *
 * What stays reaches: every remaining tag, and every manifest outside what goes (an
 * untagged image imported by digest, or a referrer of a manifest that stays). So content
 * shared with another tag stays, and a signature of a kept image stays even when the
 * deleted image listed it too.
 *
 * A manifest named for deletion by digest that a staying manifest lists as a child (a
 * platform of a tagged index) cannot go: the index would name a manifest the repository
 * no longer serves. That is a {@link StillReferenced} naming the parent and the tag.
 * Being the subject of a staying referrer is no such reference: deleting a signature by
 * digest is fine, while a referrer never keeps its subject.
 */
import type { RepoIndex } from "./schema.ts";
import { referrersOf } from "./walk.ts";

/** What a removal takes out of one tag index, each list sorted. */
export interface Removal {
  /** Tags that go, with the digest each pointed at. */
  tags: { tag: string; digest: string }[];
  /** Manifests that go (digests). */
  manifests: string[];
  /** Blob entries that go (digests). */
  blobs: string[];
}

/** A manifest named for deletion that a staying manifest still lists as a child. */
export class StillReferenced extends Error {
  override name = "StillReferenced";
  constructor(
    readonly repo: string,
    readonly digest: string,
    readonly parent: string,
    /** The staying tags that reach the manifest, sorted; empty for an untagged parent. */
    readonly tags: readonly string[],
  ) {
    const refs = tags.map((t) => `${repo}:${t}`);
    super(
      tags.length === 0
        ? `${repo}@${digest} is still referenced: it is a child of untagged manifest ` +
          `${parent}; delete ${repo}@${parent} too`
        : `${repo}@${digest} is still referenced: it is a child of ${parent}, and ` +
          `${refs.length === 1 ? "tag" : "tags"} ${refs.join(", ")} reach it; ` +
          `delete ${refs.join(" and ")} too`,
    );
  }
}

/** What goes: tags by name, manifests by digest (each must be held; the caller checks). */
export interface RemovalRequest {
  tags?: Iterable<string>;
  digests?: Iterable<string>;
}

/**
 * Plans removing `req` from `index`: the tags named, the tags pointing at a digest named,
 * and every manifest and blob entry only they reach. Throws StillReferenced (see the
 * module doc); unknown tags or digests are ignored here (the caller names them first).
 */
export function planRemoval(index: RepoIndex, req: RemovalRequest): Removal {
  const forced = new Set([...req.digests ?? []].filter((d) => d in index.manifests));
  const goneTags = new Set([...req.tags ?? []].filter((t) => Object.hasOwn(index.tags, t)));
  for (const tag of Object.keys(index.tags)) if (forced.has(index.tags[tag])) goneTags.add(tag);
  const roots = [...forced, ...[...goneTags].map((t) => index.tags[t])];
  const staying = Object.keys(index.tags).filter((t) => !goneTags.has(t)).sort();
  const manifests = unreachable(index, roots, staying, forced);
  return {
    tags: [...goneTags].sort().map((tag) => ({ tag, digest: index.tags[tag] })),
    manifests,
    blobs: orphanBlobs(index, manifests),
  };
}

/**
 * The manifests reached from `roots` that neither a tag of `staying` nor a manifest
 * outside that reach still reaches, sorted. `forced` digests go whatever reaches them,
 * unless a staying manifest lists one as a child (StillReferenced).
 */
export function unreachable(
  index: RepoIndex,
  roots: Iterable<string>,
  staying: readonly string[],
  forced: ReadonlySet<string> = new Set(),
): string[] {
  const bySubject = referrersOf(index);
  const edges = (d: string) => [...index.manifests[d]?.children ?? [], ...bySubject.get(d) ?? []];
  const candidates = new Set<string>();
  const stack = [...roots].filter((d) => d in index.manifests);
  while (stack.length) {
    const d = stack.pop()!;
    if (candidates.has(d) || !(d in index.manifests)) continue;
    candidates.add(d);
    stack.push(...edges(d));
  }
  // The keep walk: from the staying tags, then from every manifest outside the candidates.
  const kept = new Map<string, string | undefined>(); // digest → tag that reached it
  const seeds: [string, string | undefined][] = [
    ...staying.map((t): [string, string] => [index.tags[t], t]),
    ...Object.keys(index.manifests).sort().filter((d) => !candidates.has(d))
      .map((d): [string, undefined] => [d, undefined]),
  ];
  for (const [seed, tag] of seeds) {
    const walk = [seed];
    while (walk.length) {
      const d = walk.pop()!;
      if (kept.has(d) || !(d in index.manifests)) continue;
      kept.set(d, tag);
      const m = index.manifests[d];
      for (const child of m.children ?? []) {
        if (forced.has(child)) {
          const tags = tag === undefined
            ? []
            : staying.filter((t) => reaches(index.tags[t], child, edges));
          throw new StillReferenced(index.name, child, d, tags);
        }
        walk.push(child);
      }
      // A referrer named for deletion goes even though its subject stays.
      for (const r of bySubject.get(d) ?? []) if (!forced.has(r)) walk.push(r);
    }
  }
  return [...candidates].filter((d) => !kept.has(d)).sort();
}

/** Whether `digest` is `root` or reached from it along `edges` (for a message only). */
function reaches(root: string, digest: string, edges: (d: string) => string[]): boolean {
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length) {
    const d = stack.pop()!;
    if (d === digest) return true;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...edges(d));
  }
  return false;
}

/** Blob entries listed by `gone` manifests and by no other manifest of `index`, sorted. */
export function orphanBlobs(index: RepoIndex, gone: readonly string[]): string[] {
  const goneSet = new Set(gone);
  const candidates = new Set(gone.flatMap((d) => index.manifests[d].blobs ?? []));
  for (const d of Object.keys(index.manifests)) {
    if (goneSet.has(d)) continue;
    for (const b of index.manifests[d].blobs ?? []) candidates.delete(b);
  }
  return [...candidates].filter((b) => b in index.blobs).sort();
}

/**
 * `index` without what `removal` lists: a new document (records with null prototypes, key
 * order kept) — `tagged` loses the removed tags' times.
 */
export function applyRemoval(index: RepoIndex, removal: Removal): RepoIndex {
  const goneTags = new Set(removal.tags.map((t) => t.tag));
  const goneManifests = new Set(removal.manifests);
  const goneBlobs = new Set(removal.blobs);
  const out: RepoIndex = {
    ...index,
    tags: keep(index.tags, goneTags),
    manifests: keep(index.manifests, goneManifests),
    blobs: keep(index.blobs, goneBlobs),
  };
  if (index.tagged !== undefined) out.tagged = keep(index.tagged, goneTags);
  return out;
}

function keep<T>(rec: Record<string, T>, gone: ReadonlySet<string>): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const k of Object.keys(rec)) if (!gone.has(k)) out[k] = rec[k];
  return out;
}
