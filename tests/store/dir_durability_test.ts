/**
 * @module
 * The directory store's durability order, seen from the system calls of a real publish
 * (the compiled binary under strace): every directory an object was renamed into is
 * fsynced before a document (tag index, catalog) is renamed into place, and the
 * document's own directory after, so a power loss cannot leave a durable tag index naming
 * a lost blob, nor lose a publish that reported success (lib/store/dir.ts write()).
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { binaryPath } from "../helpers/binary.ts";
import { withTemp } from "../publish/helpers.ts";

Deno.test("dir store: objects' directories are synced before a document's rename, its own after", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2 });
    const store = `${tmp}/store`;
    const trace = `${tmp}/trace`;
    const out = await new Deno.Command("strace", {
      args: [
        "-f",
        "-y", // fds as paths
        "-e",
        "trace=fsync,rename,renameat,renameat2",
        "-o",
        trace,
        binaryPath(),
        "publish",
        `oci:${tmp}/src:v1`,
        "demo/hello:v1",
        "--to",
        store,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const lines = (await Deno.readTextFile(trace)).split("\n");
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const rename = (key: string) => at(new RegExp(`rename.*"${store}/${key}"`));
    // The line where an fsync of `dir` that began after line `from` ENDED. Under -f, strace
    // splits a call that another thread's call interrupts into `PID fsync(FD<dir> <unfinished
    // ...>` and, later, `PID <... fsync resumed>) = 0`; the whole call is one line otherwise.
    // (CI, 2026-12-03: a split fsync matched neither half of the old one-line pattern.)
    const fsyncDir = (dir: string, from: number) => {
      const start = lines.findIndex((l, i) =>
        i > from && new RegExp(`fsync\\(\\d+<${dir}>(\\)| <unfinished)`).test(l)
      );
      if (start < 0 || !lines[start].includes("<unfinished")) return start;
      const pid = lines[start].split(" ")[0];
      return lines.findIndex((l, i) => i > start && l.startsWith(`${pid} <... fsync resumed>`));
    };
    const index = rename("repositories/demo/hello/_index.json");
    const catalog = rename("catalog.json");
    const lastBlob = lines.findLastIndex((l) => new RegExp(`rename.*"${store}/blobs/`).test(l));
    assert.ok(index > 0 && catalog > index && lastBlob > 0 && lastBlob < index, lines.join("\n"));
    const blobsSynced = fsyncDir(`${store}/blobs/sha256`, lastBlob);
    assert.ok(
      blobsSynced > lastBlob && blobsSynced < index,
      "blobs/sha256 synced before the index",
    );
    const indexDirSynced = fsyncDir(`${store}/repositories/demo/hello`, index);
    assert.ok(indexDirSynced > index && indexDirSynced < catalog, "the index's directory after it");
    assert.ok(fsyncDir(store, catalog) > catalog, "the catalog's directory after it");
  }));
