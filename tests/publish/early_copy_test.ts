/**
 * publish() copies the image's blobs while the lookups of what is attached to it, the
 * index plan and the marker check run, and commits none before they pass (issue 13:
 * copyBlob's gate). A source that can download (a registry) and be asked (`attached`)
 * is stood in for by an OCI layout with both, so the order is forced, not raced.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { OciLayoutSource } from "../../lib/sources/oci_layout.ts";
import type { Source } from "../../lib/sources/source.ts";
import type { Attached } from "../../lib/sources/referrers.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { publish } from "../../lib/publish/publish.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { snapshot, tmpLeftovers, withTemp } from "./helpers.ts";

/** The layout at `dir` as a source whose `attached()` is `lookup(downloaded)`. */
function askableLayout(
  dir: string,
  lookup: (downloaded: Promise<void>) => Promise<Attached>,
): Source {
  const layout = new OciLayoutSource(dir, "v1", `oci:${dir}:v1`);
  let done!: () => void;
  const downloaded = new Promise<void>((r) => done = r);
  return {
    description: layout.description,
    tag: layout.tag,
    resolve: () => layout.resolve(),
    open: (digest) => layout.open(digest),
    related: () => layout.related(),
    close: () => layout.close(),
    async download(d, path) {
      const { body } = await layout.open(d.digest);
      await fs.writeFile(path, body);
      done(); // a whole blob is in its temp file
    },
    attached: () => lookup(downloaded),
  };
}

const nothing = (): Attached => ({ referrers: [], tags: new Map(), api: true });

Deno.test("publish() downloads blobs while the attached lookups run", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/img`, { tag: "v1", seed: "early", layers: 2 });
    // The lookup answers only once a blob was downloaded: before the change, blobs were
    // copied after the lookups, and this waited out its timeout.
    const source = askableLayout(`${tmp}/img`, async (downloaded) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no blob downloaded during the lookups")), 5000);
      });
      try {
        await Promise.race([downloaded, late]);
      } finally {
        clearTimeout(timer);
      }
      return nothing();
    });
    const r = await publish({
      source,
      store: new DirStore(`${tmp}/store`),
      name: "a/b",
      tag: "v1",
    });
    assert.equal(r.blobsCopied, 3);
    assert.ok(`repositories/a/b/_index.json` in await snapshot(`${tmp}/store`));
  }));

Deno.test("publish() commits no downloaded blob when a lookup fails, and leaves no temp file", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/img`, { tag: "v1", seed: "early", layers: 2 });
    const source = askableLayout(`${tmp}/img`, async (downloaded) => {
      await downloaded; // a verified blob waits in its temp file for the checks
      throw new Error("referrers lookup failed");
    });
    await assert.rejects(
      publish({ source, store: new DirStore(`${tmp}/store`), name: "a/b", tag: "v1" }),
      /referrers lookup failed/,
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {}, "nothing visible");
    assert.deepEqual(await tmpLeftovers(`${tmp}/store`), []);
  }));
