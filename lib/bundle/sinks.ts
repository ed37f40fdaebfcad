/**
 * @module
 * Where `export` writes an OCI image layout (image-spec §"Image Layout"): a directory
 * (`oci:DIR`) or a tar of one (`oci-archive:FILE`). Every file is written to a `.part`
 * name and renamed into place, so a reader never sees half a file, and `index.json` is
 * written last, so an interrupted export is not a valid layout rather than a wrong one.
 *
 * An existing layout directory is merged into, as skopeo, oras and crane do when they
 * write into one (a layout is a multi-image store by design): our entries are added, the
 * others' kept. An existing entry is replaced when it names the same image as one of ours
 * (the same `io.containerd.image.name`; or, without one, the same
 * `org.opencontainers.image.ref.name`, which is what `skopeo copy oci:DIR:TAG` looks up, so
 * two would make it ambiguous); an unnamed entry (a referrer, attached.ts) when ours lists
 * the same digest unnamed, so a re-export does not list it twice. A directory that holds anything but a layout is refused
 * before anything is written, as is a layout whose `index.json` cannot be read: merging
 * into what we do not understand would lose its entries. A tar target is a new file
 * (replacing one, like `tar -cf`).
 */
import * as fs from "node:fs/promises";
import { createWriteStream } from "node:fs";
import * as path from "node:path";
import process from "node:process";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { Buffer } from "node:buffer";
import tar from "tar-stream";
import { parseDigest } from "../oci/digest.ts";
import { OCI_INDEX, OCI_LAYOUT_VERSION } from "../oci/mediatypes.ts";
import { REF_NAME } from "../sources/oci_layout.ts";
import { ANNOTATION_IMAGE_NAME } from "./names.ts";

/** An index.json entry (a descriptor with annotations). */
export type IndexEntry = Record<string, unknown> & { annotations?: Record<string, string> };

/** How index.json came out: entries of an existing layout kept or replaced by ours. */
export interface IndexOutcome {
  kept: number;
  replaced: number;
}

export interface Sink {
  blob(digest: string, size: number, body: ReadableStream<Uint8Array>): Promise<void>;
  /**
   * Writes `oci-layout` and `index.json` (merged for a directory), then finishes;
   * `annotations` go on index.json itself (an incremental bundle's record).
   */
  finish(entries: IndexEntry[], annotations?: Record<string, string>): Promise<IndexOutcome>;
  /** Removes what an unfinished export wrote that is not a whole blob. */
  abort(): Promise<void>;
}

const LAYOUT_FILES = new Set(["oci-layout", "index.json", "blobs"]);
const encode = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
const layoutMarker = () => JSON.stringify({ imageLayoutVersion: OCI_LAYOUT_VERSION });

/** Writes `text` to `file` atomically (a `.part` beside it, renamed over it). */
async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.part`;
  try {
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** The existing index.json of `dir` (null: none), refusing what we could not merge into. */
async function existingIndex(dir: string): Promise<Record<string, unknown> | null> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`export target "oci:${dir}": cannot read the directory: ${e}`);
  }
  const where = `export target "oci:${dir}"`;
  if (!names.includes("index.json")) {
    const other = names.filter((n) => !LAYOUT_FILES.has(n));
    if (other.length) {
      throw new Error(
        `${where}: the directory is not empty and not an OCI image layout (holds ${
          other.slice(0, 3).map((n) => `"${n}"`).join(", ")
        }${other.length > 3 ? ", …" : ""}); export into an empty or new directory`,
      );
    }
    return null; // empty, or what an interrupted export of ours left
  }
  let index: unknown;
  try {
    index = JSON.parse(await fs.readFile(path.join(dir, "index.json"), "utf8"));
  } catch (e) {
    throw new Error(`${where}: cannot merge into its index.json: ${(e as Error).message}`);
  }
  const manifests = (index as { manifests?: unknown })?.manifests;
  if (!Array.isArray(manifests) || manifests.some((m) => typeof m !== "object" || !m)) {
    throw new Error(`${where}: cannot merge into its index.json: no "manifests" array`);
  }
  return index as Record<string, unknown>;
}

/** `existing`'s index with `ours` merged in (module doc), and what happened to its entries. */
export function mergeIndex(
  existing: Record<string, unknown> | null,
  ours: IndexEntry[],
  annotations?: Record<string, string>,
): { index: Record<string, unknown>; outcome: IndexOutcome } {
  const old = (existing?.manifests ?? []) as IndexEntry[];
  const names = new Set(ours.map((e) => e.annotations?.[ANNOTATION_IMAGE_NAME]));
  const refs = new Set(ours.map((e) => e.annotations?.[REF_NAME]));
  const isUnnamed = (e: IndexEntry) =>
    e.annotations?.[ANNOTATION_IMAGE_NAME] === undefined && e.annotations?.[REF_NAME] === undefined;
  const unnamed = new Set(ours.filter(isUnnamed).map((e) => e.digest));
  const clashes = (e: IndexEntry) => {
    const name = e.annotations?.[ANNOTATION_IMAGE_NAME];
    if (name !== undefined) return names.has(name);
    const ref = e.annotations?.[REF_NAME];
    if (ref !== undefined) return refs.has(ref);
    return unnamed.has(e.digest);
  };
  const kept = old.filter((e) => !clashes(e));
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    ...existing,
    ...(annotations ? { annotations } : {}),
    manifests: [...kept, ...ours],
  };
  return { index, outcome: { kept: kept.length, replaced: old.length - kept.length } };
}

/** A layout directory; refuses one it cannot merge into before writing anything. */
export async function dirSink(dir: string): Promise<Sink> {
  const existing = await existingIndex(dir);
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  return {
    async blob(digest, _size, body) {
      const { algorithm, hex } = parseDigest(digest);
      const file = path.join(dir, "blobs", algorithm, hex);
      await fs.mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.part`;
      written.push(tmp);
      await pipeline(Readable.fromWeb(body as never), createWriteStream(tmp));
      await fs.rename(tmp, file);
    },
    async finish(entries, annotations) {
      const marker = path.join(dir, "oci-layout");
      if (!existing || !(await fs.stat(marker).catch(() => null))) {
        await writeAtomic(marker, layoutMarker());
      }
      const { index, outcome } = mergeIndex(existing, entries, annotations);
      await writeAtomic(path.join(dir, "index.json"), encode(index));
      return outcome;
    },
    async abort() {
      for (const f of written) await fs.rm(f, { force: true });
    },
  };
}

/** A tar of a layout, written to `FILE.part` and renamed to `file` when complete. */
export function tarSink(file: string): Sink {
  const pack = tar.pack();
  const tmp = `${file}.part`;
  const done = pipeline(pack, createWriteStream(tmp));
  const text = (name: string, s: string) => {
    const bytes = Buffer.from(s);
    return new Promise<void>((resolve, reject) =>
      pack.entry(
        { name, size: bytes.byteLength, mode: 0o644 },
        bytes,
        (err) => err ? reject(err) : resolve(),
      )
    );
  };
  const started = text("oci-layout", layoutMarker());
  return {
    async blob(digest, size, body) {
      await started;
      const { algorithm, hex } = parseDigest(digest);
      const sink = pack.entry({ name: `blobs/${algorithm}/${hex}`, size, mode: 0o644 });
      await pipeline(Readable.fromWeb(body as never), sink);
    },
    async finish(entries, annotations) {
      await started;
      await text("index.json", encode(mergeIndex(null, entries, annotations).index));
      pack.finalize();
      await done;
      await fs.rename(tmp, file);
      return { kept: 0, replaced: 0 };
    },
    async abort() {
      pack.destroy();
      await Promise.allSettled([started, done]);
      await fs.rm(tmp, { force: true });
    },
  };
}
