/**
 * @module
 * `oci:DIR[:TAG]`: an OCI image layout directory (image-spec §"OCI Image Layout
 * Specification": `oci-layout`, `index.json`, `blobs/<alg>/<encoded>`). The image is the
 * index.json entry whose `org.opencontainers.image.ref.name` annotation equals TAG
 * (image-spec §"Pre-Defined Annotation Keys"), as skopeo selects it.
 */
import * as fs from "node:fs/promises";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { Descriptor } from "../oci/mediatypes.ts";
import { parseDigest } from "../oci/digest.ts";
import { UsageError } from "../cli/usage.ts";
import type { Source, SourceBlob } from "./source.ts";

export const REF_NAME = "org.opencontainers.image.ref.name";

/** An OCI image layout on disk. */
export class OciLayoutSource implements Source {
  readonly dir: string;
  readonly tag?: string;
  readonly description: string;
  readonly #release: () => Promise<void>;
  #entries?: Descriptor[];
  #root?: Descriptor;

  /**
   * `dir`: the layout directory; `tag`: the ref.name to pick; `description` for messages;
   * `release`: what close() does (oci_archive.ts removes the unpacked copy).
   */
  constructor(
    dir: string,
    tag?: string,
    description = `oci:${dir}${tag ? ":" + tag : ""}`,
    release: () => Promise<void> = () => Promise.resolve(),
  ) {
    this.dir = dir;
    this.tag = tag;
    this.description = description;
    this.#release = release;
  }

  /** The descriptors of index.json, each checked (mediaType, digest, size). */
  async entries(): Promise<Descriptor[]> {
    if (this.#entries) return this.#entries;
    const layoutFile = path.join(this.dir, "oci-layout");
    let marker: unknown;
    try {
      marker = JSON.parse(await fs.readFile(layoutFile, "utf8"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new UsageError(
          `source "${this.description}": ${layoutFile} not found: not an OCI image layout`,
        );
      }
      throw new Error(`source "${this.description}": cannot read ${layoutFile}: ${e}`);
    }
    if (typeof (marker as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== "string") {
      throw new Error(`source "${this.description}": ${layoutFile} has no imageLayoutVersion`);
    }
    const indexFile = path.join(this.dir, "index.json");
    let index: { manifests?: unknown };
    try {
      index = JSON.parse(await fs.readFile(indexFile, "utf8"));
    } catch (e) {
      throw new Error(`source "${this.description}": cannot read ${indexFile}: ${e}`);
    }
    if (!Array.isArray(index?.manifests)) {
      throw new Error(`source "${this.description}": ${indexFile} has no "manifests" array`);
    }
    this.#entries = index.manifests.map((d, i) =>
      checkDescriptor(d, `${indexFile} manifests[${i}]`)
    );
    return this.#entries;
  }

  async resolve(): Promise<Descriptor> {
    if (this.#root) return this.#root;
    const entries = await this.entries();
    const tagged = entries.filter((d) => d.annotations?.[REF_NAME] !== undefined);
    const tags = tagged.map((d) => d.annotations![REF_NAME]);
    const available = tags.length ? tags.map((t) => `"${t}"`).join(", ") : "none";
    let root: Descriptor | undefined;
    if (this.tag !== undefined) {
      root = tagged.find((d) => d.annotations![REF_NAME] === this.tag);
      if (!root) {
        throw new UsageError(
          `source "${this.description}": no image tagged "${this.tag}" in ${this.dir}/index.json (tags: ${available})`,
        );
      }
    } else if (entries.length === 1) {
      root = entries[0];
    } else if (tagged.length === 1) {
      // Untagged extra entries are typically referrers (signatures, SBOMs) of the one image.
      root = tagged[0];
    } else {
      throw new UsageError(
        `source "${this.description}": ${this.dir}/index.json holds ${entries.length} images; name one with :TAG (tags: ${available})`,
      );
    }
    this.#root = root;
    return root;
  }

  async related(): Promise<Descriptor[]> {
    const root = await this.resolve();
    return (await this.entries()).filter((d) => d.digest !== root.digest);
  }

  async open(digest: string): Promise<SourceBlob> {
    const { algorithm, hex } = parseDigest(digest);
    const file = path.join(this.dir, "blobs", algorithm, hex);
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new Error(`source "${this.description}": blob ${digest} is missing (${file})`);
      }
      throw e;
    }
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    return { body, size };
  }

  close(): Promise<void> {
    return this.#release();
  }
}

function checkDescriptor(d: unknown, where: string): Descriptor {
  const o = d as Record<string, unknown> | null;
  if (
    !o || typeof o !== "object" || typeof o.mediaType !== "string" ||
    typeof o.digest !== "string" || typeof o.size !== "number"
  ) {
    throw new Error(`${where}: not a descriptor (needs mediaType, digest, size)`);
  }
  try {
    parseDigest(o.digest);
  } catch (e) {
    throw new Error(`${where}: digest "${o.digest}": ${(e as Error).message}`);
  }
  return o as unknown as Descriptor;
}
