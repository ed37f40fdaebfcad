/**
 * @module
 * A tar unpacked into a private temporary directory, with its links kept as a map instead
 * of being created on disk. `docker save` (before Docker 25) writes a layer that several
 * images share once and points the other `<id>/layer.tar` entries at it with a symlink
 * (`../<id>/layer.tar`); GNU tar may store repeats as hard links. {@link ArchiveFiles.path}
 * follows such links, but only inside the archive: entry names and link targets that are
 * absolute or climb out with `..` are refused, and nothing outside the directory is read.
 */
import * as fs from "node:fs/promises";
import { createReadStream, createWriteStream } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";

/** Links followed before giving up (a loop, or an absurd chain). */
const MAX_LINK_HOPS = 16;

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

/** Unpacks `file` into a new temporary directory (removed again if unpacking fails). */
export async function unpackArchive(file: string): Promise<ArchiveFiles> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "static-registry-archive-"));
  const links = new Map<string, string>();
  const remove = () => fs.rm(dir, { recursive: true, force: true });
  try {
    await extract(file, dir, links);
  } catch (e) {
    await remove();
    throw e;
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
    const file = path.join(dir, ...resolve(name).split("/"));
    const st = await fs.stat(file).catch(() => null);
    return st?.isFile() ? file : null;
  };
  return {
    dir,
    has: async (name) => (await stat(name)) !== null,
    async path(name) {
      const file = await stat(name);
      if (!file) throw new Error(`archive member "${name}" is missing or not a file`);
      return file;
    },
    remove,
  };
}

async function extract(file: string, dir: string, links: Map<string, string>): Promise<void> {
  const ex = tar.extract();
  const done = (async () => {
    for await (const entry of ex) {
      const { type, linkname } = entry.header;
      const name = memberName(entry.header.name, "tar entry");
      if (name === "") {
        entry.resume();
        continue;
      }
      const dest = path.join(dir, ...name.split("/"));
      if (type === "file" || type === "contiguous-file") {
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await pipeline(entry, createWriteStream(dest, { flags: "wx" }));
        continue;
      }
      entry.resume();
      if (type === "directory") {
        await fs.mkdir(dest, { recursive: true });
      } else if ((type === "symlink" || type === "link") && linkname) {
        // A symlink's target is relative to its own directory; a hard link's to the root.
        const target = type === "symlink"
          ? path.posix.join(path.posix.dirname(name), linkname)
          : linkname;
        if (linkname.startsWith("/")) {
          throw new Error(`tar entry "${entry.header.name}" links to absolute "${linkname}"`);
        }
        links.set(
          name,
          memberName(path.posix.normalize(target), `tar entry "${entry.header.name}" link target`),
        );
      }
      // Devices and fifos have no place in an image archive: skipped.
    }
  })().catch((e) => {
    ex.destroy(e);
    throw e;
  });
  await Promise.all([pipeline(createReadStream(file), ex), done]);
}
