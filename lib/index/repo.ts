/**
 * @module
 * What the server precomputes for one repository when its tag index is loaded, so that
 * every request is a hash lookup or a binary search: the sorted tag list (for paging,
 * distribution-spec §"Listing Tags") and the subject → referrers map (distribution-spec
 * §"Listing Referrers").
 */
import { record, type RepoIndex } from "../layout/schema.ts";

/** A referrer descriptor as the referrers API lists it (image-spec §"Descriptors"). */
export interface Referrer {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

const NONE: readonly Referrer[] = Object.freeze([]);

type ManifestEntry = RepoIndex["manifests"][string];

/**
 * Shares equal strings and manifest entries between the repositories read in one load or
 * refresh (lib/index/snapshot.ts makes one per read, so nothing outlives the snapshots that
 * use it). Tags of many repositories point at the same few manifests and layers (the
 * synthetic 1M-tag store: 4 manifests; real stores share base layers): one copy each
 * instead of one per repository keeps the index's heap small (issue 13, Deliver 2).
 */
export class Interner {
  readonly #strings = new Map<string, string>();
  /** digest → the entry and its JSON, so only an identical entry is shared. */
  readonly #entries = new Map<string, { json: string; entry: ManifestEntry }>();

  str(s: string): string {
    const had = this.#strings.get(s);
    if (had !== undefined) return had;
    this.#strings.set(s, s);
    return s;
  }

  /**
   * The shared copy of `entry` (with its strings interned), or `entry` itself when the
   * digest was seen with different fields (a store written by hand: each repository keeps
   * what its own index says).
   */
  entry(digest: string, entry: ManifestEntry): ManifestEntry {
    const json = JSON.stringify(entry);
    const had = this.#entries.get(digest);
    if (had) return had.json === json ? had.entry : entry;
    const e: ManifestEntry = { mediaType: this.str(entry.mediaType), size: entry.size };
    if (entry.annotations !== undefined) e.annotations = entry.annotations;
    if (entry.artifactType !== undefined) e.artifactType = this.str(entry.artifactType);
    if (entry.subject !== undefined) e.subject = this.str(entry.subject);
    if (entry.children !== undefined) e.children = entry.children.map((d) => this.str(d));
    if (entry.blobs !== undefined) e.blobs = entry.blobs.map((d) => this.str(d));
    this.#entries.set(digest, { json, entry: e });
    return e;
  }
}

/**
 * One loaded repository: its validated index, held compactly, plus lookups built once.
 *
 * Why not the parsed document itself: a JSON object keyed by tags or digests costs JSC a
 * hidden-class (Structure) chain per distinct key sequence, i.e. per repository in a real
 * store, and every tag's digest a string of its own. Here the tags are one sorted array
 * (which tag listing needs anyway) with a parallel array of small indexes into the
 * repository's distinct manifest digests, found by binary search; manifests and blobs are
 * Maps; digests, tag names and manifest entries are shared across repositories
 * ({@link Interner}). `index` rebuilds the document for the rare callers that want it.
 */
export class RepoView {
  /** Tags in lexical (code unit) order. */
  readonly sortedTags: readonly string[];
  /** The storage etag the index was read with, for the next conditional read. */
  readonly etag: string | undefined;
  /**
   * The sha256 digest of the bytes read: what a layout-version-2 catalog records for an
   * unchanged tag index (lib/index/snapshot.ts reads only those whose digest differs).
   */
  readonly digest: string | undefined;
  readonly #name: string;
  readonly #version: RepoIndex["version"];
  readonly #tagged: RepoIndex["tagged"];
  /** `sortedTags[i]` points at `#targets[#tagTarget[i]]`. */
  readonly #tagTarget: Uint8Array | Uint16Array | Uint32Array;
  readonly #targets: readonly string[];
  readonly #manifests: Map<string, ManifestEntry>;
  readonly #blobs: Map<string, number>;
  readonly #referrers: Map<string, Referrer[]> | undefined;

  constructor(index: RepoIndex, etag?: string, digest?: string, pool = new Interner()) {
    this.etag = etag;
    this.digest = digest;
    this.#name = index.name;
    this.#version = index.version;
    this.#tagged = index.tagged;
    const tags = Object.keys(index.tags).sort();
    const targets: string[] = [];
    const targetOf = new Map<string, number>();
    const n = tags.length;
    const at = new Uint32Array(n); // narrowed below once the number of targets is known
    for (let i = 0; i < n; i++) {
      const tag = tags[i] = pool.str(tags[i]);
      const d = index.tags[tag];
      let k = targetOf.get(d);
      if (k === undefined) {
        targetOf.set(d, k = targets.length);
        targets.push(pool.str(d));
      }
      at[i] = k;
    }
    this.sortedTags = tags;
    this.#targets = targets;
    this.#tagTarget = targets.length <= 256
      ? Uint8Array.from(at)
      : targets.length <= 65536
      ? Uint16Array.from(at)
      : at;
    this.#manifests = new Map();
    let referrers: Map<string, Referrer[]> | undefined;
    for (const d in index.manifests) {
      const m = pool.entry(d, index.manifests[d]);
      const key = pool.str(d);
      this.#manifests.set(key, m);
      if (!m.subject) continue;
      const r: Referrer = { mediaType: m.mediaType, digest: key, size: m.size };
      if (m.artifactType !== undefined) r.artifactType = m.artifactType;
      if (m.annotations !== undefined) r.annotations = m.annotations;
      referrers ??= new Map();
      let list = referrers.get(m.subject);
      if (!list) referrers.set(m.subject, list = []);
      list.push(r);
    }
    this.#blobs = new Map();
    for (const d in index.blobs) this.#blobs.set(pool.str(d), index.blobs[d]);
    // A stable order makes responses cacheable and tests deterministic.
    for (const list of referrers?.values() ?? []) list.sort((a, b) => cmp(a.digest, b.digest));
    this.#referrers = referrers;
  }

  /** The manifest digest a tag points at. */
  tagDigest(tag: string): string | undefined {
    const tags = this.sortedTags;
    let lo = 0;
    let hi = tags.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const t = tags[mid];
      if (t === tag) return this.#targets[this.#tagTarget[mid]];
      if (t < tag) lo = mid + 1;
      else hi = mid;
    }
    return undefined;
  }

  /** The index entry of a manifest this repository holds, or undefined. */
  manifest(digest: string): ManifestEntry | undefined {
    return this.#manifests.get(digest);
  }

  /** Size of a blob or manifest this repository references, or undefined. */
  referencedSize(digest: string): number | undefined {
    return this.#blobs.get(digest) ?? this.#manifests.get(digest)?.size;
  }

  /** The manifests whose `subject` is `digest`. */
  referrers(digest: string): readonly Referrer[] {
    return this.#referrers?.get(digest) ?? NONE;
  }

  /**
   * The tag index as a document (tags in sorted order), rebuilt on each call: for `check`
   * and tests, not for requests.
   */
  get index(): RepoIndex {
    const tags = record<string>();
    this.sortedTags.forEach((t, i) => tags[t] = this.#targets[this.#tagTarget[i]]);
    const index: RepoIndex = {
      version: this.#version,
      name: this.#name,
      tags,
      manifests: record(),
      blobs: record(),
    };
    for (const [d, m] of this.#manifests) index.manifests[d] = m;
    for (const [d, size] of this.#blobs) index.blobs[d] = size;
    if (this.#tagged !== undefined) index.tagged = this.#tagged;
    return index;
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
