/**
 * @module
 * Builds a small static-layout store in a temp directory with DirStore.write and the
 * layout documents (no publisher involved): two repositories sharing nothing, an image
 * index, referrers, and a repository with many tags for paging. Also writes a canary file
 * next to (outside) the store root, which the server must never serve.
 */
import * as path from "node:path";
import { DirStore } from "../../lib/store/dir.ts";
import {
  CATALOG_KEY,
  emptyRepoIndex,
  MARKER,
  MARKER_KEY,
  type RepoIndex,
  repoIndexKey,
} from "../../lib/layout/layout.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { type Blob, putBlob, putDoc } from "../helpers/layout_writer.ts";
import { DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";

const enc = new TextEncoder();
export const SIG_TYPE = "application/vnd.example.signature";
export const SBOM_TYPE = "application/spdx+json";

export type { Blob } from "../helpers/layout_writer.ts";
export { putBlob, putDoc } from "../helpers/layout_writer.ts";

/** Deterministic pseudo-random bytes. */
export function bytesOf(seed: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

/** Writes an image manifest with a config and the given layers; records it in `index`. */
export async function putImage(
  store: DirStore,
  index: RepoIndex,
  opts: {
    layers: Uint8Array[];
    mediaType?: string;
    subject?: Blob;
    artifactType?: string;
    annotations?: Record<string, string>;
  },
): Promise<Blob & { mediaType: string }> {
  const mediaType = opts.mediaType ?? OCI_MANIFEST;
  const config = await putBlob(
    store,
    enc.encode(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        n: opts.layers.length,
        t: opts.artifactType,
      }),
    ),
  );
  const layers = [];
  for (const l of opts.layers) layers.push(await putBlob(store, l));
  const configType = mediaType === DOCKER_MANIFEST
    ? "application/vnd.docker.container.image.v1+json"
    : "application/vnd.oci.image.config.v1+json";
  const doc: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: configType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: l.digest,
      size: l.size,
    })),
  };
  if (opts.artifactType) doc.artifactType = opts.artifactType;
  if (opts.subject) {
    doc.subject = { mediaType: OCI_MANIFEST, digest: opts.subject.digest, size: opts.subject.size };
  }
  if (opts.annotations) doc.annotations = opts.annotations;
  const m = await putBlob(store, enc.encode(JSON.stringify(doc)), mediaType);
  index.manifests[m.digest] = {
    mediaType,
    size: m.size,
    blobs: [config.digest, ...layers.map((l) => l.digest)],
    ...(opts.subject ? { subject: opts.subject.digest } : {}),
    ...(opts.artifactType ? { artifactType: opts.artifactType } : {}),
    ...(opts.annotations ? { annotations: opts.annotations } : {}),
  };
  index.blobs[config.digest] = config.size;
  for (const l of layers) index.blobs[l.digest] = l.size;
  return { ...m, mediaType };
}

/** Writes an image index over `children` (already in `index`). */
export async function putIndex(
  store: DirStore,
  index: RepoIndex,
  children: (Blob & { mediaType: string })[],
): Promise<Blob> {
  const doc = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map((c, i) => ({
      mediaType: c.mediaType,
      digest: c.digest,
      size: c.size,
      platform: { architecture: i ? "arm64" : "amd64", os: "linux" },
    })),
  };
  const m = await putBlob(store, enc.encode(JSON.stringify(doc)), OCI_INDEX);
  index.manifests[m.digest] = {
    mediaType: OCI_INDEX,
    size: m.size,
    children: children.map((c) => c.digest),
  };
  return m;
}

export interface Fixture {
  root: string;
  store: DirStore;
  canary: string;
  /** library/alpine: tags 3.20 and latest → alpine; multi → index over alpine + alpineArm. */
  alpine: Blob & { mediaType: string };
  alpineArm: Blob & { mediaType: string };
  multi: Blob;
  sig: Blob & { mediaType: string };
  sbom: Blob & { mediaType: string };
  /** The 1000-byte layer of alpine. */
  layer: Blob;
  /** other/repo: tag v1 → other, whose layer only this repository references. */
  other: Blob & { mediaType: string };
  otherLayer: Blob;
  manyTags: string[];
  cleanup(): Promise<void>;
}

/** Creates the standard fixture under a fresh temp dir. */
export async function makeFixture(): Promise<Fixture> {
  const tmp = await Deno.makeTempDir({ prefix: "sr-server-" });
  const root = path.join(tmp, "store");
  const canary = path.join(tmp, "canary.txt");
  await Deno.writeTextFile(canary, "CANARY-OUTSIDE-STORE");
  const store = new DirStore(root);
  await putDoc(store, MARKER_KEY, MARKER);

  const alpineIdx = emptyRepoIndex("library/alpine");
  const layerBytes = bytesOf(1, 1000);
  const alpine = await putImage(store, alpineIdx, { layers: [layerBytes] });
  const alpineArm = await putImage(store, alpineIdx, {
    layers: [bytesOf(2, 300)],
    mediaType: DOCKER_MANIFEST,
  });
  const multi = await putIndex(store, alpineIdx, [alpine, alpineArm]);
  const sig = await putImage(store, alpineIdx, {
    layers: [bytesOf(3, 10)],
    subject: alpine,
    artifactType: SIG_TYPE,
    annotations: { "org.example.signer": "ci" },
  });
  const sbom = await putImage(store, alpineIdx, {
    layers: [bytesOf(4, 10)],
    subject: alpine,
    artifactType: SBOM_TYPE,
  });
  alpineIdx.tags = { "3.20": alpine.digest, latest: alpine.digest, multi: multi.digest };
  await putDoc(store, repoIndexKey("library/alpine"), alpineIdx);

  const otherIdx = emptyRepoIndex("other/repo");
  const otherLayerBytes = bytesOf(5, 2000);
  const other = await putImage(store, otherIdx, { layers: [otherLayerBytes] });
  otherIdx.tags = { v1: other.digest };
  await putDoc(store, repoIndexKey("other/repo"), otherIdx);

  const manyIdx = emptyRepoIndex("many");
  const img = await putImage(store, manyIdx, { layers: [bytesOf(6, 5)] });
  const manyTags = Array.from({ length: 25 }, (_, i) => `t${String(i).padStart(2, "0")}`);
  for (const t of manyTags) manyIdx.tags[t] = img.digest;
  await putDoc(store, repoIndexKey("many"), manyIdx);

  await putDoc(store, CATALOG_KEY, {
    version: 1,
    repositories: ["library/alpine", "many", "other/repo"],
  });
  return {
    root,
    store,
    canary,
    alpine,
    alpineArm,
    multi,
    sig,
    sbom,
    layer: { digest: digestOf(layerBytes), size: 1000, bytes: layerBytes },
    other,
    otherLayer: { digest: digestOf(otherLayerBytes), size: 2000, bytes: otherLayerBytes },
    manyTags,
    cleanup: () => Deno.remove(tmp, { recursive: true }),
  };
}
