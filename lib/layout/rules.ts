/**
 * @module
 * The rules a layout document must follow to be served: its shape (lib/layout/schema.ts,
 * checked by a compiled TypeBox validator) and what a shape cannot say (docs/LAYOUT.md
 * §"Documents"):
 *
 * - every digest is one we serve (lib/oci/digest.ts): digests become store keys through
 *   blobKey(), so a `sha256:../../x` must never get that far;
 * - every tag matches the tag grammar and points at a manifest the index holds;
 * - every catalog name matches the repository-name grammar (it becomes a key too).
 *
 * Validated records (tags, manifests, blobs, annotations) get null prototypes (in place:
 * validateRepoIndex says why): names from input become keys, and the tags `__proto__` and `constructor` are
 * valid tags that must find what the document holds, never an `Object.prototype` member.
 *
 * Every function throws a {@link FieldError} naming the field; lib/layout/documents.ts
 * adds the key. The server's reader and every writer (publish, import) use these rules, so
 * what is written is what is served.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import { digestProblem } from "../oci/digest.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import {
  type Catalog,
  CatalogV1Schema,
  CatalogV2Schema,
  type ManifestEntry,
  ManifestEntrySchema,
  type Marker,
  MarkerSchema,
  record,
  type RepoIndex,
  RepoIndexSchema,
} from "./schema.ts";

/** One field of a document breaks a rule: `field` is a path like `manifests[sha256:…].size`. */
export class FieldError extends Error {
  override name = "FieldError";
  constructor(readonly field: string, readonly why: string) {
    super(field ? `${field}: ${why}` : why);
  }
}

// Compiled on first use, not at import: compiling all five is a few ms of every start
// (issue 13), and a server reads only its layout version's catalog and never checks a
// lone entry.
const markerShape = compiled(MarkerSchema);
const catalogV1Shape = compiled(CatalogV1Schema);
const catalogV2Shape = compiled(CatalogV2Schema);
const entryShape = compiled(ManifestEntrySchema);
const repoIndexShape = compiled(RepoIndexSchema);

/**
 * A store id: what /readyz and logs quote, so short and plain — 1 to 64 of letters,
 * digits, `.`, `_`, `-` and `:`, starting with a letter or digit. A UUID is one.
 */
export const STORE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/**
 * Checks the marker `static-registry.json`: `{"layout":"static-registry","version":2}`
 * (or 1, a store not migrated),
 * with an optional store `id` (the STORE_ID grammar) and `created` time. Unknown fields
 * are kept (the writer that adds an id to an older marker keeps what it holds).
 */
export function validateMarker(value: unknown): Marker {
  const doc = checkShape(markerShape, value);
  if (doc.id !== undefined && !STORE_ID.test(doc.id)) {
    throw new FieldError("id", `${quote(doc.id)} is not a store id (${STORE_ID.source})`);
  }
  return { ...doc };
}

/**
 * Checks `catalog.json` of either layout version (the document's `version` picks the
 * shape, so a bad field is named in the version's own terms). Version 1's names come back
 * sorted and unique; version 2's are keys (unique by nature) and each value must be a
 * digest we serve: the digest of that repository's tag-index bytes.
 */
export function validateCatalog(value: unknown): Catalog {
  const v2 = (value as { version?: unknown } | null)?.version === 2;
  if (!v2) {
    const doc = checkShape(catalogV1Shape, value);
    doc.repositories.forEach((name, i) => {
      const why = nameProblem(name);
      if (why) throw new FieldError(`repositories[${i}]`, `${quote(name)}: ${why}`);
    });
    return { ...doc, repositories: [...new Set(doc.repositories)].sort() };
  }
  const doc = checkShape(catalogV2Shape, value);
  const repositories = record<string>();
  for (const name of Object.keys(doc.repositories).sort()) {
    const why = nameProblem(name);
    if (why) throw new FieldError("repositories", `${quote(name)}: ${why}`);
    checkDigest(doc.repositories[name], "repositories", name);
    repositories[name] = doc.repositories[name];
  }
  return { ...doc, repositories };
}

/**
 * Checks the tag index of repository `name` and returns it with null-prototype records
 * (a tag named `constructor` is not Object.prototype's). Unknown fields are kept (a v1
 * reader ignores them, a v1 writer keeps them).
 *
 * `value` is ADOPTED, not copied: its records get null prototypes in place. Every caller
 * passes what JSON.parse just made, or an index it built with `record()`; copying every
 * record was a fifth of the server's load of 100k distinct tags (`bun --cpu-prof` of
 * bench/distinct_store.ts) and held both copies at once while it ran.
 */
export function validateRepoIndex(value: unknown, name: string): RepoIndex {
  const doc = checkShape(repoIndexShape, value);
  if (doc.name !== name) {
    throw new FieldError("name", `repository name ${quote(doc.name)} is not ${quote(name)}`);
  }
  // Plain loops, field names built only on failure: a 100k-tag load runs this 100k times.
  const { manifests, tags, blobs } = doc;
  // One string per digest: JSON.parse makes a new string for every digest VALUE (a tag's,
  // an entry's blob list), while keys are shared; each value equal to a key is replaced by
  // that key's string, so the server holds ~2 digest strings per CI-built tag, not ~5.
  const shared = new Map<string, string>();
  for (const digest of Object.keys(blobs)) {
    checkDigest(digest, "blobs", digest);
    shared.set(digest, digest);
  }
  for (const digest of Object.keys(manifests)) {
    checkDigest(digest, "manifests", digest);
    shared.set(digest, digest);
  }
  for (const digest of Object.keys(manifests)) {
    try {
      entryRules(manifests[digest], shared);
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      throw new FieldError(`manifests[${digest}].${e.field}`, e.why);
    }
  }
  for (const tag of Object.keys(tags)) {
    const digest = shared.get(tags[tag]);
    if (!isTag(tag)) throw new FieldError("tags", `${quote(tag)} is not a valid tag`);
    if (digest === undefined || !Object.hasOwn(manifests, digest)) {
      throw new FieldError(`tags[${tag}]`, `${quote(tags[tag])} is not a held manifest`);
    }
    tags[tag] = digest;
  }
  for (const r of [manifests, tags, blobs]) nullPrototype(r);
  return doc;
}

/** Gives a record a null prototype in place (no-op for one made by `record()`). */
function nullPrototype(r: object): void {
  if (Object.getPrototypeOf(r) !== null) Object.setPrototypeOf(r, null);
}

/**
 * Checks one tag-index entry on its own (the publisher, before it writes anything) and
 * returns it with a null-prototype `annotations` (adopted, as validateRepoIndex's).
 * Fields are named relative to the entry.
 */
export function validateManifestEntry(value: unknown): ManifestEntry {
  return entryRules(checkShape(entryShape, value));
}

/**
 * The digest fields of an entry, and its annotations given a null prototype. With
 * `shared` (validateRepoIndex), a digest in it is replaced by its string there.
 */
function entryRules(entry: ManifestEntry, shared?: Map<string, string>): ManifestEntry {
  if (entry.subject !== undefined) checkDigest(entry.subject, "subject");
  const { children, blobs, annotations } = entry;
  for (let i = 0; i < (children?.length ?? 0); i++) {
    checkDigest(children![i], "children", i);
    children![i] = shared?.get(children![i]) ?? children![i];
  }
  for (let i = 0; i < (blobs?.length ?? 0); i++) {
    checkDigest(blobs![i], "blobs", i);
    blobs![i] = shared?.get(blobs![i]) ?? blobs![i];
  }
  if (annotations !== undefined) nullPrototype(annotations);
  return entry;
}

/** The common case, one regex, before the full grammar (a 100k-tag load checks 300k). */
const SHA256 = /^sha256:[0-9a-f]{64}$/;

/** Refuses a digest we do not serve; the field is `field`, or `field[key]` when key is given. */
function checkDigest(digest: string, field: string, key?: string | number): void {
  if (SHA256.test(digest)) return;
  const why = digestProblem(digest);
  if (why) {
    const where = key === undefined ? field : `${field}[${key}]`;
    throw new FieldError(where, `${quote(digest)} is not a digest: ${why}`);
  }
}

interface Shape<T> {
  Check(value: unknown): value is T;
  Errors(value: unknown): { First(): ValueError | undefined };
  Schema(): TSchema;
}

/** `schema`'s compiled check, compiled when first asked for. */
function compiled<T extends TSchema>(schema: T): () => Shape<Static<T>> {
  let shape: Shape<Static<T>> | undefined;
  return () => shape ??= TypeCompiler.Compile(schema);
}

/** The value as its shape's type, or a FieldError for its first violation. */
function checkShape<T>(shapeOf: () => Shape<T>, value: unknown): T {
  const shape = shapeOf();
  if (shape.Check(value)) return value;
  const e = shape.Errors(value).First();
  if (!e) throw new FieldError("", "does not match the layout");
  throw new FieldError(fieldOf(shape.Schema(), e.path), problem(e));
}

/**
 * A JSON pointer (`/manifests/sha256:…/size`) as the field people read
 * (`manifests[sha256:…].size`): record keys and array indexes in brackets.
 */
function fieldOf(root: TSchema, pointer: string): string {
  let out = "";
  let schema: TSchema | undefined = root;
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    const s = schema as {
      properties?: Record<string, TSchema>;
      patternProperties?: Record<string, TSchema>;
      items?: TSchema;
    } | undefined;
    if (s?.properties && seg in s.properties) {
      out += out === "" ? seg : `.${seg}`;
      schema = s.properties[seg];
    } else if (s?.patternProperties) {
      out += `[${seg}]`;
      schema = Object.values(s.patternProperties)[0];
    } else {
      out += s?.items ? `[${seg}]` : `.${seg}`;
      schema = s?.items;
    }
  }
  return out;
}

function problem(e: ValueError): string {
  const s = e.schema as { "x-what"?: string; "x-expected"?: string; type?: string };
  if (e.type === ValueErrorType.ObjectRequiredProperty || e.value === undefined) return "missing";
  if (s["x-what"] === "version") {
    return `layout version ${quote(e.value)} is not supported (this build reads ${
      s["x-expected"]
    })`;
  }
  if (s["x-what"] === "layout") return `${quote(e.value)} is not "static-registry"`;
  if (s["x-what"] === "size") return `size ${quote(e.value)} invalid, expected ${s["x-expected"]}`;
  if (e.type === ValueErrorType.StringMinLength) return "must not be empty";
  const want = s.type === "object"
    ? "an object"
    : s.type === "array"
    ? "an array"
    : s.type === "string"
    ? "a string"
    : `valid (${e.message})`;
  return `not ${want}, got ${quote(e.value)}`;
}

/** A value for a message: JSON, cut short (but never a sha512 digest, 135 characters). */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 200 ? `${s.slice(0, 197)}...` : s;
}
