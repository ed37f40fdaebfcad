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
import { putBlob, putDoc } from "../helpers/layout_writer.ts";
import {
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
    const { digest, size } = await putBlob(store, bytes, mediaType);
    return { mediaType, digest, size };
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
  await putDoc(store, repoIndexKey(REPO), index);
  await putDoc(store, CATALOG_KEY, { version: 1, repositories: [REPO] });
  await putDoc(store, MARKER_KEY, MARKER);
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
