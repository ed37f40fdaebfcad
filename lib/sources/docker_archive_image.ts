/**
 * @module
 * The image of a `docker save` archive once manifest.json has picked it (docker_archive.ts
 * explains both formats): {@link legacyImage} builds a Docker schema 2 manifest over the
 * config and layer files, {@link ociImage} takes the manifest Docker 25+ wrote. Both return
 * a Source over the unpacked archive whose `close()` removes it.
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
import type { ArchiveFiles } from "./tar.ts";
import { OciLayoutSource } from "./oci_layout.ts";
import type { Source } from "./source.ts";

/** Docker schema 2 config media type. */
export const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
/** Docker schema 2 uncompressed layer ("Layer, as a tar archive"): legacy layer.tar as is. */
export const DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar";
/** Docker schema 2 gzip layer. */
export const DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/** One entry of `docker save`'s manifest.json. */
export interface ManifestItem {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Docker 25+: the OCI layout's manifest whose config is `item.Config`, bytes kept. */
export async function ociImage(
  files: ArchiveFiles,
  item: ManifestItem,
  spec: string,
  tag: string | undefined,
  index: { manifests?: Descriptor[] },
): Promise<Source> {
  const layout = new OciLayoutSource(files.dir, undefined, spec, undefined, files);
  const configDigest = blobPathDigest(item.Config);
  const readDoc = async (d: Descriptor) => {
    const { body } = await layout.open(d.digest);
    return JSON.parse(await new Response(body).text());
  };
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
export async function legacyImage(
  files: ArchiveFiles,
  item: ManifestItem,
  spec: string,
  tag: string | undefined,
): Promise<Source> {
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
