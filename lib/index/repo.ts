/**
 * @module
 * What the server precomputes for one repository when its tag index is loaded, so that
 * every request is a hash lookup or a binary search: the sorted tag list (for paging,
 * distribution-spec §"Listing Tags") and the subject → referrers map (distribution-spec
 * §"Listing Referrers").
 */
import type { RepoIndex } from "../layout/schema.ts";

/** A referrer descriptor as the referrers API lists it (image-spec §"Descriptors"). */
export interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

const NONE: readonly Referrer[] = Object.freeze([]);

/** One loaded repository: its validated index plus lookups built once. */
export class RepoView {
  readonly index: RepoIndex;
  /** Tags in lexical (code unit) order. */
  readonly sortedTags: readonly string[];
  /** The storage etag the index was read with, for the next conditional read. */
  readonly etag: string | undefined;
  /**
   * The sha256 digest of the bytes read: what a layout-version-2 catalog records for an
   * unchanged tag index (lib/index/snapshot.ts reads only those whose digest differs).
   */
  readonly digest: string | undefined;
  /** The size of the document read (what index.cacheBytes counts, lib/index/held.ts). */
  readonly bytes: number;
  readonly #referrers: Map<string, Referrer[]>;

  constructor(index: RepoIndex, etag?: string, digest?: string, bytes = 0) {
    this.index = index;
    this.etag = etag;
    this.digest = digest;
    this.bytes = bytes;
    this.sortedTags = Object.keys(index.tags).sort();
    this.#referrers = new Map();
    for (const digest in index.manifests) {
      const m = index.manifests[digest];
      if (!m.subject) continue;
      const r: Referrer = { mediaType: m.mediaType, digest, size: m.size };
      if (m.artifactType !== undefined) r.artifactType = m.artifactType;
      if (m.annotations !== undefined) r.annotations = m.annotations;
      let list = this.#referrers.get(m.subject);
      if (!list) this.#referrers.set(m.subject, list = []);
      list.push(r);
    }
    // A stable order makes responses cacheable and tests deterministic.
    for (const list of this.#referrers.values()) list.sort((a, b) => cmp(a.digest, b.digest));
  }

  /** The manifest digest a tag points at. */
  tagDigest(tag: string): string | undefined {
    return this.index.tags[tag];
  }

  /** Size of a blob or manifest this repository references, or undefined. */
  referencedSize(digest: string): number | undefined {
    return this.index.blobs[digest] ?? this.index.manifests[digest]?.size;
  }

  /** The manifests whose `subject` is `digest`. */
  referrers(digest: string): readonly Referrer[] {
    return this.#referrers.get(digest) ?? NONE;
  }
}

/**
 * One page of a sorted list: up to `n` items strictly after `last` (distribution-spec
 * §"Listing Tags": "the response will include up to n tags, beginning after last").
 * `more` tells whether items remain after the page.
 */
export function pageAfter(
  sorted: readonly string[],
  last: string | undefined,
  n: number,
): { items: string[]; more: boolean } {
  let lo = 0;
  if (last !== undefined) {
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid] <= last) lo = mid + 1;
      else hi = mid;
    }
  }
  const end = Math.min(sorted.length, lo + n);
  return { items: sorted.slice(lo, end), more: end < sorted.length };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
