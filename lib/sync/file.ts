/**
 * @module
 * Reads a sync FILE into {@link SyncImage}s, refusing anything wrong before the first
 * request with a UsageError (exit 2) that names the file, the line and the field:
 *
 *   sync file "mirror.yaml": line 7: images[1].tags.newest: must be at least 1, got 0
 *
 * Two forms, told apart by the first line that is neither blank nor a `#` comment:
 * - **lines**, when it starts with `docker://`: one image a line,
 *   `docker://HOST/REPO[:TAG|@DIGEST] [TARGET-REPO]`, `#` comments, blank lines;
 * - otherwise a **YAML document** (JSON is YAML), shaped by schema.ts.
 *
 * A source without tag or digest means every tag the upstream lists, after the filters.
 */
import { type Document, LineCounter, parseDocument } from "yaml";
import { Value } from "@sinclair/typebox/value";
import type { TSchema } from "@sinclair/typebox";
import semver from "semver";
import { describeError } from "../config/errors.ts";
import { UsageError } from "../cli/usage.ts";
import { nameProblem } from "../oci/reference.ts";
import { type DockerReference, parseDockerReference } from "../sources/docker_reference.ts";
import { type Entry, type SyncDocument, SyncDocumentSchema } from "./schema.ts";
import { parsePlatform, type PlatformWanted } from "./platforms.ts";
import { parseRate } from "./rate.ts";

/** Tag filters, compiled. */
export interface TagSelection {
  regex?: RegExp;
  semver?: string;
  newest?: number;
}

/** One image (or one repository's tags) to mirror. */
export interface SyncImage {
  /** Where it was written, for messages: `line 3`, `images[2] (line 7)`. */
  where: string;
  /** The source as written. */
  source: string;
  ref: DockerReference;
  /** Whether the source names a tag or digest; without: every listed tag. */
  pinned: boolean;
  /** Repository in the store. */
  target: string;
  tags?: TagSelection;
  /** Platforms to copy of an index; undefined: all. */
  platforms?: PlatformWanted[];
  signatures: boolean;
}

export interface SyncFile {
  images: SyncImage[];
  /** Requests a second to each upstream host (`rate:`), if the document sets one. */
  rate?: number;
  concurrency?: number;
}

/** Parses the text of sync file `file` (its name is only used in messages). */
export function parseSyncFile(text: string, file: string): SyncFile {
  const first = text.split("\n").map((l) => l.trim()).find((l) => l !== "" && !l.startsWith("#"));
  if (first === undefined) throw new UsageError(`sync file "${file}": no images in it`);
  return first.startsWith("docker://") ? parseLines(text, file) : parseYaml(text, file);
}

function parseLines(text: string, file: string): SyncFile {
  const images: SyncImage[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (line === "") continue;
    const where = `line ${i + 1}`;
    const bad = (why: string) => new UsageError(`sync file "${file}": ${where}: ${why}`);
    const words = line.split(/\s+/);
    if (words.length > 2) {
      throw bad(
        `expected "docker://HOST/REPO[:TAG|@DIGEST] [TARGET-REPO]", got ${words.length} words`,
      );
    }
    images.push(image({ source: words[0], target: words[1] }, where, bad));
  }
  return { images };
}

function parseYaml(text: string, file: string): SyncFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const lineOf = (offset: number) => lines.linePos(offset).line;
  if (doc.errors.length) {
    const e = doc.errors[0];
    throw new UsageError(
      `sync file "${file}": line ${lineOf(e.pos[0])}: ${e.message.split("\n")[0]}`,
    );
  }
  const value = doc.toJS();
  const at = (pointer: string) => `line ${lineAt(doc, pointer, lineOf)}`;
  for (const e of Value.Errors(SyncDocumentSchema, value)) {
    const p = describeError(e, schemaAt);
    const key = p.path ? `${p.path}: ` : "";
    throw new UsageError(`sync file "${file}": ${at(e.path)}: ${key}${p.problem}`);
  }
  const d = value as SyncDocument;
  const images = d.images.map((entry, i) => {
    const where = `images[${i}] (${at(`/images/${i}`)})`;
    return image(entry, where, (why) => new UsageError(`sync file "${file}": ${where}: ${why}`));
  });
  if (!images.length) throw new UsageError(`sync file "${file}": images: the list is empty`);
  return {
    images,
    rate: d.rate === undefined ? undefined : parseRate(d.rate),
    concurrency: d.concurrency,
  };
}

/** Checks and compiles one entry; `bad` makes the error for a field. */
function image(e: Entry, where: string, bad: (why: string) => Error): SyncImage {
  let ref: DockerReference;
  try {
    ref = parseDockerReference(e.source.replace(/^docker:/, ""), e.source);
  } catch (err) {
    throw bad((err as Error).message);
  }
  const target = e.target ?? ref.repository;
  const why = nameProblem(target);
  if (why) throw bad(`target "${target}": ${why}`);
  const pinned = isPinned(e.source);
  if (pinned && e.tags) throw bad(`tags: filters need a source without a tag or digest`);
  const tags: TagSelection | undefined = e.tags && { newest: e.tags.newest };
  if (e.tags?.regex !== undefined) {
    try {
      tags!.regex = new RegExp(e.tags.regex);
    } catch (err) {
      throw bad(`tags.regex: ${(err as Error).message}`);
    }
  }
  if (e.tags?.semver !== undefined) {
    if (semver.validRange(e.tags.semver) === null) {
      throw bad(`tags.semver: "${e.tags.semver}" is not a semver range like ">=1.2 <2"`);
    }
    tags!.semver = e.tags.semver;
  }
  const platforms = e.platforms === undefined || e.platforms === "all"
    ? undefined
    : e.platforms.map(parsePlatform);
  return {
    where,
    source: e.source,
    ref,
    pinned,
    target,
    tags,
    platforms,
    signatures: e.signatures ?? false,
  };
}

/** `docker://h/r:t` and `docker://h/r@d` name one image; `docker://h:5000/r` does not. */
function isPinned(source: string): boolean {
  const rest = source.slice("docker://".length);
  return rest.includes("@") || rest.lastIndexOf(":") > rest.lastIndexOf("/");
}

/** The line of the node at a JSON pointer, or of its nearest ancestor that exists. */
function lineAt(doc: Document, pointer: string, lineOf: (offset: number) => number): number {
  const path = pointer.split("/").slice(1).map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (range) return lineOf(range[0]);
  }
  return 1;
}

function schemaAt(pointer: string): TSchema {
  let s = SyncDocumentSchema as TSchema;
  for (const seg of pointer.split("/").slice(1)) {
    s = /^[0-9]+$/.test(seg) ? s.items : s.properties?.[seg];
    if (!s) return {} as TSchema;
  }
  return s;
}
