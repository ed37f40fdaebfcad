/**
 * @module
 * The manifests attached to an image in a registry, found by asking for them: what
 * `publish docker://` copies beside the image when signatures are wanted (the default).
 *
 * - **Referrers** (distribution-spec §"Listing Referrers"): `GET /v2/<name>/referrers/<digest>`
 *   answers an image index of the manifests whose `subject` is `<digest>`, possibly in pages
 *   (`Link: <…>; rel="next"`). A registry without the API answers 404; then the
 *   **referrers tag schema** (§"Referrers Tag Schema") is read instead: the index tagged
 *   `<alg>-<hex>` that pushers such as cosign (`--registry-referrers-mode=oci-1-1`), oras
 *   and ggcr maintain there. Referrers of referrers are looked up too (a signature of an
 *   SBOM), breadth first, bounded by {@link MAX_REFERRERS}.
 * - **cosign's tag schema**: signatures, attestations and SBOMs of `sha256:<hex>` are
 *   manifests tagged `sha256-<hex>.sig`, `.att` and `.sbom` in the same repository; they
 *   carry no `subject`, so only their tag ties them to the image. They are published as
 *   tags, so `cosign verify` finds them where it always looks.
 *
 * Which digests to ask about is the caller's: the root AND every platform child, since
 * cosign signs the digest it is given (the index by default, each child with
 * `--recursive`) and other tools sign each child.
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { parseDigest } from "../oci/digest.ts";
import pMap from "p-map";

/** cosign's suffixes (sigstore/cosign `pkg/oci/remote`: SignatureTagSuffix, …). */
export const COSIGN_SUFFIXES = [".sig", ".att", ".sbom"] as const;

/** Referrers followed at most per image (each costs one or two requests). */
export const MAX_REFERRERS = 256;

/** Pages of one referrers answer followed at most. */
const MAX_PAGES = 64;
/** Cosign tag GETs in flight at once (three per manifest digest). */
const COSIGN_LOOKUPS = 6;

/**
 * The referrers-tag-schema tag of `digest`: `<alg>-<ref>`, the algorithm truncated to 32
 * and the encoded part to 64 characters (distribution-spec §"Referrers Tag Schema"; a
 * no-op for sha256).
 */
export function referrersTag(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `${algorithm.slice(0, 32)}-${hex.slice(0, 64)}`;
}

/**
 * cosign's tags for `digest`: `sha256-<hex>.sig`, `.att`, `.sbom` (cosign replaces the `:`
 * and truncates nothing, so a sha512 digest has no valid cosign tag: none is returned).
 */
export function cosignTags(digest: string): string[] {
  const base = digest.replace(":", "-");
  return COSIGN_SUFFIXES.map((s) => base + s).filter((t) => t.length <= 128);
}

/** What a registry says when asked for the referrers of a digest. */
export type ReferrersAnswer =
  /** The API answered: the index's `manifests` (all pages), and the next page's URL. */
  | { kind: "api"; manifests: Descriptor[]; next?: string }
  /** No referrers API (404): read the tag schema. */
  | { kind: "none" };

/** The registry operations discovery needs; DockerRegistrySource provides them. */
export interface AttachedLookup {
  /** One page of `GET /v2/<name>/referrers/<digest>` (or the `next` URL of the last). */
  referrers(digest: string, next?: string): Promise<ReferrersAnswer>;
  /**
   * The manifest tagged `tag`, fetched and verified (so later reads are served from it), or
   * null when the registry has no such tag. `index`: the parsed descriptors of an index.
   */
  taggedManifest(tag: string): Promise<{ descriptor: Descriptor; children: Descriptor[] } | null>;
}

/** What {@link findAttached} found. */
export interface Attached {
  /** Referrer manifests (their `subject` is one of the digests, or another referrer). */
  referrers: Descriptor[];
  /** cosign tags present: tag → the manifest it names. */
  tags: Map<string, Descriptor>;
  /** Whether the registry has the referrers API (false: the tag schema was read). */
  api: boolean;
}

/**
 * Looks up the referrers and cosign tags of every digest in `digests` (module doc).
 *
 * @example
 * ```ts
 * const found = await findAttached([index, ...children], source);
 * // found.tags: Map { "sha256-6e0c….sig" => { mediaType, digest, size } }
 * ```
 */
export async function findAttached(
  digests: readonly string[],
  lookup: AttachedLookup,
): Promise<Attached> {
  const out: Attached = { referrers: [], tags: new Map(), api: true };
  // Every cosign tag is asked for: a registry's tag list may be long and paged, three
  // small GETs per digest are bounded (an unchanged image costs the same each time).
  // They do not depend on the referrers walk, so they run beside it, a few at a time:
  // one after another they were ~40 ms of round trips before the first blob (issue 13).
  const tagged = cosignLookups(digests, lookup);
  tagged.catch(() => {}); // awaited below; not unhandled if the walk throws first
  const seen = new Set(digests);
  let api: boolean | undefined;
  const queue = [...digests];
  while (queue.length) {
    const subject = queue.shift()!;
    let found: Descriptor[];
    if (api !== false) {
      const answer = await allPages(subject, lookup);
      api = answer !== null;
      found = answer ?? await tagSchema(subject, lookup);
    } else {
      found = await tagSchema(subject, lookup);
    }
    for (const d of found) {
      if (seen.has(d.digest)) continue;
      if (out.referrers.length >= MAX_REFERRERS) {
        throw new Error(`more than ${MAX_REFERRERS} referrers (at ${subject}); refusing to copy`);
      }
      seen.add(d.digest);
      out.referrers.push(d);
      queue.push(d.digest);
    }
  }
  out.api = api !== false;
  for (const [tag, d] of await tagged) out.tags.set(tag, d);
  return out;
}

/** The cosign tags of `digests` that exist, in digest then cosignTags() order. */
async function cosignLookups(
  digests: readonly string[],
  lookup: AttachedLookup,
): Promise<[string, Descriptor][]> {
  const tags = digests.flatMap((digest) => cosignTags(digest));
  const found = await pMap(tags, (tag) => lookup.taggedManifest(tag), {
    concurrency: COSIGN_LOOKUPS,
  });
  const out: [string, Descriptor][] = [];
  tags.forEach((tag, i) => {
    const m = found[i];
    if (m) out.push([tag, m.descriptor]);
  });
  return out;
}

/** Every page of the referrers API for `digest`, or null when the registry has no API. */
async function allPages(digest: string, lookup: AttachedLookup): Promise<Descriptor[] | null> {
  const manifests: Descriptor[] = [];
  let next: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const answer = await lookup.referrers(digest, next);
    if (answer.kind === "none") return page === 0 ? null : manifests;
    manifests.push(...answer.manifests);
    next = answer.next;
    if (next === undefined) return manifests;
  }
  throw new Error(`referrers of ${digest}: more than ${MAX_PAGES} pages`);
}

/** The referrers the tag schema's index `<alg>-<hex>` lists (none when untagged). */
async function tagSchema(digest: string, lookup: AttachedLookup): Promise<Descriptor[]> {
  const m = await lookup.taggedManifest(referrersTag(digest));
  return m ? m.children : [];
}

/**
 * The next page of a referrers answer from its `Link` header (RFC 8288;
 * distribution-spec §"Listing Referrers": `Link: <url>; rel="next"`), resolved against
 * the request's URL; undefined when there is none.
 */
export function nextLink(link: string | null, base: string): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2])) return new URL(m[1], base).href;
  }
  return undefined;
}
