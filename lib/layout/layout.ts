/**
 * @module
 * The static layout, version 1 (docs/LAYOUT.md is the prose of this file): object keys
 * and the JSON documents the server reads. Pure, no I/O.
 *
 *   static-registry.json              marker / canary: {"layout":"static-registry","version":1}
 *   blobs/<alg>/<hex>                  blobs AND manifests, content-addressed, immutable, shared
 *   repositories/<name>/_index.json    one repository's tag index (RepoIndex)
 *   catalog.json                       the list of repositories (Catalog)
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

export function blobKey(digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

export function repoIndexKey(name: string): string {
  return `repositories/${assertName(name)}/_index.json`;
}

export interface Marker {
  layout: "static-registry";
  version: number;
}
export const MARKER: Marker = { layout: "static-registry", version: LAYOUT_VERSION };

export interface Catalog {
  version: number;
  /** Sorted, unique repository names. */
  repositories: string[];
}

/** A manifest the repository holds, tagged or not. Keyed by digest in RepoIndex.manifests. */
export interface ManifestEntry {
  mediaType: string;
  size: number;
  annotations?: Record<string, string>;
  /** For the referrers API: the artifact type and the subject digest. */
  artifactType?: string;
  subject?: string;
  /** For an index: digests of its child manifests (all held by this repository too). */
  children?: string[];
  /** For an image manifest: digests of config and layers (all in RepoIndex.blobs). */
  blobs?: string[];
}

/** One repository's tag index (`repositories/<name>/_index.json`). */
export interface RepoIndex {
  version: number;
  name: string;
  /** tag → manifest digest (a key of `manifests`). */
  tags: Record<string, string>;
  /** Every manifest the repository holds: tagged ones, index children, referrers. */
  manifests: Record<string, ManifestEntry>;
  /** digest → size of every blob (config, layer) any of the manifests references. */
  blobs: Record<string, number>;
}

export function emptyRepoIndex(name: string): RepoIndex {
  return { version: LAYOUT_VERSION, name, tags: {}, manifests: {}, blobs: {} };
}

const enc = new TextEncoder();
/** Serialises a document the way every writer does (stable key order as given, newline). */
export function encodeDocument(doc: unknown): Uint8Array {
  return enc.encode(JSON.stringify(doc) + "\n");
}
