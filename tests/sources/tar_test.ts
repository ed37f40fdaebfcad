/**
 * @module
 * unpackArchive(): the one tar extractor refuses what could escape or mislead (`../`,
 * absolute names, duplicates, links out of the archive, truncation), names the archive and
 * the byte offset, and leaves no extraction directory behind when it refuses.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import { UNPACK_PREFIX, unpackArchive } from "../../lib/sources/tar.ts";
import { withTemp } from "../publish/helpers.ts";
import { type Entry, tarOf } from "./tar_entries.ts";

/** assert.rejects matches a RegExp against `String(e)` ("Error: …"): match the message. */
const message = (re: RegExp) => (e: Error) => (assert.match(e.message, re), true);

const temps = async () =>
  (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith(UNPACK_PREFIX));

Deno.test("unpackArchive() unpacks files and follows links inside the archive", () =>
  withTemp(async (tmp) => {
    const file = `${tmp}/ok.tar`;
    await fs.writeFile(
      file,
      await tarOf([
        { name: "./a/one.txt", body: "one" },
        { name: "b/two", symlink: "../a/one.txt" },
        { name: "c", hardlink: "a/one.txt" },
      ]),
    );
    const files = await unpackArchive(file, `test "${file}"`);
    try {
      for (const name of ["a/one.txt", "b/two", "c"]) {
        assert.equal(await fs.readFile(await files.path(name), "utf8"), "one", name);
      }
      assert.equal(await files.has("missing"), false);
      await assert.rejects(files.path("missing"), /archive member "missing" is missing/);
      // Links are never created on disk: nothing there can point outside.
      assert.deepEqual((await fs.readdir(files.dir)).sort(), ["a"]);
    } finally {
      await files.remove();
    }
    assert.equal(await fs.stat(files.dir).catch(() => null), null);
  }));

Deno.test("unpackArchive() refuses escapes, duplicates and truncation, leaving no directory", () =>
  withTemp(async (tmp) => {
    const before = await temps();
    const ok = { name: "oci-layout", body: '{"imageLayoutVersion":"1.0.0"}' };
    const cases: [string, Entry[], RegExp][] = [
      [
        "../ entry",
        [ok, { name: "../escaped", body: "x" }],
        /"\.\.\/escaped" leaves the archive \(at byte 1024\)/,
      ],
      [
        "nested ../",
        [ok, { name: "a/../../escaped", body: "x" }],
        /"a\/\.\.\/\.\.\/escaped" leaves/,
      ],
      [
        "absolute",
        [{ name: "/etc/evil", body: "x" }],
        /tar entry "\/etc\/evil" is an absolute path \(at byte 0\)/,
      ],
      ["duplicate", [ok, ok], /tar entry "oci-layout" appears twice \(at bytes 0 and 1024\)/],
      [
        "symlink escape",
        [ok, { name: "x/evil", symlink: "../../outside" }],
        /link target "\.\.\/outside" leaves the archive/,
      ],
      [
        "absolute symlink",
        [ok, { name: "evil", symlink: "/etc/passwd" }],
        /links to absolute "\/etc\/passwd"/,
      ],
      [
        "hardlink escape",
        [ok, { name: "evil", hardlink: "../outside" }],
        /link target "\.\.\/outside" leaves/,
      ],
      [
        "file, then a directory of the same name",
        [{ name: "blobs", body: "x" }, { name: "blobs/sha256/x", body: "x" }],
        /tar entry "blobs\/sha256\/x" \(at byte 1024\) needs a directory where an earlier entry is a file$/,
      ],
      [
        "directory, then a file of the same name",
        [{ name: "a/b", body: "x" }, { name: "a", body: "x" }],
        /tar entry "a" \(at byte 1024\) is a file where an earlier entry made a directory$/,
      ],
    ];
    for (const [what, entries, re] of cases) {
      const file = `${tmp}/evil.tar`;
      await fs.writeFile(file, await tarOf(entries));
      await assert.rejects(unpackArchive(file, `oci-archive "evil.tar"`), (e: Error) => {
        assert.match(e.message, /^oci-archive "evil\.tar": /, what);
        assert.match(e.message, re, what);
        // The extraction directory is gone: a message naming it would send the user nowhere.
        for (let c: unknown = e; c instanceof Error; c = c.cause) {
          assert.ok(!c.message.includes(UNPACK_PREFIX), `${what}: temp path in "${c.message}"`);
        }
        return true;
      });
      assert.deepEqual(await temps(), before, `${what}: extraction directory left behind`);
    }
    assert.equal(await fs.stat(`${os.tmpdir()}/escaped`).catch(() => null), null);
    assert.equal(await fs.stat(`${tmp}/outside`).catch(() => null), null);
  }));

Deno.test("unpackArchive() names the file and the byte offset of a truncated archive", () =>
  withTemp(async (tmp) => {
    const before = await temps();
    const whole = await tarOf([
      { name: "a", body: "x".repeat(600) }, // header 0, data 512..1536
      { name: "b", body: "y".repeat(2000) }, // header 1536, data 2048..4096
    ]);
    const cuts: [number, RegExp][] = [
      [3000, /^oci-archive "x\.tar": truncated at byte 3000 in tar entry "b" \(at byte 1536\)$/],
      [1000, /^oci-archive "x\.tar": truncated at byte 1000 in tar entry "a" \(at byte 0\)$/],
      // Cut at an entry boundary: only the missing end-of-archive marker shows it.
      [1536, /^oci-archive "x\.tar": truncated at byte 1536 \(no end-of-archive marker\)$/],
      [700, /^oci-archive "x\.tar": truncated at byte 700/],
      [0, /^oci-archive "x\.tar": truncated at byte 0/],
    ];
    for (const [at, re] of cuts) {
      await fs.writeFile(`${tmp}/x.tar`, whole.slice(0, at));
      await assert.rejects(
        unpackArchive(`${tmp}/x.tar`, `oci-archive "x.tar"`),
        message(re),
        `cut at ${at}`,
      );
      assert.deepEqual(await temps(), before, `cut at ${at}: extraction directory left behind`);
    }
    await fs.writeFile(`${tmp}/x.tar`, whole);
    const files = await unpackArchive(`${tmp}/x.tar`, `oci-archive "x.tar"`);
    await files.remove();
  }));

Deno.test("unpackArchive() refuses what is not a tar, naming the archive", () =>
  withTemp(async (tmp) => {
    const before = await temps();
    await fs.writeFile(`${tmp}/junk.tar`, new Uint8Array(2048).fill(7));
    await assert.rejects(
      unpackArchive(`${tmp}/junk.tar`, `docker-archive "junk.tar"`),
      message(/^docker-archive "junk\.tar": not a tar archive, or corrupt after byte 0/),
    );
    assert.deepEqual(await temps(), before);
  }));
