/**
 * @module
 * Validation of the layout's JSON documents as the server reads them (docs/LAYOUT.md,
 * lib/layout/layout.ts): the marker, the catalog and a repository's tag index.
 *
 * Validated records are copied into null-prototype objects, so a lookup such as
 * `index.tags["constructor"]` or `index.tags["__proto__"]` (both valid tags) finds only
 * what the document holds, never an `Object.prototype` member.
 */
import { digestProblem } from "../oci/digest.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import {
  type Catalog,
  LAYOUT_VERSION,
  type ManifestEntry,
  type Marker,
  type RepoIndex,
} from "../layout/layout.ts";

/** A document of the store that is not what the layout says, naming the key and the field. */
export class DocumentError extends Error {
  override name = "DocumentError";
  constructor(readonly key: string, why: string) {
    super(`store document "${key}": ${why}`);
  }
}

const dec = new TextDecoder();

/** Parses JSON bytes into an object, or throws a DocumentError naming `key`. */
export function parseJsonObject(key: string, bytes: Uint8Array): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(dec.decode(bytes));
  } catch (e) {
    throw new DocumentError(key, `not JSON (${(e as Error).message})`);
  }
  if (!isObject(doc)) throw new DocumentError(key, "not a JSON object");
  return doc;
}

/** Checks the marker `static-registry.json`: `{"layout":"static-registry","version":1}`. */
export function validateMarker(key: string, doc: Record<string, unknown>): Marker {
  if (doc.layout !== "static-registry") {
    throw new DocumentError(key, `layout is ${JSON.stringify(doc.layout)}, not "static-registry"`);
  }
  if (doc.version !== LAYOUT_VERSION) {
    throw new DocumentError(
      key,
      `layout version ${
        JSON.stringify(doc.version)
      } is not supported (this server reads version ${LAYOUT_VERSION})`,
    );
  }
  return { layout: "static-registry", version: LAYOUT_VERSION };
}

/** Checks `catalog.json` and returns its repository names, sorted and unique. */
export function validateCatalog(key: string, doc: Record<string, unknown>): Catalog {
  checkVersion(key, doc.version);
  if (!Array.isArray(doc.repositories)) throw new DocumentError(key, "repositories: not an array");
  const names = new Set<string>();
  doc.repositories.forEach((name, i) => {
    if (typeof name !== "string") throw new DocumentError(key, `repositories[${i}]: not a string`);
    const why = nameProblem(name);
    if (why) throw new DocumentError(key, `repositories[${i}] ${JSON.stringify(name)}: ${why}`);
    names.add(name);
  });
  return { version: LAYOUT_VERSION, repositories: [...names].sort() };
}

/**
 * Checks a repository's tag index `repositories/<name>/_index.json` and returns a copy
 * whose records have null prototypes. Every tag must point at a held manifest, and every
 * digest must be a digest we serve (the keys become store keys via blobKey()).
 */
export function validateRepoIndex(
  key: string,
  name: string,
  doc: Record<string, unknown>,
): RepoIndex {
  checkVersion(key, doc.version);
  if (doc.name !== name) {
    throw new DocumentError(key, `name ${JSON.stringify(doc.name)} is not ${JSON.stringify(name)}`);
  }
  const manifests = record<ManifestEntry>();
  for (const [digest, entry] of entries(key, doc, "manifests")) {
    checkDigest(key, `manifests[${digest}]`, digest);
    manifests[digest] = manifestEntry(key, `manifests[${digest}]`, entry);
  }
  const tags = record<string>();
  for (const [tag, digest] of entries(key, doc, "tags")) {
    if (!isTag(tag)) {
      throw new DocumentError(key, `tags: ${JSON.stringify(tag)} is not a valid tag`);
    }
    if (typeof digest !== "string" || !(digest in manifests)) {
      throw new DocumentError(
        key,
        `tags[${tag}]: ${JSON.stringify(digest)} is not a held manifest`,
      );
    }
    tags[tag] = digest;
  }
  const blobs = record<number>();
  for (const [digest, size] of entries(key, doc, "blobs")) {
    checkDigest(key, `blobs[${digest}]`, digest);
    if (!isSize(size)) {
      throw new DocumentError(key, `blobs[${digest}]: size ${JSON.stringify(size)} invalid`);
    }
    blobs[digest] = size;
  }
  return { version: LAYOUT_VERSION, name, tags, manifests, blobs };
}

function manifestEntry(key: string, where: string, v: unknown): ManifestEntry {
  if (!isObject(v)) throw new DocumentError(key, `${where}: not an object`);
  if (typeof v.mediaType !== "string" || v.mediaType === "") {
    throw new DocumentError(key, `${where}.mediaType: not a string`);
  }
  if (!isSize(v.size)) {
    throw new DocumentError(key, `${where}.size: ${JSON.stringify(v.size)} invalid`);
  }
  const e: ManifestEntry = { mediaType: v.mediaType, size: v.size };
  if (v.annotations !== undefined) {
    e.annotations = stringRecord(key, `${where}.annotations`, v.annotations);
  }
  if (v.artifactType !== undefined) {
    if (typeof v.artifactType !== "string") {
      throw new DocumentError(key, `${where}.artifactType: not a string`);
    }
    e.artifactType = v.artifactType;
  }
  if (v.subject !== undefined) {
    if (typeof v.subject !== "string") {
      throw new DocumentError(key, `${where}.subject: not a string`);
    }
    checkDigest(key, `${where}.subject`, v.subject);
    e.subject = v.subject;
  }
  if (v.children !== undefined) e.children = digestList(key, `${where}.children`, v.children);
  if (v.blobs !== undefined) e.blobs = digestList(key, `${where}.blobs`, v.blobs);
  return e;
}

function digestList(key: string, where: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw new DocumentError(key, `${where}: not an array`);
  for (const d of v) {
    if (typeof d !== "string") {
      throw new DocumentError(key, `${where}: ${JSON.stringify(d)} is not a digest`);
    }
    checkDigest(key, where, d);
  }
  return v as string[];
}

function stringRecord(key: string, where: string, v: unknown): Record<string, string> {
  if (!isObject(v)) throw new DocumentError(key, `${where}: not an object`);
  const out = record<string>();
  for (const [k, s] of Object.entries(v)) {
    if (typeof s !== "string") throw new DocumentError(key, `${where}[${k}]: not a string`);
    out[k] = s;
  }
  return out;
}

function entries(key: string, doc: Record<string, unknown>, field: string): [string, unknown][] {
  const v = doc[field];
  if (!isObject(v)) throw new DocumentError(key, `${field}: not an object`);
  return Object.entries(v);
}

function checkVersion(key: string, version: unknown): void {
  if (version !== LAYOUT_VERSION) {
    throw new DocumentError(
      key,
      `version ${
        JSON.stringify(version)
      } is not supported (this server reads version ${LAYOUT_VERSION})`,
    );
  }
}

/** The common case, checked with one regex before the full digest grammar. */
const SHA256 = /^sha256:[0-9a-f]{64}$/;

function checkDigest(key: string, where: string, digest: string): void {
  if (SHA256.test(digest)) return;
  const why = digestProblem(digest);
  if (why) {
    throw new DocumentError(key, `${where}: ${JSON.stringify(digest)} is not a digest: ${why}`);
  }
}

function isSize(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function record<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
