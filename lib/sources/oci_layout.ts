/**
 * @module
 * `oci:DIR[:TAG]`: an OCI image layout directory (image-spec §"OCI Image Layout
 * Specification": `oci-layout`, `index.json`, `blobs/<alg>/<encoded>`). The image is the
 * index.json entry whose `org.opencontainers.image.ref.name` annotation equals TAG
 * (image-spec §"Pre-Defined Annotation Keys"), as skopeo selects it.
 *
 * The same reader serves unpacked archives (`oci-archive:`, Docker 25+ `docker-archive:`):
 * given the {@link ArchiveFiles} of tar.ts, every member is looked up through it, so a
 * blob stored as a link to another entry of the archive (as `docker save` links shared
 * layers) is followed, inside the archive only, and messages name the archive member
 * (`blobs/sha256/… (in the archive)`), never the temporary directory it was unpacked to.
 */
import * as fs from "node:fs/promises";
import { createReadStream } from "node:fs";
import * as path from "node:path";
import { Readable } from "node:stream";
import type { Descriptor } from "../oci/mediatypes.ts";
import { parseDigest } from "../oci/digest.ts";
import { UsageError } from "../cli/usage.ts";
import type { Source, SourceBlob } from "./source.ts";
import type { ArchiveFiles } from "./tar.ts";

export const REF_NAME = "org.opencontainers.image.ref.name";

/** An OCI image layout on disk. */
export class OciLayoutSource implements Source {
  readonly dir: string;
  readonly tag?: string;
  readonly description: string;
  readonly #release: () => Promise<void>;
  #entries?: Descriptor[];
  #annotations: Record<string, unknown> = {};
  #root?: Descriptor;

  /**
   * `dir`: the layout directory; `tag`: the ref.name to pick; `description` for messages;
   * `release`: what close() does (oci_archive.ts removes the unpacked copy); `archive`:
   * the unpacked archive `dir` is the directory of, to read members through.
   */
  constructor(
    dir: string,
    tag?: string,
    description = `oci:${dir}${tag ? ":" + tag : ""}`,
    release: () => Promise<void> = () => Promise.resolve(),
    archive?: ArchiveFiles,
  ) {
    this.dir = dir;
    this.tag = tag;
    this.description = description;
    this.#release = release;
    this.#archive = archive;
  }

  readonly #archive?: ArchiveFiles;

  /** How messages name member `rel`: its path, or its name in the archive. */
  #where(rel: string): string {
    return this.#archive ? `${rel} (in the archive)` : path.join(this.dir, rel);
  }

  /** The file on disk holding member `rel`, links followed; null when there is none. */
  async #file(rel: string): Promise<string | null> {
    if (this.#archive) {
      return await this.#archive.has(rel) ? await this.#archive.path(rel) : null;
    }
    const file = path.join(this.dir, rel);
    try {
      await fs.stat(file);
      return file;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw new Error(`source "${this.description}": cannot read ${file}: ${e}`);
    }
  }

  /** The text of member `rel`, or null when it is missing. */
  async #text(rel: string): Promise<string | null> {
    const file = await this.#file(rel);
    if (file === null) return null;
    try {
      return await fs.readFile(file, "utf8");
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new Error(`source "${this.description}": cannot read ${this.#where(rel)}: ${why}`);
    }
  }

  /** The descriptors of index.json, each checked (mediaType, digest, size). */
  async entries(): Promise<Descriptor[]> {
    if (this.#entries) return this.#entries;
    const markerText = await this.#text("oci-layout");
    if (markerText === null) {
      throw new UsageError(
        `source "${this.description}": ${
          this.#where("oci-layout")
        } not found: not an OCI image layout`,
      );
    }
    const marker = parseJson(markerText);
    if (typeof (marker as { imageLayoutVersion?: unknown })?.imageLayoutVersion !== "string") {
      throw new Error(
        `source "${this.description}": ${this.#where("oci-layout")} has no imageLayoutVersion`,
      );
    }
    const indexFile = this.#where("index.json");
    const indexText = await this.#text("index.json");
    if (indexText === null) throw new Error(`source "${this.description}": ${indexFile} not found`);
    const index = parseJson(indexText) as
      | { manifests?: unknown; annotations?: unknown }
      | undefined;
    if (index instanceof Error) {
      throw new Error(`source "${this.description}": ${indexFile}: ${index.message}`);
    }
    if (!Array.isArray(index?.manifests)) {
      throw new Error(`source "${this.description}": ${indexFile} has no "manifests" array`);
    }
    this.#entries = index.manifests.map((d, i) =>
      checkDescriptor(d, `${indexFile} manifests[${i}]`)
    );
    const a = index.annotations;
    if (a && typeof a === "object" && !Array.isArray(a)) this.#annotations = { ...a };
    return this.#entries;
  }

  /** The annotations of index.json itself (lib/bundle/incremental.ts reads its record there). */
  async annotations(): Promise<Readonly<Record<string, unknown>>> {
    await this.entries();
    return this.#annotations;
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
          `source "${this.description}": no image tagged "${this.tag}" in ${
            this.#where("index.json")
          } (tags: ${available})`,
        );
      }
    } else if (entries.length === 1) {
      root = entries[0];
    } else if (tagged.length === 1) {
      // Untagged extra entries are typically referrers (signatures, SBOMs) of the one image.
      root = tagged[0];
    } else {
      throw new UsageError(
        `source "${this.description}": ${
          this.#where("index.json")
        } holds ${entries.length} images; name one with :TAG (tags: ${available})`,
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
    const rel = `blobs/${algorithm}/${hex}`;
    const file = await this.#file(rel);
    const st = file === null ? null : await fs.stat(file);
    if (file === null || !st?.isFile()) {
      throw new Error(
        `source "${this.description}": blob ${digest} is missing (${this.#where(rel)})`,
      );
    }
    const size = st.size;
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    return { body, size };
  }

  close(): Promise<void> {
    return this.#release();
  }
}

/** The parsed JSON, or the Error that says why it is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return new Error(`not JSON (${(e as Error).message})`);
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
