/**
 * @module
 * Publishing into an S3 bucket (s3rver on 127.0.0.1, started and stopped by this test):
 * through the library and through `publish --to s3://… --config`, verified, idempotent,
 * and a corrupt blob never becomes visible.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { blobKey } from "../../lib/layout/layout.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { publishCommand } from "../../lib/cli/publish.ts";
import { publishFrom, withTemp } from "./helpers.ts";

Deno.test({
  name: "publish() into an S3 bucket: verified, idempotent, corrupt blobs never visible",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTemp(async (tmp) => {
      const s3 = await startS3rver();
      try {
        const img = await makeOciLayout(`${tmp}/src`, {
          tag: "v1",
          layers: 3,
          layerSize: 6 * 1024 * 1024, // large enough for a multipart upload
          platforms: [{ os: "linux", architecture: "amd64" }, {
            os: "linux",
            architecture: "arm64",
          }],
        });
        const store = new S3Store({ bucket: s3.bucket, prefix: "reg", ...s3.options });
        const r = await publishFrom(`oci:${tmp}/src:v1`, store, "demo/s3", "v1");
        assert.equal(r.blobsCopied, img.blobs.length);
        assert.deepEqual(await verifyStore(store), []);
        const again = await publishFrom(`oci:${tmp}/src:v1`, store, "demo/s3", "v1");
        assert.equal(again.blobsCopied, 0);
        assert.equal(again.indexChanged, false);

        const bad = await makeOciLayout(`${tmp}/bad`, { seed: "bad", corrupt: { how: "flip" } });
        await assert.rejects(
          publishFrom(`oci:${tmp}/bad`, store, "demo/bad", "v1"),
          /content digest/,
        );
        assert.equal(await store.stat(blobKey(bad.corrupted!)), null);
        assert.deepEqual(await verifyStore(store), []);

        // The CLI reaches the bucket with the config file's s3 settings.
        const cfg = `${tmp}/cfg.json`;
        await Deno.writeTextFile(
          cfg,
          JSON.stringify({ s3: s3.s3Config() }),
        );
        const { log } = console;
        console.log = () => {};
        let code: number;
        try {
          code = await publishCommand([
            `oci:${tmp}/src:v1`,
            "demo/cli:v1",
            "--to",
            `s3://${s3.bucket}/reg`,
            "--config",
            cfg,
          ]);
        } finally {
          console.log = log;
        }
        assert.equal(code, 0);
        const catalog = await store.read("catalog.json");
        assert.equal(catalog.status, "ok");
        if (catalog.status === "ok") {
          const doc = JSON.parse(new TextDecoder().decode(catalog.bytes));
          assert.equal(doc.version, 2);
          assert.deepEqual(Object.keys(doc.repositories), ["demo/cli", "demo/s3"]);
        }
        assert.deepEqual(await verifyStore(store), []);
      } finally {
        await s3.stop();
      }
    }),
});
