/**
 * @module
 * `static-registry sync --to s3://…` (the compiled binary) from CNCF distribution into an
 * S3 bucket (s3rver), with the bucket's settings from `--config`: verified, and a second
 * run that copies nothing.
 */
import assert from "node:assert/strict";
import { distributionAvailable } from "../helpers/distribution.ts";
import { binaryExists } from "../helpers/binary.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { repoIndexKey } from "../../lib/layout/keys.ts";
import { runSync, startUpstream, summaryOf } from "./fixture.ts";

Deno.test({
  name: "sync into an S3 bucket (s3rver): verified; the second run copies nothing",
  ignore: !distributionAvailable() || !binaryExists(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-s3-" });
    const up = await startUpstream(tmp, [
      {
        ref: "src/multi:v1",
        opts: {
          platforms: [{ os: "linux", architecture: "amd64" }, {
            os: "linux",
            architecture: "arm64",
          }],
        },
      },
    ]);
    const s3 = await startS3rver();
    try {
      const cfg = `${tmp}/cfg.json`;
      await Deno.writeTextFile(
        cfg,
        JSON.stringify({ s3: s3.s3Config() }),
      );
      const file = `${tmp}/sync.txt`;
      await Deno.writeTextFile(
        file,
        `docker://${up.addr}/src/multi:v1 mirror/multi\n`,
      );
      const to = `s3://${s3.bucket}/mirror`;
      const r = await runSync([file, "--to", to, "--config", cfg, "--json"]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(summaryOf(r).copied, 1);
      const store = new S3Store({ bucket: s3.bucket, prefix: "mirror", ...s3.options });
      assert.deepEqual(await verifyStore(store), []);
      const idx = await store.read(repoIndexKey("mirror/multi"));
      assert.equal(idx.status, "ok");
      if (idx.status === "ok") {
        const doc = JSON.parse(new TextDecoder().decode(idx.bytes));
        assert.equal(doc.tags.v1, up.images["src/multi:v1"].rootDigest);
      }
      up.proxy.requests.length = 0;
      const again = await runSync([file, "--to", to, "--config", cfg, "--json"]);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(summaryOf(again).skipped, 1);
      assert.equal(up.proxy.count(/\/blobs\//), 0);
    } finally {
      await s3.stop();
      await up.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
