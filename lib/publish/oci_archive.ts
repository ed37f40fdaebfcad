/**
 * @module
 * `oci-archive:FILE[:TAG]`: a tar of an OCI image layout, as `skopeo copy … oci-archive:`
 * and `buildctl --output type=oci` write. The tar is streamed (tar-stream) into a private
 * temporary directory, then read as an `oci:` layout; `close()` always removes it.
 * Only regular files and directories are taken; entry names that would leave the
 * directory (absolute, `..`) are refused.
 */
import * as fs from "node:fs/promises";
import { createReadStream, createWriteStream } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { UsageError } from "../oci/errors.ts";
import { OciLayoutSource } from "./oci_layout.ts";
import type { Source } from "./source.ts";

/** Unpacks `file` and returns a Source over it that deletes the unpacked copy on close. */
export async function openOciArchive(
  file: string,
  tag: string | undefined,
  spec: string,
): Promise<Source> {
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`source "${spec}": archive ${file} not found`);
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "static-registry-archive-"));
  try {
    await extractTar(file, dir);
  } catch (e) {
    await fs.rm(dir, { recursive: true, force: true });
    throw new Error(`source "${spec}": cannot unpack ${file}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const layout = new OciLayoutSource(dir, tag, spec);
  return {
    description: spec,
    tag,
    resolve: () => layout.resolve(),
    open: (digest) => layout.open(digest),
    related: () => layout.related(),
    close: () => fs.rm(dir, { recursive: true, force: true }),
  };
}

/** Extracts regular files of the tar `file` under `dir`, refusing path traversal. */
export async function extractTar(file: string, dir: string): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, "").replace(/\/+$/, "");
      const type = entry.header.type;
      if (name === "" || name === ".") {
        entry.resume();
        continue;
      }
      if (name.startsWith("/") || name.split("/").some((s) => s === "..")) {
        throw new Error(`tar entry "${entry.header.name}" leaves the archive`);
      }
      const dest = path.join(dir, ...name.split("/"));
      if (type === "directory") {
        await fs.mkdir(dest, { recursive: true });
        entry.resume();
      } else if (type === "file" || type === "contiguous-file") {
        await fs.mkdir(path.dirname(dest), { recursive: true });
        await pipeline(entry, createWriteStream(dest, { flags: "wx" }));
      } else {
        // Links, devices, fifos have no place in an OCI layout; skip rather than follow.
        entry.resume();
      }
    }
  })().catch((e) => {
    extract.destroy(e); // stop reading the archive too
    throw e;
  });
  await Promise.all([pipeline(createReadStream(file), extract), done]);
}
