/**
 * @module
 * `import` and `export` through the COMPILED binary, one case per defect family: a
 * digest-pinned name imports untagged; a bundle is imported all or nothing; a refused or
 * interrupted archive leaves no extraction directory and no temporary path in any
 * message; a symlinked blob is followed; export survives a self-referencing index and
 * merges into an existing layout. Each run gets a private TMPDIR, so leftovers are
 * counted exactly even while other tests run.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { makeOciLayout, tarDirectory } from "../helpers/image.ts";
import { binaryPath, runBinary } from "../helpers/binary.ts";
import { type RepoIndex, repoIndexKey } from "../../lib/layout/layout.ts";
import { UNPACK_PREFIX } from "../../lib/sources/tar.ts";
import { readDoc, withTemp } from "../publish/helpers.ts";
import { entriesOf, type Entry, tarOf } from "../sources/tar_entries.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };

/**
 * `import SOURCE --to TMP/s [EXTRA…]` with TMPDIR=`TMP/t`; resolves to its result and what
 * it left in that TMPDIR.
 */
async function importIn(tmp: string, source: string, ...extra: string[]) {
  const tmpdir = `${tmp}/t`;
  await fs.mkdir(tmpdir, { recursive: true });
  const args = ["import", source, "--to", `${tmp}/s`, ...extra];
  const r = await runBinary(args, { env: { TMPDIR: tmpdir } });
  return { ...r, left: await fs.readdir(tmpdir) };
}

Deno.test({
  name: "binary: import of containerd's alpine@sha256:… leaves latest alone (untagged)",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, { tag: "x" });
      const index = JSON.parse(await fs.readFile(`${tmp}/src/index.json`, "utf8"));
      index.manifests[0].annotations = {
        "io.containerd.image.name": `docker.io/library/alpine@${img.rootDigest}`,
        "org.opencontainers.image.ref.name": `@${img.rootDigest}`,
      };
      await fs.writeFile(`${tmp}/src/index.json`, JSON.stringify(index));
      await tarDirectory(`${tmp}/src`, `${tmp}/b.tar`);
      const r = await importIn(tmp, `oci-archive:${tmp}/b.tar`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /docker\.io\/library\/alpine@sha256:[0-9a-f]{64} \(untagged\)/);
      const idx = await readDoc<RepoIndex>(`${tmp}/s`, repoIndexKey("docker.io/library/alpine"));
      assert.deepEqual({ ...idx.tags }, {});
      assert.deepEqual(r.left, []);
    }),
});

Deno.test({
  name: "binary: import of a bundle whose second image is damaged changes no tag",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "a" });
      const bad = await makeOciLayout(`${tmp}/src`, { tag: "v2", seed: "b", corrupt: {} });
      const r = await importIn(tmp, `oci:${tmp}/src`, "--repo", "x/y");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`import x/y:v2: blob ${bad.corrupted}`));
      assert.equal(await fs.stat(`${tmp}/s/repositories`).catch(() => null), null);
      assert.equal(await fs.stat(`${tmp}/s/catalog.json`).catch(() => null), null);
    }),
});

Deno.test({
  name: "binary: import of a refused archive names it, leaves no directory and no temp path",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      await makeOciLayout(`${tmp}/src`, { tag: "v1" });
      const files = await entriesOf(`${tmp}/src`);
      const whole = await tarOf(files);
      const blob = files.find((f) => f.name.startsWith("blobs/"))!;
      const cases: [string, Uint8Array, RegExp][] = [
        [
          "truncated",
          whole.slice(0, 1700),
          /b\.tar": truncated at byte 1700 in tar entry "blobs\//,
        ],
        [
          "../ entry",
          await tarOf([...files, { name: "../x", body: "x" }]),
          /"\.\.\/x" leaves the archive \(at byte \d+\)/,
        ],
        ["duplicate", await tarOf([...files, blob]), /appears twice \(at bytes 0 and \d+\)/],
        [
          "file/directory clash",
          await tarOf([{ name: "blobs", body: "x" }, ...files]),
          /tar entry "blobs\/sha256\/[0-9a-f]+" \(at byte 1024\) needs a directory/,
        ],
        [
          "dangling blob link (fails after unpacking)",
          await tarOf(files.map((f): Entry => f === blob ? { name: f.name, symlink: "gone" } : f)),
          /is missing \(blobs\/sha256\/[0-9a-f]+ \(in the archive\)\)/,
        ],
      ];
      for (const [what, bytes, re] of cases) {
        await fs.writeFile(`${tmp}/b.tar`, bytes);
        const r = await importIn(tmp, `oci-archive:${tmp}/b.tar`, "--repo", "x/y");
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.match(r.stderr, re, what);
        assert.ok(!r.stderr.includes(UNPACK_PREFIX), `${what}: temp path in ${r.stderr}`);
        assert.ok(!/EEXIST|ENOTDIR|Unexpected end of data/.test(r.stderr), `${what}: ${r.stderr}`);
        assert.deepEqual(r.left, [], `${what}: extraction directory left behind`);
      }
    }),
});

Deno.test({
  name: "binary: import interrupted while unpacking exits 130 and removes the unpacked archive",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      await makeOciLayout(`${tmp}/src`, { tag: "v1", layerSize: 1 << 20 });
      const whole = await tarOf(await entriesOf(`${tmp}/src`));
      // A FIFO: the binary reads the first half of the archive and then waits for more,
      // so the signal is certain to arrive while the archive is unpacked.
      const fifo = `${tmp}/b.tar`;
      assert.equal((await new Deno.Command("mkfifo", { args: [fifo] }).output()).code, 0);
      await fs.mkdir(`${tmp}/t`);
      const child = new Deno.Command(binaryPath(), {
        args: ["import", `oci-archive:${fifo}`, "--to", `${tmp}/s`, "--repo", "x/y"],
        env: { TMPDIR: `${tmp}/t` },
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = await Deno.open(fifo, { write: true });
      try {
        await writer.write(whole.slice(0, whole.length >> 1));
        for (let i = 0; (await fs.readdir(`${tmp}/t`)).length === 0; i++) {
          if (i > 500) throw new Error("the binary never started unpacking");
          await new Promise((r) => setTimeout(r, 10));
        }
        await new Promise((r) => setTimeout(r, 200)); // past the signal handler's install
        child.kill("SIGINT");
        const out = await child.output();
        const stderr = new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 130, stderr);
        assert.match(stderr, /import interrupted \(SIGINT\): nothing was written to the store/);
        assert.deepEqual(await fs.readdir(`${tmp}/t`), []);
      } finally {
        writer.close();
      }
    }),
});

Deno.test({
  name: "binary: import follows a blob stored as a symlink inside the archive",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
      const layer = `blobs/sha256/${img.manifests[0].layers[0].digest.slice(7)}`;
      const entries = (await entriesOf(`${tmp}/src`)).flatMap((f): Entry[] =>
        f.name === layer
          ? [{ name: "shared", body: f.body }, { name: f.name, symlink: "../../shared" }]
          : [f]
      );
      await fs.writeFile(`${tmp}/b.tar`, await tarOf(entries));
      const r = await importIn(tmp, `oci-archive:${tmp}/b.tar`, "--repo", "x/y");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.left, []);
    }),
});

Deno.test({
  name: "binary: export survives a self-referencing index and merges into an existing layout",
  ...opts,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, {
        tag: "v1",
        platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
      });
      const p = await runBinary([
        "publish",
        `oci:${tmp}/src:v1`,
        "team/loop:v1",
        "--to",
        `${tmp}/s`,
      ]);
      assert.equal(p.code, 0, p.stderr);
      const file = `${tmp}/s/${repoIndexKey("team/loop")}`;
      const index = JSON.parse(await fs.readFile(file, "utf8"));
      index.manifests[img.rootDigest].children.push(img.rootDigest);
      await fs.writeFile(file, JSON.stringify(index));
      const other = await makeOciLayout(`${tmp}/out`, { tag: "other", seed: "o" });
      const r = await runBinary(["export", "--from", `${tmp}/s`, `oci:${tmp}/out`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /merged into its index\.json \(1 other entry kept, 0 replaced\)/);
      const out = JSON.parse(await fs.readFile(`${tmp}/out/index.json`, "utf8"));
      assert.deepEqual(out.manifests.map((m: { digest: string }) => m.digest), [
        other.rootDigest,
        img.rootDigest,
      ]);
    }),
});
