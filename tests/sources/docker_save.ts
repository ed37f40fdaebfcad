/**
 * @module
 * Writes `docker save` archives from generated images (tests/helpers/image.ts), in both
 * formats docker uses: legacy (Docker < 25: `manifest.json`, `<config-hex>.json`,
 * `<id>/layer.tar` uncompressed, repeats as symlinks, `repositories`) and OCI (Docker 25+:
 * the same manifest.json beside an OCI image layout).
 */
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { buildImage, type BuiltImage, type ImageOptions, makeOciLayout } from "../helpers/image.ts";
import { tarOf } from "./tar_entries.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

/** A tar entry: a file, a symlink, or a hard link. */
export type TarEntry =
  | { name: string; body: Uint8Array }
  | { name: string; symlink: string }
  | { name: string; hardlink: string };

/** Packs entries (mtime 0) into a tar file. */
export async function writeTar(file: string, entries: TarEntry[]): Promise<void> {
  await fs.writeFile(file, await tarOf(entries));
}

/** One image of a legacy archive and what a test needs to know about it. */
export interface SavedImage {
  tags: string[];
  image: BuiltImage;
  configDigest: string;
  /** sha256 of each uncompressed layer tar (= the config's diff_ids). */
  diffIds: string[];
  /** Archive paths of the layers, as manifest.json lists them. */
  layerPaths: string[];
}

export interface LegacyOptions {
  /** Write the layers gzip-compressed (as go-containerregistry's tarball does). */
  gzip?: boolean;
  /** Replace entries or add some (e.g. hostile names) before packing. */
  tamper?: (entries: TarEntry[], manifest: Record<string, unknown>[]) => void;
}

/**
 * Writes a legacy `docker save` tar holding `images` (each single-platform). A layer
 * already written for an earlier image becomes a symlink `../<id>/layer.tar`, as docker does.
 */
export async function writeLegacyArchive(
  file: string,
  images: { tags: string[]; opts: ImageOptions }[],
  o: LegacyOptions = {},
): Promise<SavedImage[]> {
  const entries: TarEntry[] = [];
  const manifest: Record<string, unknown>[] = [];
  const written = new Map<string, string>(); // diff_id → archive path
  const saved: SavedImage[] = [];
  for (const { tags, opts } of images) {
    const { blobs, image } = await buildImage({ ...opts, format: "docker" });
    const m = image.manifests[0];
    const configName = `${m.config.digest.slice(7)}.json`;
    entries.push({ name: configName, body: blobs.get(m.config.digest)! });
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    let parent = "";
    for (const l of m.layers) {
      const gz = blobs.get(l.digest)!;
      const raw = new Uint8Array(gunzipSync(gz));
      const diffId = `sha256:${hex(raw)}`;
      const id = hex(`${parent}\n${diffId}\n${configName}`); // unique per image, like docker's v1 ids
      parent = id;
      const name = `${id}/layer.tar`;
      entries.push({ name: `${id}/VERSION`, body: enc.encode("1.0") });
      const first = written.get(diffId);
      entries.push(first ? { name, symlink: `../${first}` } : { name, body: o.gzip ? gz : raw });
      if (!first) written.set(diffId, name);
      diffIds.push(diffId);
      layerPaths.push(name);
    }
    manifest.push({ Config: configName, RepoTags: tags, Layers: layerPaths });
    saved.push({ tags, image, configDigest: m.config.digest, diffIds, layerPaths });
  }
  o.tamper?.(entries, manifest);
  entries.push({ name: "manifest.json", body: enc.encode(JSON.stringify(manifest)) });
  entries.push({ name: "repositories", body: enc.encode("{}") });
  await writeTar(file, entries);
  return saved;
}

/**
 * Writes a Docker 25+ `docker save` tar: an OCI layout (`makeOciLayout`) plus manifest.json
 * naming the first platform's config and layers by blob path. `drop` deletes blob files
 * (e.g. another platform's manifest, as a containerd-store save of one platform leaves out).
 */
export async function writeOciDockerArchive(
  file: string,
  repoTag: string,
  opts: ImageOptions,
  drop: string[] = [],
): Promise<BuiltImage> {
  const dir = await fs.mkdtemp(path.join(await fs.realpath("/tmp"), "sr-docker-oci-"));
  try {
    const image = await makeOciLayout(dir, opts);
    for (const d of drop) await fs.rm(path.join(dir, "blobs", "sha256", d.slice(7)));
    const m = image.manifests[0];
    const blobPath = (d: string) => `blobs/sha256/${d.slice(7)}`;
    const manifest = [{
      Config: blobPath(m.config.digest),
      RepoTags: [repoTag],
      Layers: m.layers.map((l) => blobPath(l.digest)),
    }];
    await fs.writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
    const names = (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
    const entries = await Promise.all(
      names.sort().map(async (name) => ({
        name,
        body: new Uint8Array(await fs.readFile(path.join(dir, name))),
      })),
    );
    await writeTar(file, entries);
    return image;
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
