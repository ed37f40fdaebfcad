/**
 * @module
 * A small directory store in the static layout for origin tests: one repository with a
 * multi-platform tag (image index → two image manifests → config + layers, one layer
 * shared) and a second repository whose tag reuses a layer. Written with the layout helpers
 * and DirStore, independent of `publish`.
 */
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

const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const enc = new TextEncoder();

/** What the fixture wrote. */
export interface Fixture {
  root: string;
  /** Every object a tag references, digest → size. */
  objects: Map<string, number>;
  /** The digest of a layer and of a config, for tests that damage them. */
  layer: string;
  config: string;
}

/** Writes the fixture store under `root`. */
export async function writeFixtureStore(root: string): Promise<Fixture> {
  const store = new DirStore(root);
  const objects = new Map<string, number>();
  const put = async (bytes: Uint8Array, contentType: string) => {
    const { digest, size } = await putBlob(store, bytes, contentType);
    objects.set(digest, size);
    return { mediaType: contentType, digest, size };
  };
  const shared = await put(enc.encode("shared layer ".repeat(500)), "application/octet-stream");
  const images = [];
  const ownLayers: string[] = [];
  const repo1: RepoIndex = { version: 1, name: "team/app", tags: {}, manifests: {}, blobs: {} };
  for (const arch of ["amd64", "arm64"]) {
    const config = await put(
      enc.encode(JSON.stringify({ architecture: arch })),
      "application/json",
    );
    const own = await put(enc.encode(`layer for ${arch} `.repeat(300)), "application/octet-stream");
    const m = await put(
      encodeDocument({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config,
        layers: [shared, own],
      }),
      OCI_MANIFEST,
    );
    ownLayers.push(own.digest);
    images.push({ ...m, platform: { os: "linux", architecture: arch } });
    repo1.manifests[m.digest] = {
      mediaType: OCI_MANIFEST,
      size: m.size,
      blobs: [config.digest, shared.digest, own.digest],
    };
    for (const b of [config, shared, own]) repo1.blobs[b.digest] = b.size;
  }
  const index = await put(
    encodeDocument({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: images }),
    OCI_INDEX,
  );
  repo1.manifests[index.digest] = {
    mediaType: OCI_INDEX,
    size: index.size,
    children: images.map((i) => i.digest),
  };
  repo1.tags["v1"] = index.digest;
  repo1.tags["latest"] = index.digest;

  const repo2: RepoIndex = { version: 1, name: "solo", tags: {}, manifests: {}, blobs: {} };
  const config2 = await put(enc.encode('{"architecture":"amd64","solo":true}'), "application/json");
  const m2 = await put(
    encodeDocument({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: config2,
      layers: [shared],
    }),
    OCI_MANIFEST,
  );
  repo2.manifests[m2.digest] = {
    mediaType: OCI_MANIFEST,
    size: m2.size,
    blobs: [config2.digest, shared.digest],
  };
  repo2.blobs[config2.digest] = config2.size;
  repo2.blobs[shared.digest] = shared.size;
  repo2.tags["1.0"] = m2.digest;

  for (const r of [repo1, repo2]) await putDoc(store, repoIndexKey(r.name), r);
  await putDoc(store, CATALOG_KEY, { version: 1, repositories: ["solo", "team/app"] });
  await putDoc(store, MARKER_KEY, MARKER);
  return { root, objects, layer: ownLayers[1], config: config2.digest };
}
