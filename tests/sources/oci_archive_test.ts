/**
 * @module
 * `oci-archive:` reads its members through the extractor (lib/sources/tar.ts): a blob
 * stored as a link to another entry of the archive is followed (inside the archive only),
 * and messages name archive members, never the temporary directory it was unpacked to.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { UNPACK_PREFIX } from "../../lib/sources/tar.ts";
import { publishFrom, withTemp } from "../publish/helpers.ts";
import { entriesOf, type Entry, tarOf } from "./tar_entries.ts";

/** The layout at `dir` as a tar, with `blobs/sha256/<hex>` of `digest` changed by `swap`. */
async function archiveWith(
  dir: string,
  digest: string,
  swap: (e: { name: string; body: Uint8Array }) => Entry[],
): Promise<Uint8Array> {
  const member = `blobs/sha256/${digest.slice(7)}`;
  const entries = (await entriesOf(dir)).flatMap((e) => e.name === member ? swap(e) : [e]);
  return await tarOf(entries);
}

Deno.test("oci-archive: a blob stored as a symlink or hard link to another member is followed", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const layer = img.manifests[0].layers[0].digest;
    const links: [string, (e: { name: string; body: Uint8Array }) => Entry[]][] = [
      ["symlink", (e) => [{ name: "shared/layer", body: e.body }, {
        name: e.name,
        symlink: "../../shared/layer",
      }]],
      ["hard link", (e) => [{ name: "shared/layer", body: e.body }, {
        name: e.name,
        hardlink: "shared/layer",
      }]],
    ];
    for (const [what, swap] of links) {
      await fs.writeFile(`${tmp}/img.tar`, await archiveWith(`${tmp}/src`, layer, swap));
      const store = new DirStore(`${tmp}/store-${what.replace(" ", "-")}`);
      const r = await publishFrom(`oci-archive:${tmp}/img.tar:v1`, store, "demo/link", "v1");
      assert.equal(r.digest, img.rootDigest, what);
      assert.deepEqual(await verifyStore(store, { deep: true }), [], what);
    }
  }));

Deno.test("oci-archive: a missing or dangling blob is named as an archive member, not a temp path", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
    const layer = img.manifests[0].layers[0].digest;
    const cases: [string, (e: { name: string; body: Uint8Array }) => Entry[]][] = [
      ["missing", () => []],
      ["dangling symlink", (e) => [{ name: e.name, symlink: "nowhere" }]],
    ];
    for (const [what, swap] of cases) {
      await fs.writeFile(`${tmp}/img.tar`, await archiveWith(`${tmp}/src`, layer, swap));
      const store = new DirStore(`${tmp}/store`);
      await assert.rejects(
        publishFrom(`oci-archive:${tmp}/img.tar:v1`, store, "demo/link", "v1"),
        (e: Error) => {
          assert.match(
            e.message,
            new RegExp(
              `blob ${layer} is missing \\(blobs/sha256/${layer.slice(7)} \\(in the archive\\)\\)`,
            ),
            what,
          );
          assert.ok(!e.message.includes(UNPACK_PREFIX), `${what}: temp path in "${e.message}"`);
          return true;
        },
      );
    }
  }));

Deno.test("oci-archive: an archive that is not a layout names the member, not a temp path", () =>
  withTemp(async (tmp) => {
    await fs.writeFile(`${tmp}/x.tar`, await tarOf([{ name: "index.json", body: "{}" }]));
    const store = new DirStore(`${tmp}/store`);
    await assert.rejects(
      publishFrom(`oci-archive:${tmp}/x.tar`, store, "demo/x", "v1"),
      (e: Error) => {
        assert.match(e.message, /oci-layout \(in the archive\) not found: not an OCI image layout/);
        assert.ok(!e.message.includes(UNPACK_PREFIX), e.message);
        return true;
      },
    );
  }));
