/**
 * @module
 * Against a real object store, OpenStack Swift with s3api (one instance for the file, it
 * takes ~10 s to start): the S3Store contract, HttpStore on Swift's anonymous URL, and a
 * real publish into the bucket, verified, then loaded by the server's Registry over HTTP.
 */
import assert from "node:assert/strict";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs/promises";
import { Buffer } from "node:buffer";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { HttpStore } from "../../lib/store/http.ts";
import { blobKey, CATALOG_KEY, MARKER_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import { publish } from "../../lib/publish/publish.ts";
import { OciLayoutSource } from "../../lib/sources/oci_layout.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { Registry } from "../../lib/index/registry.ts";
import { silentLogger } from "../../lib/log.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { startSwift } from "../helpers/swift.ts";
import { bytesOf, s3Contract, withObjectStore } from "./s3_contract.ts";
import { gcOnS3 } from "../lifecycle/gc_s3_steps.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

withObjectStore(
  "S3Store and HttpStore on OpenStack Swift (s3api)",
  startSwift,
  async (t, swift, store) => {
    await t.step("S3Store contract", async (t) => {
      await s3Contract(t, store, { abortsMultipart: true });
    });

    // Here rather than in a file of its own: one Swift start (~10 s) for both.
    await t.step("gc() on Swift: exact sets, grace, dry run, multipart uploads", async (t) => {
      await gcOnS3(t, store, { abortsMultipart: true });
    });

    await t.step("Swift refuses conditional writes (why lock() uses a lease)", async () => {
      const s = store();
      await assert.rejects(
        s.client.send(
          new PutObjectCommand({
            Bucket: s.bucket,
            Key: s.objectKey("cond"),
            Body: enc.encode("x"),
            IfNoneMatch: "*",
          }),
        ),
        (e: unknown) =>
          (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 501,
      );
    });

    await swift.makePublic(swift.bucket);
    const publicBase = `${swift.publicUrl(swift.bucket)}/pub`;

    await t.step("HttpStore reads what S3Store wrote through Swift's public URL", async () => {
      const s = store("pub");
      await s.write("docs/x.json", enc.encode('{"x":1}\n'), {
        contentType: "application/json",
        cacheControl: "public, max-age=10",
      });
      const http = new HttpStore(publicBase, { timeoutMs: 5000 });
      const r = await http.read("docs/x.json");
      assert.equal(r.status, "ok");
      if (r.status !== "ok") return;
      assert.equal(dec.decode(r.bytes), '{"x":1}\n');
      assert.equal(r.meta.contentType, "application/json");
      assert.deepEqual(await http.read("docs/x.json", { etag: r.meta.etag }), {
        status: "not-modified",
      });
      assert.deepEqual(await http.read("docs/none.json"), { status: "missing" });
      assert.equal((await http.stat("docs/x.json"))?.size, 8);
      assert.equal(await http.stat("docs/none.json"), null);
      // Cache-Control set by the S3 writer is served to anonymous readers (CDN edges need it).
      const res = await fetch(http.urlOf("docs/x.json"), { method: "HEAD" });
      assert.equal(res.headers.get("cache-control"), "public, max-age=10");
    });

    await t.step(
      "HttpStore reads a multipart object (its parts live in <bucket>+segments)",
      async () => {
        const data = bytesOf(9 * 1024 * 1024, 5);
        await store("pub").write("blobs/sha256/seg", new Blob([data as BlobPart]).stream(), {
          contentType: "application/octet-stream",
          cacheControl: "public, max-age=31536000, immutable",
        });
        const http = new HttpStore(publicBase, { timeoutMs: 10_000 });
        assert.equal((await http.stat("blobs/sha256/seg"))?.size, data.byteLength);
        const r = await http.read("blobs/sha256/seg");
        assert.ok(r.status === "ok" && Buffer.compare(r.bytes, data) === 0, "same bytes");
      },
    );

    await t.step("a private bucket's URL is an error naming the URL and status", async () => {
      await swift.createBucket("private");
      const http = new HttpStore(swift.publicUrl("private"), { timeoutMs: 5000 });
      await assert.rejects(
        http.read("catalog.json"),
        /^HttpStoreError: GET http:.*\/v1\/AUTH_test\/private\/catalog.json: HTTP 401/,
      );
    });

    await t.step("publish into the bucket, verify the layout, load it over HTTP", async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "swift-publish-"));
      try {
        const image = await makeOciLayout(dir, {
          tag: "v1",
          platforms: [{ os: "linux", architecture: "amd64" }, {
            os: "linux",
            architecture: "arm64",
          }],
          layers: 2,
        });
        const s = store("pub");
        const result = await publish({
          source: new OciLayoutSource(dir, "v1"),
          store: s,
          name: "demo/hello",
          tag: "v1",
        });
        assert.equal(result.digest, image.rootDigest);
        assert.deepEqual(await verifyStore(s), []);
        assert.equal(await s.stat(".locks/catalog"), null, "no lease left behind");
        // Uploaded objects carry the manifest media type and Cache-Control (DESIGN "The store").
        const root = await s.head(blobKey(image.rootDigest));
        assert.equal(root?.contentType, image.rootMediaType);
        assert.match(root?.cacheControl ?? "", /immutable/);

        const http = new HttpStore(publicBase, { timeoutMs: 5000 });
        assert.deepEqual(await verifyStore(http), []);
        assert.equal((await http.stat(MARKER_KEY)) !== null, true);
        const registry = new Registry(http, { log: silentLogger });
        await registry.load();
        assert.deepEqual(registry.repositories(), ["demo/hello"]);
        assert.equal(registry.repo("demo/hello")?.index.tags.v1, image.rootDigest);
        const manifest = await registry.manifest(image.rootDigest);
        assert.equal(manifest?.byteLength, image.rootSize);

        // The catalog and tag index are plain JSON on the CDN-facing URL.
        const cat = await http.read(CATALOG_KEY);
        assert.ok(cat.status === "ok" && dec.decode(cat.bytes).includes("demo/hello"));
        assert.equal((await http.read(repoIndexKey("demo/hello"))).status, "ok");
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });
  },
);
