/**
 * @module
 * Stores of N repositories for the refresh rows (bench/refresh_rows.ts), written as files
 * instead of published N times: 100k publishes, or 100k PUTs into s3rver, would take longer
 * than the whole section may.
 *
 * Two targets hold the same keys:
 *   - `dir`: the layout as plain files, which nginx serves as the HTTP store;
 *   - `s3rver`: s3rver 3.7.1's own data directory (lib/stores/filesystem.js in s3rver):
 *     `<data>/<bucket>/<prefix>/<key>._S3rver_object`, its `.md5` (the ETag s3rver answers)
 *     and `._S3rver_metadata.json` (Content-Type, Cache-Control), exactly what its PutObject
 *     leaves behind, so s3rver serves them as if they had been uploaded.
 *
 * Every repository has one tag on one small real image (its blobs are in the store, so a
 * publish into the store verifies). The tag indexes are the same in both layout versions;
 * {@link RefreshStore.setVersion} rewrites only the marker and the catalog:
 *   - v1: `{"layout":"static-registry","version":1,"id"}`, catalog `{"version":1,
 *     "repositories":[names…]}` (docs/LAYOUT.md);
 *   - v2: marker version 2, catalog `{"version":2,"repositories":{"<name>":"sha256:<hex>"}}`,
 *     keys sorted, each value the digest of the EXACT bytes of that repository's
 *     `repositories/<name>/_index.json` (issue 13, Deliver 1).
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { buildImage } from "../tests/helpers/image.ts";
import {
  blobKey,
  CACHE_IMMUTABLE,
  CACHE_INDEX,
  CATALOG_KEY,
  DOCUMENT_TYPE,
  encodeDocument,
  MARKER_KEY,
  type RepoIndex,
  repoIndexKey,
} from "../lib/layout/layout.ts";
import { digestOf } from "../lib/oci/digest.ts";

/** Where the files go. */
export type Target =
  | { kind: "dir"; dir: string }
  | { kind: "s3rver"; dataDir: string; bucket: string; prefix: string };

/** Layout versions the rows compare. */
export type Version = 1 | 2;

export const repoName = (i: number) => `bench/r${String(i).padStart(6, "0")}`;

/** A written store: its repositories, their tag-index digests, and how to change it. */
export interface RefreshStore {
  target: Target;
  repositories: number;
  /** The repository the one-change measurements publish to (in the middle). */
  probe: string;
  /** The last repository (its presence proves the whole index was loaded). */
  last: string;
  /** The image every tag points at. */
  manifest: { digest: string; mediaType: string; size: number };
  /** Rewrites the marker and catalog for `version` from the tag indexes' current bytes. */
  setVersion(version: Version): Promise<void>;
  /** Reads the bytes of `key` back from the target. */
  read(key: string): Promise<Uint8Array>;
}

/** The s3rver files of one object (see the module doc). */
function s3rverFiles(t: Extract<Target, { kind: "s3rver" }>, key: string) {
  const base = path.join(t.dataDir, t.bucket, ...`${t.prefix}/${key}`.split("/"));
  return {
    object: `${base}._S3rver_object`,
    md5: `${base}._S3rver_object.md5`,
    metadata: `${base}._S3rver_metadata.json`,
  };
}

async function atomicWrite(file: string, bytes: Uint8Array | string) {
  const tmp = `${file}.${randomUUID()}.tmp`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, file);
}

/** Writes one object to `t`, its directories first. */
async function put(t: Target, key: string, bytes: Uint8Array, contentType: string) {
  const cacheControl = key.startsWith("blobs/") ? CACHE_IMMUTABLE : CACHE_INDEX;
  if (t.kind === "dir") {
    const file = path.join(t.dir, ...key.split("/"));
    await fs.mkdir(path.dirname(file), { recursive: true });
    return await atomicWrite(file, bytes);
  }
  const f = s3rverFiles(t, key);
  await fs.mkdir(path.dirname(f.object), { recursive: true });
  const md5 = createHash("md5").update(bytes).digest("hex");
  // Metadata and md5 first: s3rver reads them only once the object file exists.
  await atomicWrite(
    f.metadata,
    JSON.stringify({ "content-type": contentType, "cache-control": cacheControl }),
  );
  await atomicWrite(f.md5, md5);
  await atomicWrite(f.object, bytes);
}

/**
 * {@link put} for the bulk of the store, before anything reads it: synchronous calls, no
 * temp file. 100k repositories took 35 s (dir) and 75 s (s3rver) with atomic async writes
 * on this machine; one small file per call is cheaper than a trip through the thread pool.
 */
function bulkPut(t: Target, key: string, bytes: Uint8Array) {
  const header = JSON.stringify({ "content-type": DOCUMENT_TYPE, "cache-control": CACHE_INDEX });
  if (t.kind === "dir") {
    const file = path.join(t.dir, ...key.split("/"));
    Deno.mkdirSync(path.dirname(file), { recursive: true });
    return Deno.writeFileSync(file, bytes);
  }
  const f = s3rverFiles(t, key);
  Deno.mkdirSync(path.dirname(f.object), { recursive: true });
  Deno.writeTextFileSync(f.metadata, header);
  Deno.writeTextFileSync(f.md5, createHash("md5").update(bytes).digest("hex"));
  Deno.writeFileSync(f.object, bytes);
}

async function get(t: Target, key: string): Promise<Uint8Array> {
  const file = t.kind === "dir" ? path.join(t.dir, ...key.split("/")) : s3rverFiles(t, key).object;
  return new Uint8Array(await fs.readFile(file));
}

/** Writes a store of `repositories` repositories (one tag each) to `target`, as version 1. */
export async function makeRefreshStore(
  target: Target,
  repositories: number,
): Promise<RefreshStore> {
  const { blobs, image } = await buildImage({ seed: "refresh-rows", layers: 1, layerSize: 256 });
  for (const [digest, bytes] of blobs) {
    const m = image.manifests.find((x) => x.digest === digest);
    await put(target, blobKey(digest), bytes, m?.mediaType ?? "application/octet-stream");
  }
  const m = image.manifests[0];
  const names = Array.from({ length: repositories }, (_, i) => repoName(i));
  const id = randomUUID();
  const indexDigest = new Map<string, string>();
  const indexBytes = (name: string) => {
    const index: RepoIndex = {
      version: 1,
      name,
      tags: { latest: m.digest },
      manifests: { [m.digest]: { mediaType: m.mediaType, size: m.size, blobs: m.blobs } },
      blobs: Object.fromEntries(m.blobs.map((b) => [b, image.sizes[b]])),
    };
    return encodeDocument(index);
  };
  for (const name of names) {
    const bytes = indexBytes(name);
    indexDigest.set(name, digestOf(bytes));
    bulkPut(target, repoIndexKey(name), bytes);
  }

  const store: RefreshStore = {
    target,
    repositories,
    probe: repoName(Math.floor(repositories / 2)),
    last: names[names.length - 1],
    manifest: { digest: m.digest, mediaType: m.mediaType, size: m.size },
    async setVersion(version) {
      // The one repository the rows publish to is read back: its digest must be that of
      // its bytes now.
      indexDigest.set(store.probe, digestOf(await get(target, repoIndexKey(store.probe))));
      const marker = { layout: "static-registry", version, id };
      const catalog = version === 1 ? { version: 1, repositories: names } : {
        version: 2,
        repositories: Object.fromEntries(names.map((n) => [n, indexDigest.get(n)!])),
      };
      // Tag indexes are in place; the catalog, then the marker (docs/LAYOUT.md write order).
      await put(target, CATALOG_KEY, encodeDocument(catalog), DOCUMENT_TYPE);
      await put(target, MARKER_KEY, encodeDocument(marker), DOCUMENT_TYPE);
    },
    read: (key) => get(target, key),
  };
  await store.setVersion(1);
  return store;
}
