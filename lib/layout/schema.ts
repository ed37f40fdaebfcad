/**
 * @module
 * The shapes of the layout's three JSON documents (docs/LAYOUT.md §"Documents"), written
 * once with TypeBox: the marker, the catalog and a repository's tag index. The types the
 * rest of the code uses are derived from them, so a field exists in one place.
 *
 * The shapes are open (unknown fields are ignored and kept), as readers of version 1
 * always were. Grammars (digests, tags, names) are not repeated here as patterns: they
 * live in lib/oci and are applied by lib/layout/rules.ts, with the spec's reasons.
 */
import { type Static, Type } from "@sinclair/typebox";
import { LAYOUT_VERSION, TAG_INDEX_VERSION } from "./keys.ts";

/** A byte size: what JSON can carry exactly (image-spec §"Descriptors": int64 ≥ 0). */
export const SizeSchema = Type.Integer({
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
  "x-what": "size",
  "x-expected": "an integer from 0 to 2^53-1",
});

/** A document's `version`; `expected` says what this build reads, for the message. */
const Version = <V extends number>(v: V, expected = `version ${v}`) =>
  Type.Literal(v, { "x-what": "version", "x-expected": expected });
/** The marker's version is the store's layout version: 1 or 2. */
const LayoutVersion = Type.Union([Version(1), Version(2)], {
  "x-what": "version",
  "x-expected": "versions 1 and 2",
});

export const MarkerSchema = Type.Object({
  layout: Type.Literal("static-registry", { "x-what": "layout" }),
  version: LayoutVersion,
  /**
   * The store's identity, written once by the first publish or import (a UUID v4 from
   * this writer; any text of the STORE_ID grammar, lib/layout/rules.ts, from another). The
   * health checker compares each origin's with the served store's. Optional: stores
   * published before identities have none until their next publish.
   */
  id: Type.Optional(Type.String()),
  /** When the id was written (RFC 3339 UTC, informational). */
  created: Type.Optional(Type.String()),
});
export type Marker = Static<typeof MarkerSchema>;
/** The marker without an identity (what stores published before identities hold). */
export const MARKER: Marker = { layout: "static-registry", version: LAYOUT_VERSION };

/** Layout version 1's catalog: the repository names. */
export const CatalogV1Schema = Type.Object({
  version: Version(1, "versions 1 and 2"),
  /** Sorted, unique repository names. */
  repositories: Type.Array(Type.String()),
});
/**
 * Layout version 2's catalog: repository name → the digest of the exact bytes of its tag
 * index (docs/LAYOUT.md §"catalog.json"). A server whose copy of a tag index has that
 * digest need not read it again, so an unchanged store costs a refresh one conditional
 * read of this document, whatever the number of repositories.
 */
export const CatalogV2Schema = Type.Object({
  version: Version(2, "versions 1 and 2"),
  repositories: Type.Record(Type.String(), Type.String()),
});
export const CatalogSchema = Type.Union([CatalogV1Schema, CatalogV2Schema]);
export type CatalogV1 = Static<typeof CatalogV1Schema>;
export type CatalogV2 = Static<typeof CatalogV2Schema>;
export type Catalog = CatalogV1 | CatalogV2;

/** A manifest the repository holds, tagged or not. Keyed by digest in RepoIndex.manifests. */
export const ManifestEntrySchema = Type.Object({
  mediaType: Type.String({ minLength: 1 }),
  size: SizeSchema,
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** For the referrers API: the artifact type and the subject digest. */
  artifactType: Type.Optional(Type.String()),
  subject: Type.Optional(Type.String()),
  /** For an index: digests of its child manifests (all held by this repository too). */
  children: Type.Optional(Type.Array(Type.String())),
  /** For an image manifest: digests of config and layers (all in RepoIndex.blobs). */
  blobs: Type.Optional(Type.Array(Type.String())),
});
export type ManifestEntry = Static<typeof ManifestEntrySchema>;

/** One repository's tag index (`repositories/<name>/_index.json`). */
export const RepoIndexSchema = Type.Object({
  version: Version(TAG_INDEX_VERSION),
  name: Type.String(),
  /** tag → manifest digest (a key of `manifests`). */
  tags: Type.Record(Type.String(), Type.String()),
  /**
   * tag → when the tag was last set or moved (RFC 3339 UTC), for retention (lib/lifecycle/
   * retention.ts). A separate, optional record beside `tags` rather than richer `tags`
   * values: servers before it read `tags` as tag → digest and ignore unknown fields (the
   * shapes are open), so they keep reading new documents, and documents written before it
   * (no times) keep validating. A tag without a time is older than every timed one.
   */
  tagged: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Every manifest the repository holds: tagged ones, index children, referrers. */
  manifests: Type.Record(Type.String(), ManifestEntrySchema),
  /** digest → size of every blob (config, layer) any of the manifests references. */
  blobs: Type.Record(Type.String(), SizeSchema),
});
export type RepoIndex = Static<typeof RepoIndexSchema>;

/** A record for keys that come from input: a tag `__proto__` or `constructor` is just a key. */
export function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function emptyRepoIndex(name: string): RepoIndex {
  return {
    version: TAG_INDEX_VERSION,
    name,
    tags: record(),
    manifests: record(),
    blobs: record(),
  };
}
