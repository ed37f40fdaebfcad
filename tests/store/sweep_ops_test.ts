/**
 * @module
 * The store operations garbage collection needs (SweepStore): DirStore `list(prefix)`,
 * `remove(key)`; which stores are sweepable (HTTP stores are not).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { DirStore } from "../../lib/store/dir.ts";
import { HttpStore } from "../../lib/store/http.ts";
import { isSweepStore } from "../../lib/store/store.ts";
import { withTemp } from "../publish/helpers.ts";

const META = { contentType: "application/octet-stream", cacheControl: "no-store" };

Deno.test("DirStore.list() yields the keys under a prefix with size and mtime", () =>
  withTemp(async (tmp) => {
    const s = new DirStore(tmp);
    await s.write("blobs/sha256/aa", new Uint8Array(3), META);
    await s.write("blobs/sha256/bb", new Uint8Array(5), META);
    await s.write("blobsx/c", new Uint8Array(1), META);
    await s.write("repositories/a/b/_index.json", new Uint8Array(2), META);
    const old = new Date(Date.UTC(2020, 0, 1));
    await fs.utimes(path.join(tmp, "blobs/sha256/aa"), old, old);
    const list = async (p: string) => {
      const out = [];
      for await (const o of s.list(p)) out.push(o);
      return out.sort((a, b) => a.key.localeCompare(b.key));
    };
    const blobs = await list("blobs/");
    assert.deepEqual(blobs.map((o) => [o.key, o.size]), [["blobs/sha256/aa", 3], [
      "blobs/sha256/bb",
      5,
    ]]);
    assert.equal(blobs[0].mtime, old.getTime());
    assert.ok(Math.abs(blobs[1].mtime - Date.now()) < 60_000);
    // A prefix is a prefix of keys, not only of directories.
    assert.deepEqual((await list("blobs")).map((o) => o.key), [
      "blobs/sha256/aa",
      "blobs/sha256/bb",
      "blobsx/c",
    ]);
    assert.deepEqual((await list("repositories/")).map((o) => o.key), [
      "repositories/a/b/_index.json",
    ]);
    assert.deepEqual(await list("nothing/"), []);
    // The whole store, without the writers' own .tmp and .locks.
    await s.lock("x").then((release) => release());
    assert.equal((await list("")).some((o) => o.key.startsWith(".")), false);
  }));

Deno.test("DirStore.remove() removes a key, and a missing one is no error", () =>
  withTemp(async (tmp) => {
    const s = new DirStore(tmp);
    await s.write("blobs/sha256/aa", new Uint8Array(3), META);
    await s.remove("blobs/sha256/aa");
    assert.equal(await s.stat("blobs/sha256/aa"), null);
    await s.remove("blobs/sha256/aa");
    await assert.rejects(s.remove("../escape"), /invalid store key/);
  }));

Deno.test("isSweepStore(): directory and S3 stores are, HTTP stores are not", () => {
  assert.equal(isSweepStore(new DirStore("/tmp/x")), true);
  assert.equal(isSweepStore(new HttpStore("http://127.0.0.1:9/x")), false);
});
