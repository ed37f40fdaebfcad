/**
 * @module
 * gc() on an S3 store, as steps run against every S3-compatible server the tests start
 * (tests/store/s3_s3rver_test.ts and tests/store/swift_test.ts run them on their server).
 * LastModified cannot be set back, so the grace is 0 (`unsafeGrace`: no publisher runs)
 * where garbage must go, and 1 h where it must stay.
 */
import assert from "node:assert/strict";
import {
  CreateMultipartUploadCommand,
  ListMultipartUploadsCommand,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { gc } from "../../lib/lifecycle/gc.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import type { MakeStore, ServerTraits } from "../store/s3_contract.ts";
import { blobKeys, makeGarbage } from "./gc_fixture.ts";

const HOUR = 3_600_000;
const unsafe = { unsafeGrace: true, settleMs: 0 };

export async function gcOnS3(t: Deno.TestContext, store: MakeStore, server: ServerTraits) {
  const tmp = await Deno.makeTempDir({ prefix: "sr-gc-s3-" });
  try {
    // One store with garbage for the steps (publishing to S3 takes leases: seconds);
    // the steps that remove nothing come first.
    const s = store("gc");
    const g = await makeGarbage(tmp, s);

    await t.step("keeps unreferenced objects younger than the grace period", async () => {
      const r = await gc({ store: s, graceMs: HOUR, ...unsafe });
      assert.equal(r.removed.count, 0);
      assert.deepEqual(r.young.count, g.garbage.size);
      assert.deepEqual(await blobKeys(s), [...g.keep, ...g.garbage].sort());
    });

    await t.step("a dry run lists what would go and removes nothing", async () => {
      const before = await blobKeys(s);
      const r = await gc({ store: s, graceMs: 0, dryRun: true, unsafeGrace: true });
      assert.deepEqual(
        r.items.filter((i) => i.kind === "blob").map((i) => i.key),
        [
          ...g.garbage,
        ].sort(),
      );
      assert.deepEqual(await blobKeys(s), before);
    });

    await t.step("removes exactly the unreferenced objects; other prefixes untouched", async () => {
      const neighbour = store("gc-other");
      const garbageKey = [...g.garbage][0];
      await neighbour.write(garbageKey, new Uint8Array([1]), {
        contentType: "application/octet-stream",
        cacheControl: "no-store",
      });
      const r = await gc({ store: s, graceMs: 0, ...unsafe });
      assert.deepEqual(await blobKeys(s), [...g.keep].sort());
      assert.deepEqual(
        r.items.filter((i) => i.kind === "blob").map((i) => i.key),
        [
          ...g.garbage,
        ].sort(),
      );
      assert.equal(r.removed.blobs.count, 3);
      assert.ok(r.removed.blobs.bytes > 0);
      assert.deepEqual(await verifyStore(s), []);
      assert.deepEqual(await blobKeys(neighbour), [garbageKey], "another store's prefix");
      assert.equal(await s.stat(".gc/clock"), null, "the clock probe is removed");
      assert.equal(await s.stat(".locks/gc"), null, "no lease left behind");
    });

    await t.step(
      server.abortsMultipart
        ? "aborts multipart uploads older than the grace period, keeps younger ones"
        : "says that the server cannot list multipart uploads (and still collects)",
      async () => {
        const list = async () =>
          (await s.client.send(
            new ListMultipartUploadsCommand({ Bucket: s.bucket, Prefix: "gc/" }),
          )).Uploads ?? [];
        if (!server.abortsMultipart) {
          const r = await gc({ store: s, graceMs: 0, ...unsafe });
          assert.deepEqual(r.items, []);
          assert.match(r.notes.join("\n"), /does not list multipart uploads/);
          return;
        }
        // A publisher killed mid-upload: initiated, one part sent, never completed.
        const key = s.objectKey("blobs/sha256/" + "ab".repeat(32));
        const { UploadId } = await s.client.send(
          new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: key }),
        );
        await s.client.send(
          new UploadPartCommand({
            Bucket: s.bucket,
            Key: key,
            UploadId,
            PartNumber: 1,
            Body: new Uint8Array(1024),
          }),
        );
        const young = await gc({ store: s, graceMs: HOUR, ...unsafe });
        assert.equal(young.removed.uploads.count, 0);
        assert.equal((await list()).length, 1);
        const r = await gc({ store: s, graceMs: 0, ...unsafe });
        assert.deepEqual(
          r.items.filter((i) => i.kind === "upload").map((i) => [i.key, i.uploadId]),
          [["blobs/sha256/" + "ab".repeat(32), UploadId]],
        );
        assert.equal(r.removed.uploads.count, 1);
        assert.deepEqual(await list(), [], "the upload is aborted");
      },
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
