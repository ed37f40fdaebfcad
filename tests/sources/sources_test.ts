/**
 * @module
 * Sources (`oci:`, `oci-archive:`) and the `publish` CLI entry point.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import { makeOciArchive, makeOciLayout, makeTar } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { openSource } from "../../lib/sources/open.ts";
import { splitPathTag } from "../../lib/sources/spec.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { parsePublishArgs } from "../../lib/cli/publish.ts";
import { main } from "../../lib/cli/main.ts";
import type { RepoIndex } from "../../lib/layout/layout.ts";
import { publishFrom, readDoc, withTemp } from "../publish/helpers.ts";

const archiveTemps = async () =>
  (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith("static-registry-archive-"));

Deno.test("splitPathTag() splits at the first colon, as skopeo does", () => {
  assert.deepEqual(splitPathTag("/tmp/img"), { path: "/tmp/img" });
  assert.deepEqual(splitPathTag("/tmp/img:v1"), { path: "/tmp/img", tag: "v1" });
  assert.deepEqual(splitPathTag("/tmp/img:"), { path: "/tmp/img" });
});

Deno.test("openSource() refuses unknown and not-yet-supported transports by name", async () => {
  for (
    const [spec, needle] of [
      ["/tmp/img", "unknown transport"],
      ["dir:/tmp/img", '"dir:"'],
      ["docker-archive:", "missing path"],
      ["oci:", "missing path"],
    ]
  ) {
    await assert.rejects(
      openSource(spec),
      (e: Error) => e instanceof UsageError && e.message.includes(needle),
    );
  }
});

Deno.test("oci: source that is not a layout is a UsageError naming the file", () =>
  withTemp(async (tmp) => {
    const source = await openSource(`oci:${tmp}/nope:v1`);
    await assert.rejects(
      source.resolve(),
      (e: Error) => e instanceof UsageError && e.message.includes(`${tmp}/nope/oci-layout`),
    );
  }));

Deno.test("publish() from an oci-archive: copies the image and removes the unpacked copy", () =>
  withTemp(async (tmp) => {
    const before = await archiveTemps();
    const img = await makeOciArchive(`${tmp}/img.tar`, {
      tag: "v2",
      platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
    });
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(`oci-archive:${tmp}/img.tar:v2`, store, "demo/arc", "v2");
    assert.equal(r.digest, img.rootDigest);
    assert.equal(r.blobsCopied, img.blobs.length);
    const index = await readDoc<RepoIndex>(`${tmp}/store`, "repositories/demo/arc/_index.json");
    assert.equal(index.tags.v2, img.rootDigest);
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
    assert.deepEqual(await archiveTemps(), before);
    // A failing archive publish cleans up too.
    await assert.rejects(publishFrom(`oci-archive:${tmp}/img.tar:nope`, store, "demo/arc", "x"));
    assert.deepEqual(await archiveTemps(), before);
  }));

Deno.test("oci-archive: refuses tar entries that leave the archive", () =>
  withTemp(async (tmp) => {
    const before = await archiveTemps();
    const evil = await makeTar([
      { name: "oci-layout", body: new TextEncoder().encode('{"imageLayoutVersion":"1.0.0"}') },
      { name: "../escaped", body: new Uint8Array([1]) },
    ]);
    await fs.writeFile(`${tmp}/evil.tar`, evil);
    await assert.rejects(openSource(`oci-archive:${tmp}/evil.tar`), /"\.\.\/escaped" leaves/);
    assert.equal(await fs.stat(`${os.tmpdir()}/escaped`).catch(() => null), null);
    assert.deepEqual(await archiveTemps(), before);
    await assert.rejects(
      openSource(`oci-archive:${tmp}/missing.tar`),
      (e: Error) => e instanceof UsageError && e.message.includes(`${tmp}/missing.tar`),
    );
  }));

Deno.test("parsePublishArgs() takes the tag from the repo, else the source, else latest", () => {
  const p = (...a: string[]) => parsePublishArgs(a);
  assert.equal((p("oci:/x:v1", "demo/a:v2", "--to", "/d") as { tag: string }).tag, "v2");
  assert.equal((p("oci:/x:v1", "demo/a", "--to", "/d") as { tag: string }).tag, "v1");
  assert.equal((p("oci:/x", "demo/a", "--to", "/d") as { tag: string }).tag, "latest");
  assert.equal(p("--help"), "help");
  for (
    const [args, needle] of [
      [["oci:/x", "demo/a"], "--to"],
      [["oci:/x", "--to", "/d"], "got 1 argument"],
      [["oci:/x", "Demo/A", "--to", "/d"], '"Demo/A"'],
      [["oci:/x", "demo/a:-bad", "--to", "/d"], '"-bad"'],
      [["oci:/x", "demo/a@sha256:00", "--to", "/d"], "not a digest"],
      [["oci:/x", "demo/a", "--to", "/d", "--bogus"], "bogus"],
    ] as const
  ) {
    assert.throws(
      () => parsePublishArgs([...args]),
      (e: Error) => e instanceof UsageError && e.message.includes(needle),
    );
  }
});

/** Runs `publish` through the CLI (main: errors are reported there) with output captured. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(["publish", ...args]), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("publishCommand() exits 0 with a summary, 2 on usage errors, 1 on failures", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const ok = await run([`oci:${tmp}/src:v1`, "demo/hello", "--to", `${tmp}/store`]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /published demo\/hello:v1 \(sha256:[0-9a-f]{64}\).*3 blob\(s\) copied/);
    const again = await run([`oci:${tmp}/src:v1`, "demo/hello", "--json", "--to", `${tmp}/store`]);
    assert.equal(again.code, 0);
    assert.equal(JSON.parse(again.out).blobsCopied, 0);
    assert.equal(JSON.parse(again.out).digest, img.rootDigest);

    const usage = await run([`oci:${tmp}/src:v9`, "demo/hello", "--to", `${tmp}/store`]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /no image tagged "v9"/);
    assert.equal((await run(["oci:x", "UPPER", "--to", `${tmp}/store`])).code, 2);

    await makeOciLayout(`${tmp}/bad`, { corrupt: { how: "flip" }, seed: "bad" });
    const bad = await run([`oci:${tmp}/bad`, "demo/bad", "--to", `${tmp}/store`]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /blob sha256:[0-9a-f]{64}: content digest is/);
  }));

const skopeo = await new Deno.Command("skopeo", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success).catch(() => false);

Deno.test({
  name: "publish() reads the oci-archive skopeo writes",
  ignore: !skopeo,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 2 });
      const out = await new Deno.Command("skopeo", {
        args: ["copy", "--quiet", `oci:${tmp}/src:v1`, `oci-archive:${tmp}/skopeo.tar:v1`],
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const store = new DirStore(`${tmp}/store`);
      const r = await publishFrom(`oci-archive:${tmp}/skopeo.tar:v1`, store, "demo/sk", "v1");
      assert.equal(r.digest, img.rootDigest); // skopeo keeps the manifest bytes
      assert.deepEqual(await verifyStore(store, { deep: true }), []);
    }),
});
