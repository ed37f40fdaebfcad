/**
 * @module
 * `docker-archive:FILE[:REF]`: the tar `docker save` writes. Two generations exist:
 *
 * - **Legacy** (Docker < 25): `manifest.json` (`[{Config, RepoTags, Layers}]`), the config
 *   as `<hex>.json` and each layer as an uncompressed `<id>/layer.tar` (a layer shared by
 *   two images is a symlink to the first copy). There is no registry manifest in it, so we
 *   build a Docker Image Manifest V2 Schema 2 (docs/DOCKER_SOURCES.md explains the choices):
 *   config = the config file as is (digest = its sha256); layers = the layer tars as is,
 *   media type `application/vnd.docker.image.rootfs.diff.tar` (uncompressed), digest =
 *   the config's `rootfs.diff_ids[i]` — which by definition (image-spec §"Layer DiffID")
 *   is the sha256 of the uncompressed tar, so the publisher's streaming verification
 *   checks every layer against its diff_id without hashing it twice. Gzip-compressed
 *   layer files (as go-containerregistry's `tarball` writes) are hashed here instead, and
 *   their decompressed content is checked against the diff_id in the same pass.
 *   (Built in docker_archive_image.ts.)
 * - **OCI** (Docker 25+): the same `manifest.json` beside an OCI image layout
 *   (`oci-layout`, `index.json`, `blobs/sha256/…`). The image is the layout's manifest
 *   whose config is the selected entry's Config, published byte for byte (digests kept).
 *
 * REF picks the image as skopeo does: `name:tag` (a `RepoTags` entry; `docker.io/library/`
 * and a missing `:latest` are normalized) or `@N` (the N-th entry of manifest.json). Without
 * REF the archive must hold exactly one image.
 */
import * as fs from "node:fs/promises";
import type { Descriptor } from "../oci/mediatypes.ts";
import { UsageError } from "../cli/usage.ts";
import { type ArchiveFiles, unpackArchive } from "./tar.ts";
import { legacyImage, type ManifestItem, ociImage } from "./docker_archive_image.ts";
import type { Source } from "./source.ts";

export { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LAYER_GZIP } from "./docker_archive_image.ts";
import type { ArchiveRef } from "./archive_ref.ts";
export { type ArchiveRef, parseArchiveRef } from "./archive_ref.ts";

/** `busybox` → `busybox:latest`, `docker.io/library/x:1` → `x:1` (docker's familiar form). */
export function normalizeRepoTag(ref: string): string {
  let r = ref.lastIndexOf(":") > ref.lastIndexOf("/") ? ref : `${ref}:latest`;
  r = r.replace(/^(docker\.io|index\.docker\.io)\//, "");
  if (r.startsWith("library/") && !r.slice(8).includes("/")) r = r.slice(8);
  return r;
}

/**
 * Unpacks the archive and selects the image `want` names (parsed by parseSourceSpec);
 * `close()` removes the unpacked copy.
 */
export async function openDockerArchive(
  file: string,
  want: ArchiveRef | undefined,
  spec: string,
): Promise<Source> {
  const files = await unpackArchive(file, `docker-archive ${JSON.stringify(file)}`);
  try {
    const item = selectImage(await readManifestJson(files, spec), want, spec);
    const tag = want?.kind === "tag" ? want.tag : undefined;
    const oci = await files.has("oci-layout") && await files.has("index.json");
    if (oci) {
      const index = await readJson(files, "index.json", spec) as { manifests?: Descriptor[] };
      return await ociImage(files, item, spec, tag, index);
    }
    return await legacyImage(files, item, spec, tag);
  } catch (e) {
    await files.remove();
    const msg = (e as Error).message;
    if (e instanceof UsageError || msg.startsWith("source ")) throw e;
    throw new Error(`source "${spec}": ${msg}`, { cause: e });
  }
}

async function readJson(files: ArchiveFiles, name: string, spec: string): Promise<unknown> {
  const file = await files.path(name).catch(() => {
    throw new UsageError(`source "${spec}": ${name} not found in the archive`);
  });
  try {
    return JSON.parse(await fs.readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`source "${spec}": ${name}: ${(e as Error).message}`);
  }
}

async function readManifestJson(files: ArchiveFiles, spec: string): Promise<ManifestItem[]> {
  const doc = await readJson(files, "manifest.json", spec).catch((e) => {
    if (e instanceof UsageError) {
      throw new UsageError(`${e.message}: not a docker save archive`);
    }
    throw e;
  });
  if (!Array.isArray(doc) || doc.length === 0) {
    throw new Error(`source "${spec}": manifest.json: not a non-empty array`);
  }
  return doc.map((d, i) => {
    const where = `source "${spec}": manifest.json[${i}]`;
    if (typeof d?.Config !== "string") throw new Error(`${where}.Config: not a string`);
    if (!Array.isArray(d.Layers) || d.Layers.some((l: unknown) => typeof l !== "string")) {
      throw new Error(`${where}.Layers: not an array of strings`);
    }
    const tags = Array.isArray(d.RepoTags)
      ? d.RepoTags.filter((t: unknown) => typeof t === "string")
      : [];
    return { Config: d.Config, Layers: d.Layers, RepoTags: tags };
  });
}

function selectImage(
  items: ManifestItem[],
  want: ArchiveRef | undefined,
  spec: string,
): ManifestItem {
  const listing = items.map((it, i) => `@${i} ${it.RepoTags.join(", ") || "(untagged)"}`).join(
    "; ",
  );
  if (want === undefined) {
    if (items.length === 1) return items[0];
    throw new UsageError(
      `source "${spec}": the archive holds ${items.length} images; name one with :name:tag or :@N (${listing})`,
    );
  }
  if (want.kind === "index") {
    if (want.index < items.length) return items[want.index];
    throw new UsageError(
      `source "${spec}": no image @${want.index}, the archive holds ${items.length} (${listing})`,
    );
  }
  const norm = normalizeRepoTag(want.ref);
  const found = items.find((it) => it.RepoTags.some((t) => normalizeRepoTag(t) === norm));
  if (found) return found;
  throw new UsageError(
    `source "${spec}": no image tagged "${want.ref}" in the archive (${listing})`,
  );
}
