/**
 * @module
 * Builds REAL container images without network: deterministic gzip'd tar layers
 * (tar-stream + node:zlib), a config whose `rootfs.diff_ids` are the sha256 of the
 * uncompressed tars, image manifests (OCI or Docker schema 2) and, for 2+ platforms, an
 * image index / manifest list. Written as an OCI image layout (image-spec §"Image Layout":
 * `oci-layout`, `index.json`, `blobs/<alg>/<hex>`) or a tar of one (`oci-archive:`).
 * docker, podman, containerd and skopeo accept pulls of these images.
 *
 * Library: `await makeOciLayout(dir, { tag: "v1", platforms: [...], layers: 3 })`.
 * CLI:     `deno run -A tests/helpers/image.ts <dir|file.tar> [--tag T] [--platforms
 *           linux/amd64,linux/arm64] [--layers N] [--layer-size BYTES] [--format oci|docker]
 *           [--seed S] [--archive] [--referrer]` prints the result as JSON on stdout.
 */
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { Buffer } from "node:buffer";
import process from "node:process";
import tar from "tar-stream";
import type { Descriptor, Platform } from "../../lib/oci/mediatypes.ts";
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_EMPTY_CONFIG,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../../lib/oci/mediatypes.ts";

export type { Descriptor, Platform };

const REF_NAME = "org.opencontainers.image.ref.name";
const MT = {
  oci: {
    manifest: OCI_MANIFEST,
    index: OCI_INDEX,
    config: "application/vnd.oci.image.config.v1+json",
    layer: "application/vnd.oci.image.layer.v1.tar+gzip",
  },
  docker: {
    manifest: DOCKER_MANIFEST,
    index: DOCKER_LIST,
    config: "application/vnd.docker.container.image.v1+json",
    layer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  },
} as const;
/** artifactType of the referrer made with `referrer: true`. */
export const TEST_ARTIFACT_TYPE = "application/vnd.example.sbom.v1+json";

export interface ImageOptions {
  /** Tag written as `org.opencontainers.image.ref.name` in index.json (default "latest"). */
  tag?: string;
  /** One platform → a single manifest is the root; 2+ → an index is the root. */
  platforms?: Platform[];
  /** Layers per platform (default 2). */
  layers?: number;
  /** Uncompressed payload bytes per layer (default 4096); random, so gzip keeps ~all. */
  layerSize?: number;
  format?: "oci" | "docker";
  /** Content seed: same seed → same bytes → same digests (default "seed"). */
  seed?: string;
  /** Seed of layer 0 instead of `seed`: images with the same baseSeed share a base layer. */
  baseSeed?: string;
  /** After writing, damage one blob file of the first platform (for corrupt-source tests). */
  corrupt?: { what?: "layer" | "config"; how?: "flip" | "truncate" | "append" };
  /** Also write a referrer artifact (a manifest with `subject` = the root) to index.json. */
  referrer?: boolean;
}

export interface BuiltManifest {
  digest: string;
  mediaType: string;
  size: number;
  platform: Platform;
  config: Descriptor;
  layers: Descriptor[];
  /** Config + layer digests. */
  blobs: string[];
}

export interface BuiltImage {
  tag: string;
  rootDigest: string;
  rootMediaType: string;
  rootSize: number;
  /** The image manifests (one per platform). */
  manifests: BuiltManifest[];
  /** Every config and layer digest, unique (manifests and the index excluded). */
  blobs: string[];
  /** Sizes of every object written under blobs/ (manifests included), by digest. */
  sizes: Record<string, number>;
  referrer?: { digest: string; mediaType: string; size: number; blobs: string[] };
  /** Digest of the blob damaged by `corrupt`. */
  corrupted?: string;
}

const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Deterministic pseudo-random bytes (xorshift32 seeded from sha256(seed)). */
export function seededBytes(seed: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = createHash("sha256").update(seed).digest().readUInt32LE(0) || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** An uncompressed tar with one text file and one payload file (mtime 0: reproducible). */
export async function makeTar(files: { name: string; body: Uint8Array }[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Uint8Array);
  })();
  for (const f of files) {
    await new Promise<void>((res, rej) =>
      pack.entry(
        { name: f.name, size: f.body.byteLength, mode: 0o644, mtime: new Date(0), uid: 0, gid: 0 },
        f.body,
        (e) => (e ? rej(e) : res()),
      )
    );
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

type Blobs = Map<string, Uint8Array>;
function put(blobs: Blobs, bytes: Uint8Array, mediaType: string): Descriptor {
  const digest = sha256(bytes);
  blobs.set(digest, bytes);
  return { mediaType, digest, size: bytes.byteLength };
}
const json = (doc: unknown) => enc.encode(JSON.stringify(doc));

async function buildPlatform(
  blobs: Blobs,
  o: Required<Omit<ImageOptions, "corrupt" | "referrer" | "baseSeed">> & { baseSeed?: string },
  p: Platform,
): Promise<BuiltManifest> {
  const mt = MT[o.format];
  const plat = `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}`;
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (let i = 0; i < o.layers; i++) {
    const seed = `${i === 0 && o.baseSeed ? o.baseSeed : o.seed}/${plat}/${i}`;
    const tarBytes = await makeTar([
      { name: `layer${i}/hello.txt`, body: enc.encode(`static-registry test image ${seed}\n`) },
      { name: `layer${i}/payload.bin`, body: seededBytes(seed, o.layerSize) },
    ]);
    diffIds.push(sha256(tarBytes));
    layers.push(put(blobs, new Uint8Array(gzipSync(tarBytes)), mt.layer));
  }
  const config = put(
    blobs,
    json({
      created: "1970-01-01T00:00:00Z",
      architecture: p.architecture,
      os: p.os,
      ...(p.variant ? { variant: p.variant } : {}),
      config: { Env: ["PATH=/usr/local/bin:/usr/bin:/bin"], Cmd: ["/bin/sh"] },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map((_, i) => ({
        created: "1970-01-01T00:00:00Z",
        created_by: `static-registry test layer ${i}`,
      })),
    }),
    mt.config,
  );
  const m = put(
    blobs,
    json({ schemaVersion: 2, mediaType: mt.manifest, config, layers }),
    mt.manifest,
  );
  return {
    ...m,
    platform: p,
    config,
    layers,
    blobs: [config.digest, ...layers.map((l) => l.digest)],
  };
}

/** Builds the image in memory: every blob by digest, the root descriptor, the result. */
export async function buildImage(
  opts: ImageOptions = {},
): Promise<{ blobs: Blobs; root: Descriptor; image: BuiltImage; extra: Descriptor[] }> {
  const o = {
    tag: opts.tag ?? "latest",
    platforms: opts.platforms ?? [{ os: "linux", architecture: "amd64" }],
    layers: opts.layers ?? 2,
    layerSize: opts.layerSize ?? 4096,
    format: opts.format ?? "oci",
    seed: opts.seed ?? "seed",
    baseSeed: opts.baseSeed,
  };
  if (o.platforms.length === 0) throw new Error("makeOciLayout: platforms is empty");
  const blobs: Blobs = new Map();
  const manifests: BuiltManifest[] = [];
  for (const p of o.platforms) manifests.push(await buildPlatform(blobs, o, p));
  let root: Descriptor;
  if (manifests.length === 1) {
    root = {
      mediaType: manifests[0].mediaType,
      digest: manifests[0].digest,
      size: manifests[0].size,
    };
  } else {
    const children = manifests.map((m) => ({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      platform: m.platform,
    }));
    const mt = MT[o.format].index;
    root = put(blobs, json({ schemaVersion: 2, mediaType: mt, manifests: children }), mt);
  }
  const image: BuiltImage = {
    tag: o.tag,
    rootDigest: root.digest,
    rootMediaType: root.mediaType,
    rootSize: root.size,
    manifests,
    blobs: [...new Set(manifests.flatMap((m) => m.blobs))],
    sizes: Object.fromEntries([...blobs].map(([d, b]) => [d, b.byteLength])),
  };
  const extra: Descriptor[] = [];
  if (opts.referrer) {
    const empty = put(blobs, enc.encode("{}"), OCI_EMPTY_CONFIG);
    const sbom = put(blobs, json({ sbom: o.seed, subject: root.digest }), "application/json");
    const ref = put(
      blobs,
      json({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        artifactType: TEST_ARTIFACT_TYPE,
        config: empty,
        layers: [sbom],
        subject: { mediaType: root.mediaType, digest: root.digest, size: root.size },
        annotations: { "org.example.kind": "sbom" },
      }),
      OCI_MANIFEST,
    );
    extra.push({ ...ref, artifactType: TEST_ARTIFACT_TYPE });
    image.referrer = { ...ref, blobs: [empty.digest, sbom.digest] };
    image.sizes = Object.fromEntries([...blobs].map(([d, b]) => [d, b.byteLength]));
  }
  return { blobs, root, image, extra };
}

/**
 * Writes (or adds to) an OCI image layout at `dir`. An existing index.json keeps its other
 * tags; an entry with the same tag is replaced.
 */
export async function makeOciLayout(dir: string, opts: ImageOptions = {}): Promise<BuiltImage> {
  const { blobs, root, image, extra } = await buildImage(opts);
  await fs.mkdir(path.join(dir, "blobs", "sha256"), { recursive: true });
  for (const [digest, bytes] of blobs) {
    await fs.writeFile(path.join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  }
  await fs.writeFile(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  let index = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] as Descriptor[] };
  try {
    index = JSON.parse(await fs.readFile(path.join(dir, "index.json"), "utf8"));
  } catch { /* new layout */ }
  index.manifests = index.manifests.filter((d) =>
    d.annotations?.[REF_NAME] !== image.tag && !extra.some((e) => e.digest === d.digest)
  );
  index.manifests.push({ ...root, annotations: { [REF_NAME]: image.tag } }, ...extra);
  await fs.writeFile(path.join(dir, "index.json"), JSON.stringify(index));
  if (opts.corrupt) image.corrupted = await corrupt(dir, image, opts.corrupt);
  return image;
}

async function corrupt(
  dir: string,
  image: BuiltImage,
  c: NonNullable<ImageOptions["corrupt"]>,
): Promise<string> {
  const m = image.manifests[0];
  const digest = c.what === "config" ? m.config.digest : m.layers[m.layers.length - 1].digest;
  const file = path.join(dir, "blobs", "sha256", digest.slice(7));
  const bytes = new Uint8Array(await fs.readFile(file));
  const how = c.how ?? "flip";
  if (how === "flip") bytes[bytes.length >> 1] ^= 0xff;
  await fs.writeFile(
    file,
    how === "truncate"
      ? bytes.subarray(0, bytes.length - 1)
      : how === "append"
      ? Buffer.concat([bytes, new Uint8Array([0])])
      : bytes,
  );
  return digest;
}

/** Tars the files of `dir` (relative names, sorted) into `file`, as skopeo's oci-archive. */
export async function tarDirectory(dir: string, file: string): Promise<void> {
  const names = (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
  const files = await Promise.all(
    names.map(async (name) => ({
      name,
      body: new Uint8Array(await fs.readFile(path.join(dir, name))),
    })),
  );
  await fs.writeFile(file, await makeTar(files));
}

/** Writes an `oci-archive:` file: a tar of an OCI image layout. */
export async function makeOciArchive(file: string, opts: ImageOptions = {}): Promise<BuiltImage> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "sr-archive-"));
  try {
    const image = await makeOciLayout(tmp, opts);
    await tarDirectory(tmp, file);
    return image;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** `linux/arm64/v8,linux/amd64` → platforms. */
export function parsePlatforms(s: string): Platform[] {
  return s.split(",").map((p) => {
    const [osName, architecture, variant] = p.split("/");
    if (!osName || !architecture) throw new Error(`bad platform "${p}" (want os/arch[/variant])`);
    return { os: osName, architecture, ...(variant ? { variant } : {}) };
  });
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tag: { type: "string" },
      platforms: { type: "string" },
      layers: { type: "string" },
      "layer-size": { type: "string" },
      format: { type: "string" },
      seed: { type: "string" },
      "base-seed": { type: "string" },
      archive: { type: "boolean" },
      referrer: { type: "boolean" },
    },
  });
  if (positionals.length !== 1) {
    throw new Error("usage: image.ts <dir|file.tar> [--tag T] [--platforms os/arch,...] ...");
  }
  if (values.format && values.format !== "oci" && values.format !== "docker") {
    throw new Error(`--format must be oci or docker, not "${values.format}"`);
  }
  const opts: ImageOptions = {
    tag: values.tag,
    platforms: values.platforms ? parsePlatforms(values.platforms) : undefined,
    layers: values.layers ? Number(values.layers) : undefined,
    layerSize: values["layer-size"] ? Number(values["layer-size"]) : undefined,
    format: values.format as "oci" | "docker" | undefined,
    seed: values.seed,
    baseSeed: values["base-seed"],
    referrer: values.referrer,
  };
  const target = positionals[0];
  const image = values.archive
    ? await makeOciArchive(target, opts)
    : await makeOciLayout(target, opts);
  console.log(JSON.stringify(image, null, 2));
}

if (import.meta.main) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(String(e?.message ?? e));
    process.exit(1);
  });
}
