/**
 * @module
 * `static-registry check` for a store without origins, through the compiled binary: an
 * air-gapped directory store is checked itself — every referenced object present with
 * its size, with `--deep` its digest (a directory and an S3 bucket on s3rver) — and an origin that cannot be reached is one
 * finding, not one row per object (and costs one timeout, not one per object).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { blobKey } from "../../lib/layout/layout.ts";
import { runBinary } from "../helpers/binary.ts";
import { REPO, TAG, withTempDir, writeStore } from "./fixture.ts";
import { startS3rver } from "../helpers/s3rver.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { DeleteObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { clientConfig } from "../../lib/store/s3.ts";

interface Report {
  ok: boolean;
  objects: number;
  origins: { name: string; checked: number; unreachable: boolean }[];
  stores?: { name: string; location: string; checked: number; digest: number }[];
  problems: { origin: string; kind: string; digest: string; ref: string; reason: string }[];
}

async function checkJson(file: string, ...flags: string[]) {
  const r = await runBinary(["check", "--config", file, "--json", ...flags], {
    env: { STATIC_REGISTRY_LOG: "warn" },
    timeoutMs: 60_000,
  });
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

/** The config digest of the fixture's manifest. */
function configOf(manifest: Uint8Array): string {
  return JSON.parse(new TextDecoder().decode(manifest)).config.digest;
}

Deno.test({
  name: "check (no origins): the store itself, by size, and by digest with --deep",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      const fx = await writeStore(path.join(dir, "store"));
      const file = path.join(dir, "cfg.json");
      await fs.writeFile(file, JSON.stringify({ store: "./store" }));

      let r = await runBinary(["check", "--config", file], {
        env: { STATIC_REGISTRY_LOG: "warn" },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /checked 3 objects on 1 store\(s\)\n/);
      assert.match(r.stdout, /\nstore\s+3\s+0\s+0\s+-?\s*0\s+0/);
      assert.match(r.stdout, /\nOK\n$/);

      // Same size, one byte changed: only --deep sees it.
      const layerFile = path.join(dir, "store", blobKey(fx.layer));
      const bytes = await Deno.readFile(layerFile);
      bytes[0] ^= 0xff;
      await Deno.writeFile(layerFile, bytes);
      let c = await checkJson(file);
      assert.equal(c.code, 0, "a size check cannot see a flipped byte");
      c = await checkJson(file, "--deep");
      assert.equal(c.code, 1);
      assert.deepEqual(
        c.report.problems.map((p) => [p.origin, p.kind, p.digest, p.ref]),
        [["store", "digest", fx.layer, `${REPO}:${TAG}`]],
      );
      assert.match(c.report.problems[0].reason, /content digest is sha256:/);
      assert.equal(c.report.stores?.[0].digest, 1);

      // A missing layer and a truncated config: two rows, each with its kind.
      await fs.rm(layerFile);
      const config = configOf(fx.manifest);
      await fs.writeFile(path.join(dir, "store", blobKey(config)), "{}");
      c = await checkJson(file);
      assert.equal(c.code, 1);
      const rows = c.report.problems.map((p) => [p.kind, p.digest, p.reason]);
      rows.sort((a, b) => a[1].localeCompare(b[1]));
      const want = [
        ["missing", fx.layer, "missing from the store"],
        ["size", config, /stored size 2, index says \d+/],
      ].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
      assert.equal(rows.length, 2);
      for (const [i, [kind, digest, reason]] of want.entries()) {
        assert.equal(rows[i][0], kind);
        assert.equal(rows[i][1], digest);
        if (reason instanceof RegExp) assert.match(rows[i][2], reason);
        else assert.equal(rows[i][2], reason);
      }
      r = await runBinary(["check", "--config", file], { env: { STATIC_REGISTRY_LOG: "warn" } });
      assert.equal(r.code, 1);
      assert.match(r.stdout, /store\s+missing\s+sha256:[0-9a-f]{64}\s+demo\/hello:latest/);
      assert.match(r.stdout, /FAILED: 2 problem\(s\)/);
    }),
});

Deno.test({
  name: "check: an unreachable origin is one finding; --deep also checks a store with origins",
  sanitizeResources: false,
  fn: () =>
    withTempDir(async (dir) => {
      await writeStore(path.join(dir, "store"));
      // A port nobody listens on: the probe fails fast with "connection refused".
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const file = path.join(dir, "cfg.json");
      await fs.writeFile(
        file,
        JSON.stringify({
          store: "./store",
          origins: [{ name: "dead-cdn", url: `http://127.0.0.1:${port}/r/` }],
        }),
      );
      let c = await checkJson(file, "--timeout", "2s");
      assert.equal(c.code, 1);
      assert.equal(c.report.problems.length, 1, JSON.stringify(c.report.problems));
      const [p] = c.report.problems;
      assert.deepEqual([p.origin, p.kind, p.digest], ["dead-cdn", "unreachable", ""]);
      assert.match(p.reason, /static-registry\.json failed: .*; 3 object\(s\) not checked/);
      assert.deepEqual(
        c.report.origins.map((o) => [o.name, o.checked, o.unreachable]),
        [["dead-cdn", 0, true]],
      );
      assert.equal(c.report.stores, undefined, "a store with origins is not checked itself");

      c = await checkJson(file, "--timeout", "2s", "--deep");
      assert.deepEqual(c.report.stores?.map((s) => [s.name, s.checked, s.digest]), [[
        "store",
        3,
        0,
      ]]);
      assert.deepEqual(c.report.problems.map((p) => p.kind), ["unreachable"]);

      const r = await runBinary(["check", "--config", file, "--timeout", "2s"], {
        env: { STATIC_REGISTRY_LOG: "warn" },
      });
      assert.match(r.stdout, /dead-cdn\s+unreachable\s+-\s+-\s+HEAD static-registry\.json failed/);
    }),
});

Deno.test({
  name: "check (no origins): an S3 store (s3rver) is checked itself too, --deep by digest",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withTempDir(async (dir) => {
      const s3 = await startS3rver("check-store");
      try {
        const file = path.join(dir, "cfg.json");
        await fs.writeFile(
          file,
          JSON.stringify({
            store: `s3://${s3.bucket}/reg`,
            s3: s3.s3Config(),
          }),
        );
        const img = await makeOciLayout(path.join(dir, "src"), { tag: "v1", seed: "check-s3" });
        const pub = await runBinary([
          ...["publish", `oci:${path.join(dir, "src")}:v1`, "s3/app:v1"],
          ...["--to", `s3://${s3.bucket}/reg`, "--config", file],
        ]);
        assert.equal(pub.code, 0, pub.stderr);
        const objects = Object.keys(img.sizes).length;
        let c = await checkJson(file, "--deep");
        assert.equal(c.code, 0, JSON.stringify(c.report));
        assert.equal(c.report.objects, objects);
        assert.deepEqual(c.report.stores?.map((s) => [s.name, s.location, s.checked]), [
          ["store", `s3://${s3.bucket}/reg`, objects],
        ]);

        const layer = img.manifests[0].layers[0].digest;
        const client = new S3Client(clientConfig(s3.options));
        await client.send(
          new DeleteObjectCommand({ Bucket: s3.bucket, Key: `reg/${blobKey(layer)}` }),
        );
        client.destroy();
        c = await checkJson(file);
        assert.equal(c.code, 1);
        assert.deepEqual(c.report.problems.map((p) => [p.origin, p.kind, p.digest, p.ref]), [
          ["store", "missing", layer, "s3/app:v1"],
        ]);
      } finally {
        await s3.stop();
      }
    }),
});
