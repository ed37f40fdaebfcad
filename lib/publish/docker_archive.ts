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
 * - **OCI** (Docker 25+): the same `manifest.json` beside an OCI image layout
 *   (`oci-layout`, `index.json`, `blobs/sha256/…`). The image is the layout's manifest
 *   whose config is the selected entry's Config, published byte for byte (digests kept).
 *
 * REF picks the image as skopeo does: `name:tag` (a `RepoTags` entry; `docker.io/library/`
 * and a missing `:latest` are normalized) or `@N` (the N-th entry of manifest.json). Without
 * REF the archive must hold exactly one image.
 */
import * as fs from "node:fs/promises";
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { createGunzip } from "node:zlib";
import { Readable, Transform, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Descriptor } from "../oci/mediatypes.ts";
import { DOCKER_MANIFEST, isIndexType } from "../oci/mediatypes.ts";
import { digestOf, digestProblem } from "../oci/digest.ts";
import { UsageError } from "../oci/errors.ts";
import { type ArchiveFiles, unpackArchive } from "./archive_files.ts";
import { OciLayoutSource } from "./oci_layout.ts";
import type { Source } from "./source.ts";

export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** One entry of `docker save`'s manifest.json. */
interface ManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** REF of `docker-archive:FILE:REF`: a `name:tag` or `@N`. */
export type ArchiveRef = { kind: "tag"; ref: string; tag?: string } | {
  kind: "index";
  index: number;
};

/** Parses REF; throws UsageError for a digest reference or a bad `@N`. */
export function parseArchiveRef(ref: string, spec: string): ArchiveRef {
  if (ref.startsWith("@")) {
    if (!/^@(0|[1-9][0-9]*)$/.test(ref)) {
      throw new UsageError(`source "${spec}": "${ref}" is not @N (an image index, from 0)`);
    }
    return { kind: "index", index: Number(ref.slice(1)) };
  }
  if (ref.includes("@")) {
    throw new UsageError(`source "${spec}": "${ref}": name:tag or @N, not a digest reference`);
  }
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? { kind: "tag", ref, tag: ref.slice(colon + 1) } : { kind: "tag", ref };
}

/** `busybox` → `busybox:latest`, `docker.io/library/x:1` → `x:1` (docker's familiar form). */
export function normalizeRepoTag(ref: string): string {
  let r = ref.lastIndexOf(":") > ref.lastIndexOf("/") ? ref : `${ref}:latest`;
  r = r.replace(/^(docker\.io|index\.docker\.io)\//, "");
  if (r.startsWith("library/") && !r.slice(8).includes("/")) r = r.slice(8);
  return r;
}

/** Unpacks the archive and selects the image; `close()` removes the unpacked copy. */
export async function openDockerArchive(
  file: string,
  ref: string | undefined,
  spec: string,
): Promise<Source> {
  const want = ref === undefined ? undefined : parseArchiveRef(ref, spec);
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`source "${spec}": archive ${file} not found`);
  }
  let files: ArchiveFiles;
  try {
    files = await unpackArchive(file);
  } catch (e) {
    throw new Error(`source "${spec}": cannot unpack ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  try {
    const item = selectImage(await readManifestJson(files, spec), want, spec);
    const tag = want?.kind === "tag" ? want.tag : undefined;
    const oci = await files.has("oci-layout") && await files.has("index.json");
    if (oci) return await ociImage(files, item, spec, tag);
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

/** Docker 25+: the OCI layout's manifest whose config is `item.Config`, bytes kept. */
async function ociImage(files: ArchiveFiles, item: ManifestItem, spec: string, tag?: string) {
  const layout = new OciLayoutSource(files.dir, undefined, spec);
  const configDigest = blobPathDigest(item.Config);
  const readDoc = async (d: Descriptor) => {
    const { body } = await layout.open(d.digest);
    return JSON.parse(await new Response(body).text());
  };
  const index = await readJson(files, "index.json", spec) as { manifests?: Descriptor[] };
  let root: Descriptor | undefined;
  for (const entry of index?.manifests ?? []) {
    if (isIndexType(entry.mediaType)) {
      // containerd-store saves keep the whole index but only this platform's blobs: publish
      // the index only when every child manifest is in the archive.
      const children: Descriptor[] = (await readDoc(entry)).manifests ?? [];
      const match = [];
      let complete = true;
      for (const c of children) {
        if (!(await files.has(`blobs/${c.digest.replace(":", "/")}`))) complete = false;
        else if ((await readDoc(c)).config?.digest === configDigest) match.push(c);
      }
      if (match.length) root = complete ? entry : match[0];
    } else if ((await readDoc(entry)).config?.digest === configDigest) {
      root = entry;
    }
    if (root) break;
  }
  if (!root) {
    throw new Error(`source "${spec}": index.json has no manifest with config ${configDigest}`);
  }
  const chosen: Descriptor = {
    mediaType: root.mediaType,
    digest: root.digest,
    size: root.size,
  };
  return wrap(files, spec, tag, {
    resolve: () => Promise.resolve(chosen),
    open: (digest) => layout.open(digest),
  });
}

/** `blobs/sha256/<hex>` → `sha256:<hex>` (Docker 25+ manifest.json paths). */
function blobPathDigest(name: string): string {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  const digest = m ? `${m[1]}:${m[2]}` : "";
  if (!m || digestProblem(digest)) {
    throw new Error(`manifest.json Config "${name}" is not a blob path`);
  }
  return digest;
}

/** Legacy: builds the schema 2 manifest described in the module doc. */
async function legacyImage(files: ArchiveFiles, item: ManifestItem, spec: string, tag?: string) {
  const blobs = new Map<string, { file: string; size: number }>();
  const configFile = await files.path(item.Config);
  const configBytes = new Uint8Array(await fs.readFile(configFile));
  const config = {
    mediaType: DOCKER_CONFIG,
    size: configBytes.byteLength,
    digest: digestOf(configBytes),
  };
  blobs.set(config.digest, { file: configFile, size: config.size });
  let diffIds: unknown;
  try {
    diffIds = JSON.parse(new TextDecoder().decode(configBytes))?.rootfs?.diff_ids;
  } catch (e) {
    throw new Error(`source "${spec}": config ${item.Config}: ${(e as Error).message}`);
  }
  if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== "string" || digestProblem(d))) {
    throw new Error(
      `source "${spec}": config ${item.Config}: rootfs.diff_ids is not a list of digests`,
    );
  }
  if (diffIds.length !== item.Layers.length) {
    throw new Error(
      `source "${spec}": config ${item.Config} lists ${diffIds.length} diff_ids, manifest.json ${item.Layers.length} layers`,
    );
  }
  const layers: Descriptor[] = [];
  for (const [i, name] of item.Layers.entries()) {
    const file = await files.path(name);
    const size = (await fs.stat(file)).size;
    const layer = (await isGzip(file))
      ? {
        mediaType: DOCKER_LAYER_GZIP,
        size,
        digest: await gzipLayerDigest(file, diffIds[i], name),
      }
      : { mediaType: DOCKER_LAYER, size, digest: diffIds[i] as string };
    blobs.set(layer.digest, { file, size });
    layers.push(layer);
  }
  const manifest = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config, layers }),
  );
  const root = {
    mediaType: DOCKER_MANIFEST,
    digest: digestOf(manifest),
    size: manifest.byteLength,
  };
  return wrap(files, spec, tag, {
    resolve: () => Promise.resolve(root),
    // deno-lint-ignore require-await
    async open(digest) {
      if (digest === root.digest) {
        return { body: new Blob([manifest]).stream(), size: manifest.byteLength };
      }
      const blob = blobs.get(digest);
      if (!blob) throw new Error(`source "${spec}": blob ${digest} is not in the archive`);
      const body = Readable.toWeb(createReadStream(blob.file)) as unknown as ReadableStream<
        Uint8Array
      >;
      return { body, size: blob.size };
    },
  });
}

async function isGzip(file: string): Promise<boolean> {
  const h = await fs.open(file);
  try {
    const { bytesRead, buffer } = await h.read(new Uint8Array(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await h.close();
  }
}

/** sha256 of the gzip file, checking in the same read that it decompresses to `diffId`. */
async function gzipLayerDigest(file: string, diffId: string, name: string): Promise<string> {
  const outer = createHash("sha256");
  const inner = createHash("sha256");
  await pipeline(
    createReadStream(file),
    new Transform({
      transform(chunk, _enc, cb) {
        outer.update(chunk);
        cb(null, chunk);
      },
    }),
    createGunzip(),
    new Writable({
      write(chunk, _enc, cb) {
        inner.update(chunk);
        cb();
      },
    }),
  );
  const got = `sha256:${inner.digest("hex")}`;
  if (got !== diffId) {
    throw new Error(`layer ${name}: uncompressed digest ${got}, config diff_id ${diffId}`);
  }
  return `sha256:${outer.digest("hex")}`;
}

function wrap(
  files: ArchiveFiles,
  spec: string,
  tag: string | undefined,
  parts: Pick<Source, "resolve" | "open">,
): Source {
  return {
    description: spec,
    tag,
    ...parts,
    related: () => Promise.resolve([]),
    close: () => files.remove(),
  };
}
