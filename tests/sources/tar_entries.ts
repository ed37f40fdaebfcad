/**
 * @module
 * Hand-made tars for the archive tests: entries written exactly as given (no name checks,
 * links as links), so a test can build the traps the extractor must refuse or follow, and
 * the files of a directory as entries, to rearrange before tarring.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { Buffer } from "node:buffer";
import tar from "tar-stream";

export type Entry =
  | { name: string; body: string | Uint8Array }
  | { name: string; symlink: string }
  | { name: string; hardlink: string };

/** A tar of `entries`, in order. */
export async function tarOf(entries: Entry[]): Promise<Uint8Array> {
  const pack = tar.pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Uint8Array);
  })();
  for (const e of entries) {
    const base = { name: e.name, mode: 0o644, mtime: new Date(0) };
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if ("body" in e) pack.entry(base, Buffer.from(e.body), cb);
      else if ("symlink" in e) pack.entry({ ...base, type: "symlink", linkname: e.symlink }, cb);
      else pack.entry({ ...base, type: "link", linkname: e.hardlink }, cb);
    });
  }
  pack.finalize();
  await done;
  return new Uint8Array(Buffer.concat(chunks));
}

/** The regular files under `dir` as entries (relative names, sorted). */
export async function entriesOf(dir: string): Promise<{ name: string; body: Uint8Array }[]> {
  const names = (await fs.readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
    .sort();
  return await Promise.all(
    names.map(async (name) => ({
      name,
      body: new Uint8Array(await fs.readFile(path.join(dir, name))),
    })),
  );
}
