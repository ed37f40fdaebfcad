/**
 * @module
 * The catalog of either layout version (docs/LAYOUT.md §"catalog.json"), so that no caller
 * looks at its shape: version 1 lists names; version 2 maps each name to the digest of its
 * tag index's exact bytes ({@link tagIndexDigest}). The digest is of content, not a store's
 * ETag, so a store copied to another kind of store (rsync, `aws s3 sync`) keeps a valid
 * catalog.
 */
import { digestOf } from "../oci/digest.ts";
import type { LayoutVersion } from "./keys.ts";
import { type Catalog, record } from "./schema.ts";

/** The repository names a catalog lists, sorted. */
export function catalogNames(catalog: Catalog): string[] {
  return catalog.version === 1 ? [...catalog.repositories] : Object.keys(catalog.repositories);
}

/** Whether `catalog` lists `name`. */
export function catalogHas(catalog: Catalog, name: string): boolean {
  return catalog.version === 1
    ? catalog.repositories.includes(name)
    : Object.hasOwn(catalog.repositories, name);
}

/** The tag-index digest a version-2 catalog records for `name` (undefined: v1 or unlisted). */
export function catalogDigest(catalog: Catalog, name: string): string | undefined {
  return catalog.version === 2 && Object.hasOwn(catalog.repositories, name)
    ? catalog.repositories[name]
    : undefined;
}

/** An empty catalog of layout `version`. */
export function emptyCatalog(version: LayoutVersion): Catalog {
  return version === 1 ? { version, repositories: [] } : { version, repositories: record() };
}

/**
 * `catalog` listing `name`, with `digest` as its tag-index digest in version 2 (required
 * there; version 1 lists names only and takes none). Keys stay sorted, so equal catalogs encode equally.
 */
export function withRepository(catalog: Catalog, name: string, digest?: string): Catalog {
  if (catalog.version === 1) {
    if (catalog.repositories.includes(name)) return catalog;
    return { ...catalog, repositories: [...catalog.repositories, name].sort() };
  }
  if (digest === undefined) {
    throw new Error(`catalog version 2 lists "${name}" with its tag index's digest: none given`);
  }
  return { ...catalog, repositories: sortedRecord({ ...catalog.repositories, [name]: digest }) };
}

/** `catalog` without `name`. */
export function withoutRepository(catalog: Catalog, name: string): Catalog {
  if (catalog.version === 1) {
    return { ...catalog, repositories: catalog.repositories.filter((r) => r !== name) };
  }
  const repositories = record<string>();
  for (const r of Object.keys(catalog.repositories)) {
    if (r !== name) repositories[r] = catalog.repositories[r];
  }
  return { ...catalog, repositories };
}

/** The digest version 2's catalog records for a tag index: sha256 of its stored bytes. */
export function tagIndexDigest(bytes: Uint8Array): string {
  return digestOf(bytes, "sha256");
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  const out = record<string>();
  for (const k of Object.keys(r).sort()) out[k] = r[k];
  return out;
}
