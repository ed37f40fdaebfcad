/**
 * @module
 * A tiny directory store in the static layout for the CLI tests: one repository
 * `demo/hello` with tag `latest` → an OCI image manifest → config + one layer. Written with
 * DirStore and the layout helpers, independent of `publish`. Also: a logger that keeps its
 * lines, and a temp dir that cleans itself up.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { DirStore } from "../../lib/store/dir.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import {
  blobKey,
  CACHE_IMMUTABLE,
  CACHE_INDEX,
  CATALOG_KEY,
  encodeDocument,
  MARKER,
  MARKER_KEY,
  type RepoIndex,
  repoIndexKey,
} from "../../lib/layout/layout.ts";
import type { Logger } from "../../lib/log.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const enc = new TextEncoder();

export const REPO = "demo/hello";
export const TAG = "latest";

/** Writes the store under `root`; returns the tagged manifest's digest and bytes. */
export async function writeStore(
  root: string,
  seed = "hello",
  layerBytes = 0,
): Promise<{ digest: string; manifest: Uint8Array; layer: string; layerSize: number }> {
  const store = new DirStore(root);
  const put = async (bytes: Uint8Array, mediaType: string) => {
    const digest = digestOf(bytes);
    await store.write(blobKey(digest), bytes, {
      contentType: mediaType,
      cacheControl: CACHE_IMMUTABLE,
    });
    return { mediaType, digest, size: bytes.byteLength };
  };
  const config = await put(
    enc.encode(`{"architecture":"amd64","os":"linux","seed":"${seed}"}`),
    "application/vnd.oci.image.config.v1+json",
  );
  const layer = await put(
    layerBytes ? new Uint8Array(layerBytes).fill(7) : enc.encode(`layer ${seed} `.repeat(100)),
    "application/vnd.oci.image.layer.v1.tar",
  );
  const manifest = encodeDocument({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config,
    layers: [layer],
  });
  const m = await put(manifest, OCI_MANIFEST);
  const index: RepoIndex = {
    version: 1,
    name: REPO,
    tags: { [TAG]: m.digest },
    manifests: {
      [m.digest]: { mediaType: OCI_MANIFEST, size: m.size, blobs: [config.digest, layer.digest] },
    },
    blobs: { [config.digest]: config.size, [layer.digest]: layer.size },
  };
  const meta = { contentType: "application/json", cacheControl: CACHE_INDEX };
  await store.write(repoIndexKey(REPO), encodeDocument(index), meta);
  await store.write(CATALOG_KEY, encodeDocument({ version: 1, repositories: [REPO] }), meta);
  await store.write(MARKER_KEY, encodeDocument(MARKER), meta);
  return { digest: m.digest, manifest, layer: layer.digest, layerSize: layer.size };
}

/** A pino logger whose JSON lines are kept in `lines` (parsed). */
export function memoryLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: "debug" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-cli-"));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
