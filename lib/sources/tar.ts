/**
 * @module
 * The one tar extractor of every archive source (`oci-archive:`, `docker-archive:`, and
 * `import`'s bundles), built on tar-stream. An archive is unpacked into a private temporary
 * directory; regular files go to disk, links are kept as a map and never created, so
 * nothing written can point outside the directory. `docker save` (before Docker 25) writes
 * a layer that several images share once and points the other `<id>/layer.tar` entries at
 * it with a symlink (`../<id>/layer.tar`); GNU tar may store repeats as hard links.
 * {@link ArchiveFiles.path} follows such links, but only inside the archive.
 *
 * Refused, with a message naming the archive and the entry's byte offset:
 * - entry names and link targets that are absolute or climb out with `..`;
 * - an entry name given twice (which copy would be the image?), or a name used both as a
 *   file and as a directory (`blobs` then `blobs/sha256/…`);
 * - a truncated archive: cut inside an entry, or without the end-of-archive marker
 *   (POSIX.1-1988 ustar: "two consecutive 512-byte blocks of zeros"; one is accepted, as
 *   GNU tar does), which is how a tar cut at an entry boundary shows.
 * Devices and fifos have no place in an image archive and are skipped. When unpacking
 * fails, the directory is removed before the error is thrown, and no message names it
 * (the temporary path means nothing to the user and is gone by then).
 */
import * as fs from "node:fs/promises";
import { createReadStream, createWriteStream, rmSync, type WriteStream } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

/** Prefix of the temporary directories, so tests and operators can recognise them. */
export const UNPACK_PREFIX = "static-registry-archive-";
/** Links followed before giving up (a loop, or an absurd chain). */
const MAX_LINK_HOPS = 16;
const BLOCK = 512;
/** The directories unpacked and not yet removed, for {@link removeUnpackedNow}. */
const live = new Set<string>();

/**
 * Removes, synchronously, every archive directory still unpacked, and says how many: for
 * a signal handler about to exit, where the `finally` that would call `remove()` never
 * runs (`import` on Ctrl-C).
 */
export function removeUnpackedNow(): number {
  const n = live.size;
  for (const dir of live) rmSync(dir, { recursive: true, force: true });
  live.clear();
  return n;
}

/** An unpacked archive: regular files on disk, links in memory. */
export interface ArchiveFiles {
  /** The temporary directory holding the regular files. */
  readonly dir: string;
  /** Whether the archive holds `name` (after links). */
  has(name: string): Promise<boolean>;
  /** The file on disk for archive member `name`, following links; throws naming it. */
  path(name: string): Promise<string>;
  /** Removes the temporary directory. */
  remove(): Promise<void>;
}

/**
 * Normalizes an archive member name (`./a//b/` → `a/b`); throws when it is absolute or
 * leaves the archive. `what` names it in the error ("tar entry", "manifest.json Layers[0]").
 */
export function memberName(name: string, what: string): string {
  if (name.startsWith("/")) throw new Error(`${what} "${name}" is an absolute path`);
  const n = path.posix.normalize(name).replace(/\/+$/, "");
  if (n === ".." || n.startsWith("../") || name.split("/").includes("..")) {
    throw new Error(`${what} "${name}" leaves the archive`);
  }
  return n === "." ? "" : n;
}

/**
 * Unpacks the tar `file` into a new temporary directory. `label` starts every error
 * message: `oci-archive "x.tar"` → `oci-archive "x.tar": truncated at byte 1536`.
 *
 * @example
 * ```ts
 * const files = await unpackArchive("img.tar", 'oci-archive "img.tar"');
 * try {
 *   console.log(await files.path("index.json"));
 * } finally {
 *   await files.remove();
 * }
 * ```
 */
export async function unpackArchive(file: string, label: string): Promise<ArchiveFiles> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), UNPACK_PREFIX));
  live.add(dir);
  const links = new Map<string, string>();
  const remove = async () => {
    await fs.rm(dir, { recursive: true, force: true });
    live.delete(dir);
  };
  try {
    await extract(file, dir, links, label);
  } catch (e) {
    await remove();
    throw withoutDir(e, dir);
  }
  const resolve = (name: string): string => {
    let n = memberName(name, "archive member");
    for (let hops = 0; links.has(n); hops++) {
      if (hops >= MAX_LINK_HOPS) throw new Error(`archive member "${name}": link loop`);
      n = links.get(n)!;
    }
    return n;
  };
  const stat = async (name: string) => {
    const member = path.join(dir, ...resolve(name).split("/"));
    const st = await fs.stat(member).catch(() => null);
    return st?.isFile() ? member : null;
  };
  return {
    dir,
    has: async (name) => (await stat(name)) !== null,
    async path(name) {
      const member = await stat(name);
      if (!member) throw new Error(`archive member "${name}" is missing or not a file`);
      return member;
    },
    remove,
  };
}

/** Where the reader is, for messages: bytes read from the file, the entry being read. */
interface Position {
  read: number;
  /** End of the last entry's data, padded to a block: where the end marker must start. */
  end: number;
  entry?: { name: string; offset: number };
}

async function extract(
  file: string,
  dir: string,
  links: Map<string, string>,
  label: string,
): Promise<void> {
  const at: Position = { read: 0, end: 0 };
  const seen = new Map<string, number>();
  const ex = tar.extract();
  const disk = new Disk();
  const entries = (async () => {
    for await (const entry of ex) {
      const { header, offset } = entry;
      at.entry = { name: header.name, offset };
      at.end = offset + BLOCK + Math.ceil((header.size ?? 0) / BLOCK) * BLOCK;
      const where = ` (at byte ${offset})`;
      const name = inside(() => memberName(header.name, "tar entry"), where);
      if (name === "") {
        entry.resume();
        continue;
      }
      if (header.type !== "directory") {
        const first = seen.get(name);
        if (first !== undefined) {
          throw new Error(
            `tar entry "${header.name}" appears twice (at bytes ${first} and ${offset})`,
          );
        }
        seen.set(name, offset);
      }
      const dest = path.join(dir, ...name.split("/"));
      if (header.type === "file" || header.type === "contiguous-file") {
        await placed(header.name, where, () => disk.mkdir(path.dirname(dest)));
        await placed(
          header.name,
          where,
          () => pipeline(entry, disk.create(dest)),
          "is a file where an earlier entry made a directory",
        );
        continue;
      }
      entry.resume();
      if (header.type === "directory") {
        await placed(header.name, where, () => disk.mkdir(dest));
      } else if ((header.type === "symlink" || header.type === "link") && header.linkname) {
        links.set(
          name,
          inside(() => linkTarget(name, header.name, header.type, header.linkname!), where),
        );
      }
    }
    at.entry = undefined;
  })();
  const counter = new Transform({
    transform(chunk: Uint8Array, _enc, cb) {
      at.read += chunk.byteLength;
      cb(null, chunk);
    },
  });
  // The loop may fail first (a refused entry): stop reading the archive then too.
  const failed = entries.catch((e) => {
    ex.destroy(e);
    throw e;
  });
  try {
    await Promise.all([pipeline(createReadStream(file), counter, ex), failed]);
  } catch (e) {
    await disk.stop();
    throw explain(e, at, label);
  }
  if (at.read - at.end < BLOCK) {
    throw new Error(`${label}: truncated at byte ${at.read} (no end-of-archive marker)`);
  }
}

/**
 * What the extraction loop does on disk, so that a failure can stop it before the caller
 * removes the directory. The loop is not awaited after a failure (a tar-stream entry, a
 * streamx stream, destroyed under node's pipeline() may never settle it), and a write or
 * mkdir it still had going raced the removal: `ENOTEMPTY: directory not empty, rm`.
 */
class Disk {
  #stopped = false;
  #busy = new Set<Promise<unknown>>();
  #open = new Set<WriteStream>();

  mkdir(dir: string): Promise<unknown> {
    this.#check();
    const p = fs.mkdir(dir, { recursive: true });
    const settled = p.catch(() => {}).finally(() => this.#busy.delete(settled));
    this.#busy.add(settled);
    return p;
  }

  /** A new file's write stream (fails when the file exists). */
  create(file: string): WriteStream {
    this.#check();
    const ws = createWriteStream(file, { flags: "wx" });
    this.#open.add(ws);
    ws.once("close", () => this.#open.delete(ws));
    return ws;
  }

  /** Refuses what comes next, closes what is open, waits for what is under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#open].map(closed));
    await Promise.all(this.#busy);
  }

  #check(): void {
    if (this.#stopped) throw new Error("extraction stopped");
  }
}

/** Destroys a write stream and resolves once its file is closed. */
function closed(ws: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (ws.closed) return resolve();
    ws.once("close", () => resolve());
    ws.destroy();
  });
}

/** A link's target as a member name: a symlink's is relative to its directory. */
function linkTarget(name: string, raw: string, type: string, linkname: string): string {
  if (linkname.startsWith("/")) {
    throw new Error(`tar entry "${raw}" links to absolute "${linkname}"`);
  }
  const target = type === "symlink"
    ? path.posix.join(path.posix.dirname(name), linkname)
    : linkname;
  return memberName(path.posix.normalize(target), `tar entry "${raw}" link target`);
}

/**
 * Creates what entry `raw` needs on disk. A name an earlier entry holds as a file (or as
 * a directory, for a file) fails with EEXIST/ENOTDIR/EISDIR: said in the archive's terms,
 * without the raw error (whose text is a temporary path).
 */
async function placed(
  raw: string,
  where: string,
  f: () => Promise<unknown>,
  why = "needs a directory where an earlier entry is a file",
): Promise<void> {
  try {
    await f();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTDIR" && code !== "EISDIR") throw e;
    throw new Error(`tar entry "${raw}"${where} ${why}`);
  }
}

/**
 * `e` (and its causes) with the temporary directory `dir` written as "<archive>": a
 * safety net for errors not foreseen above, since the directory is removed by now.
 */
function withoutDir(e: unknown, dir: string): unknown {
  if (!(e instanceof Error)) return e;
  const cause = e.cause === undefined ? undefined : withoutDir(e.cause, dir);
  if (!e.message.includes(dir) && cause === e.cause) return e;
  return new Error(e.message.replaceAll(dir, "<archive>"), { cause });
}

/** Runs `f`, appending `where` to the message of what it throws. */
function inside<T>(f: () => T, where: string): T {
  try {
    return f();
  } catch (e) {
    throw new Error(`${(e as Error).message}${where}`);
  }
}

/** The error of a failed extraction, prefixed by the archive and placed in it. */
function explain(e: unknown, at: Position, label: string): Error {
  const msg = (e as Error)?.message ?? String(e);
  const entry = at.entry ? ` in tar entry "${at.entry.name}" (at byte ${at.entry.offset})` : "";
  if (
    msg === "Unexpected end of data" ||
    (e as { code?: string })?.code === "ERR_STREAM_PREMATURE_CLOSE"
  ) {
    // No cause: tar-stream's "Unexpected end of data" says less than this message does.
    return new Error(`${label}: truncated at byte ${at.read}${entry}`);
  }
  if (/^Invalid tar header/.test(msg)) {
    return new Error(`${label}: not a tar archive, or corrupt after byte ${at.end}: ${msg}`, {
      cause: e,
    });
  }
  return new Error(`${label}: ${msg}`, { cause: e });
}
