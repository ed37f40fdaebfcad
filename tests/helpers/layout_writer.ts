/**
 * @module
 * The two writes every hand-made test store is built from, without `publish`: a blob or
 * manifest at its content address, and a layout document (tag index, catalog, marker),
 * each with the Cache-Control the layout prescribes (docs/LAYOUT.md §"Cache-Control").
 */
import type { DirStore } from "../../lib/store/dir.ts";
import { blobKey, CACHE_IMMUTABLE, CACHE_INDEX, encodeDocument } from "../../lib/layout/layout.ts";
import { digestOf } from "../../lib/oci/digest.ts";

export interface Blob {
  digest: string;
  size: number;
  bytes: Uint8Array;
}

/** Stores `bytes` at blobs/sha256/<hex> with `contentType` (a manifest's media type). */
export async function putBlob(
  store: DirStore,
  bytes: Uint8Array,
  contentType = "application/octet-stream",
): Promise<Blob> {
  const digest = digestOf(bytes);
  await store.write(blobKey(digest), bytes, { contentType, cacheControl: CACHE_IMMUTABLE });
  return { digest, size: bytes.byteLength, bytes };
}

/** Stores a JSON layout document at `key`. */
export async function putDoc(store: DirStore, key: string, doc: unknown): Promise<void> {
  await store.write(key, encodeDocument(doc), {
    contentType: "application/json",
    cacheControl: CACHE_INDEX,
  });
}
