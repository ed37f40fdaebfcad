/**
 * @module
 * The keys of the static layout (versions 1 and 2 share them) and the headers every writer
 * puts on them (docs/LAYOUT.md §"Keys", §"Cache-Control"). Pure, no I/O.
 *
 *   static-registry.json              marker / canary: {"layout":"static-registry","version":2}
 *   blobs/<alg>/<hex>                  blobs AND manifests, content-addressed, immutable, shared
 *   repositories/<name>/_index.json    one repository's tag index
 *   catalog.json                       the list of repositories
 *
 * `_index.json` cannot collide with a repository path component: every component of a
 * repository name starts with [a-z0-9] (distribution-spec name grammar).
 */
import { parseDigest } from "../oci/digest.ts";
import { assertName } from "../oci/reference.ts";

/**
 * The layout version new stores get (docs/LAYOUT.md §"Versioning"): 2, whose catalog names
 * each repository's tag-index digest so a refresh reads only what changed. Readers accept
 * every version in {@link LAYOUT_VERSIONS}; a store stays at its version until `migrate`.
 */
export const LAYOUT_VERSION = 2;
/** The layout versions this build reads and writes. */
export const LAYOUT_VERSIONS = [1, 2] as const;
export type LayoutVersion = typeof LAYOUT_VERSIONS[number];
/** The version of a tag index document: unchanged by layout version 2. */
export const TAG_INDEX_VERSION = 1;
export const MARKER_KEY = "static-registry.json";
export const CATALOG_KEY = "catalog.json";

/** Cache-Control for content-addressed objects: they never change. */
export const CACHE_IMMUTABLE = "public, max-age=31536000, immutable";
/** Cache-Control for index documents (tag index, catalog, marker): short. */
export const CACHE_INDEX = "public, max-age=10, must-revalidate";
/** Content-Type of the layout's JSON documents. */
export const DOCUMENT_TYPE = "application/json";

/** `blobs/<alg>/<hex>`; throws DIGEST_INVALID for anything that is not a digest. */
export function blobKey(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

/** `repositories/<name>/_index.json`; throws NAME_INVALID for an invalid name. */
export function repoIndexKey(name: string): string {
  return `repositories/${assertName(name)}/_index.json`;
}
