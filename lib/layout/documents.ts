/**
 * @module
 * Reading and writing the layout's documents through a store: one reader that every
 * consumer uses (the server's Registry, publish, verifyStore, export, check) and one
 * writer (publish, import). Both apply the same rules (lib/layout/rules.ts), so a document
 * the writer accepts is one the reader accepts, by construction.
 *
 * ```ts
 * const catalog = await readDocument(store, CATALOG_KEY, validateCatalog); // null: missing
 * await writeDocument(store, repoIndexKey(name), index, (v) => validateRepoIndex(v, name));
 * ```
 */
import type { ReadStore, WriteStore } from "../store/store.ts";
import { CACHE_INDEX, DOCUMENT_TYPE } from "./keys.ts";
import { FieldError } from "./rules.ts";

/** A document's rules: the validated document, or a FieldError (rules.ts `validate*`). */
export type DocumentRules<T> = (value: unknown) => T;

/** A document of the store that is not what the layout says, naming the key and the field. */
export class DocumentError extends Error {
  override name = "DocumentError";
  constructor(
    readonly key: string,
    /** The field at fault (`tags[v1]`), "" for the whole document. */
    readonly field: string,
    why: string,
    opts: { store?: string; cause?: unknown } = {},
  ) {
    const where = opts.store ? `store ${opts.store}: document "${key}"` : `store document "${key}"`;
    super(`${where}: ${field ? `${field}: ` : ""}${why}`, { cause: opts.cause });
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Serialises a document the way every writer does: compact JSON, key order as given, newline. */
export function encodeDocument(doc: unknown): Uint8Array {
  return enc.encode(JSON.stringify(doc) + "\n");
}

/** Parses and validates the bytes of document `key`, or throws a DocumentError. */
export function decodeDocument<T>(
  key: string,
  bytes: Uint8Array,
  rules: DocumentRules<T>,
  store?: string,
): T {
  let value: unknown;
  try {
    value = JSON.parse(dec.decode(bytes));
  } catch (e) {
    throw new DocumentError(key, "", `not JSON (${(e as Error).message})`, { store, cause: e });
  }
  try {
    return rules(value);
  } catch (e) {
    if (!(e instanceof FieldError)) throw e;
    throw new DocumentError(key, e.field, e.why, { store, cause: e });
  }
}

/** Reads and validates document `key`: null when the store does not have it. */
export async function readDocument<T>(
  store: ReadStore,
  key: string,
  rules: DocumentRules<T>,
): Promise<T | null> {
  let r;
  try {
    r = await store.read(key);
  } catch (e) {
    throw new Error(`store ${store.location}: reading "${key}" failed: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (r.status === "missing") return null;
  if (r.status !== "ok") throw new Error(`store ${store.location}: unexpected read of "${key}"`);
  return decodeDocument(key, r.bytes, rules, store.location);
}

/**
 * Writes document `key` after checking that its encoding passes `rules` (the reader's
 * rules): a writer can never store what the server would refuse. Resolves to the bytes.
 */
export async function writeDocument<T>(
  store: WriteStore,
  key: string,
  doc: T,
  rules: DocumentRules<unknown>,
): Promise<Uint8Array> {
  const bytes = encodeDocument(doc);
  decodeDocument(key, bytes, rules, store.location);
  await store.write(key, bytes, { contentType: DOCUMENT_TYPE, cacheControl: CACHE_INDEX });
  return bytes;
}
