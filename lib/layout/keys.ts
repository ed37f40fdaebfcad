/**
 * @module
 * The keys of the static layout, version 1, and the headers every writer puts on them
 * (docs/LAYOUT.md §"Keys", §"Cache-Control"). Pure, no I/O.
 *
 *   static-registry.json              marker / canary: {"layout":"static-registry","version":1}
 *   blobs/<alg>/<hex>                  blobs AND manifests, content-addressed, immutable, shared
 *   repositories/<name>/_index.json    one repository's tag index
 *   catalog.json                       the list of repositories
 *
 * `_index.json` cannot collide with a repository path component: every component of a
 * repository name starts with [a-z0-9] (distribution-spec name grammar).
 */
import { parseDigest } from "../oci/digest.ts";
import { assertName } from "../oci/reference.ts";

export const LAYOUT_VERSION = 1;
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
