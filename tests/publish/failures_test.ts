/**
 * @module
 * publish() against bad sources: corrupt or wrongly sized blobs, missing tags, schema 1.
 * Each failure names the culprit and leaves the store exactly as a reader saw it before.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { makeOciLayout } from "../helpers/image.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey } from "../../lib/layout/layout.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { OCI_INDEX } from "../../lib/oci/mediatypes.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { verifiedBody } from "../../lib/publish/copy.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { publishFrom, snapshot, tmpLeftovers, withTemp } from "./helpers.ts";

/** Publishes a good image first, then asserts a bad publish changes nothing visible. */
async function assertRefused(
  tmp: string,
  opts: Parameters<typeof makeOciLayout>[1],
  check: (e: Error, corrupted: string) => boolean,
) {
  await makeOciLayout(`${tmp}/good`, { seed: "good" });
  const bad = await makeOciLayout(`${tmp}/bad`, { seed: "bad", layers: 3, ...opts });
  const store = new DirStore(`${tmp}/store`);
  await publishFrom(`oci:${tmp}/good`, store, "demo/hello", "v1");
  const before = await snapshot(`${tmp}/store`);
  await assert.rejects(
    publishFrom(`oci:${tmp}/bad`, store, "demo/hello", "v2"),
    (e: Error) => check(e, bad.corrupted!),
  );
  const after = await snapshot(`${tmp}/store`);
  // Good blobs of the bad image may have been copied (unreferenced, harmless); nothing else.
  for (const key of Object.keys(after)) {
    if (!(key in before)) assert.ok(key.startsWith("blobs/"), `${key} appeared`);
    else assert.equal(after[key], before[key], `${key} changed`);
  }
  assert.ok(!(blobKey(bad.corrupted!) in after), "the bad blob is not visible");
  assert.ok(!(blobKey(bad.rootDigest) in after), "the manifest was not written");
  assert.deepEqual(await tmpLeftovers(`${tmp}/store`), []);
  assert.deepEqual(await verifyStore(store), []);
}

Deno.test("publish() refuses a layer whose content does not match its digest", () =>
  withTemp((tmp) =>
    assertRefused(
      tmp,
      { corrupt: { what: "layer", how: "flip" } },
      (e, d) => e.message.includes(d) && /content digest is sha256:/.test(e.message),
    )
  ));

Deno.test("publish() refuses a corrupt config blob", () =>
  withTemp((tmp) =>
    assertRefused(
      tmp,
      { corrupt: { what: "config", how: "flip" } },
      (e, d) => e.message.includes(d) && e.message.includes("digest"),
    )
  ));

Deno.test("publish() refuses a blob shorter or longer than its descriptor", async (t) => {
  for (const how of ["truncate", "append"] as const) {
    await t.step(how, () =>
      withTemp((tmp) =>
        assertRefused(
          tmp,
          { corrupt: { what: "layer", how } },
          (e, d) => e.message.includes(d) && /bytes/.test(e.message),
        )
      ));
  }
});

/** Reads a stream to the end; returns whether it ended normally, or the error. */
async function drain(s: ReadableStream<Uint8Array>): Promise<{ done: boolean; error?: Error }> {
  const reader = s.getReader();
  try {
    while (!(await reader.read()).done);
    return { done: true };
  } catch (e) {
    return { done: false, error: e as Error };
  }
}

Deno.test("verifiedBody() errors the stream before its end on a digest or size mismatch", async () => {
  const good = new TextEncoder().encode("hello layer");
  const d = { mediaType: "x", digest: digestOf(good), size: good.byteLength };
  assert.deepEqual(await drain(verifiedBody(new Blob([good]).stream(), d, "blob")), {
    done: true,
  });
  const flipped = good.slice();
  flipped[0] ^= 1;
  for (
    const [bytes, needle] of [
      [flipped, "content digest is"],
      [good.subarray(1), "does not match descriptor size"],
      [new Uint8Array([...good, 0]), "more than the descriptor size"],
    ] as const
  ) {
    const r = await drain(verifiedBody(new Blob([bytes]).stream(), d, "blob"));
    assert.equal(r.done, false);
    assert.match(r.error!.message, new RegExp(needle));
    assert.ok(r.error!.message.includes(d.digest));
  }
});

Deno.test("publish() with a tag the source lacks lists the tags it has", () =>
  withTemp(async (tmp) => {
    await makeOciLayout(`${tmp}/src`, { tag: "v1", seed: "1" });
    await makeOciLayout(`${tmp}/src`, { tag: "v2", seed: "2" });
    const store = new DirStore(`${tmp}/store`);
    await assert.rejects(
      publishFrom(`oci:${tmp}/src:v3`, store, "demo/hello", "v3"),
      (e: Error) =>
        e instanceof UsageError && e.message.includes('"v3"') && e.message.includes('"v1", "v2"'),
    );
    await assert.rejects(
      publishFrom(`oci:${tmp}/src`, store, "demo/hello", "v3"),
      (e: Error) => e instanceof UsageError && /holds 2 images.*"v1", "v2"/.test(e.message),
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));

Deno.test("publish() refuses Docker schema 1 manifests", () =>
  withTemp(async (tmp) => {
    const src = `${tmp}/src`;
    await fs.mkdir(`${src}/blobs/sha256`, { recursive: true });
    const s1 = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 1,
      name: "library/old",
      tag: "latest",
      architecture: "amd64",
      fsLayers: [],
      history: [],
    }));
    const digest = digestOf(s1);
    await fs.writeFile(`${src}/blobs/sha256/${digest.slice(7)}`, s1);
    await fs.writeFile(`${src}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
    const entry = (mediaType: string) => ({
      schemaVersion: 2,
      manifests: [{
        mediaType,
        digest,
        size: s1.byteLength,
        annotations: { "org.opencontainers.image.ref.name": "old" },
      }],
    });
    const store = new DirStore(`${tmp}/store`);
    for (const mt of ["application/vnd.docker.distribution.manifest.v1+prettyjws", OCI_INDEX]) {
      await fs.writeFile(`${src}/index.json`, JSON.stringify(entry(mt)));
      await assert.rejects(
        publishFrom(`oci:${src}:old`, store, "demo/old", "old"),
        (e: Error) => e.message.includes("schema 1") && e.message.includes(digest),
      );
    }
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));

Deno.test("publish() names a blob missing from the source", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`);
    const missing = img.manifests[0].layers[1].digest;
    await fs.rm(path.join(tmp, "src", "blobs", "sha256", missing.slice(7)));
    await assert.rejects(
      publishFrom(`oci:${tmp}/src`, new DirStore(`${tmp}/store`), "demo/hello", "latest"),
      (e: Error) => e.message.includes(missing) && e.message.includes("missing"),
    );
  }));

Deno.test("publish() refuses a manifest whose bytes do not match its digest", () =>
  withTemp(async (tmp) => {
    const img = await makeOciLayout(`${tmp}/src`);
    const file = path.join(tmp, "src", "blobs", "sha256", img.rootDigest.slice(7));
    const text = await Deno.readTextFile(file);
    await Deno.writeTextFile(file, text.replace("schemaVersion", "schemaVersioN"));
    await assert.rejects(
      publishFrom(`oci:${tmp}/src`, new DirStore(`${tmp}/store`), "demo/hello", "latest"),
      (e: Error) => e.message.includes(img.rootDigest) && e.message.includes("digest"),
    );
    assert.deepEqual(await snapshot(`${tmp}/store`), {});
  }));
