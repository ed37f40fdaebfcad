/**
 * @module
 * The refresh rows' s3rver (bench/refresh_s3rver.ts): a v1 refresh of 100k repositories
 * is 100k 304s, and s3rver 3.7.1 as shipped keeps one descriptor per 304 under a hard
 * limit of 20000: bench/s3rver-run-closing.cjs must close them, /proc must count them, and
 * a restart keeps the port and the data.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { startRestartableS3rver } from "../../bench/refresh_s3rver.ts";
import { makeRefreshStore } from "../../bench/refresh_store.ts";
import { MARKER_KEY } from "../../lib/layout/keys.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

Deno.test("refresh s3rver: 304s hold no descriptor; a restart keeps port and data", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "refresh-s3rver-" });
  const s3 = await startRestartableS3rver(ROOT, workDir, "b");
  try {
    assert.ok(await s3.fdLimit() > 0);
    await makeRefreshStore({ kind: "s3rver", dataDir: s3.dataDir, bucket: "b", prefix: "p" }, 1);
    const url = `${s3.endpoint}/b/p/${MARKER_KEY}`;
    const first = await fetch(url);
    await first.body?.cancel();
    const etag = first.headers.get("etag") ?? "";
    assert.equal(first.status, 200);
    assert.ok(etag);
    const before = s3.openFiles();
    const n = 200;
    for (let i = 0; i < n; i++) {
      const res = await fetch(url, { headers: { "if-none-match": etag } });
      await res.body?.cancel();
      assert.equal(res.status, 304);
    }
    const get = await fetch(url);
    assert.equal(get.status, 200);
    assert.equal((await get.text()).length, Number(first.headers.get("content-length")));
    // With tests/helpers/s3rver-run.cjs (no wrapper) this is `before + n`: the leak.
    const after = s3.openFiles();
    assert.ok(after - before < 10, `${after} descriptors open after ${before} + ${n} 304s`);
    await s3.restart();
    const again = await fetch(url, { headers: { "if-none-match": etag } });
    await again.body?.cancel();
    assert.equal(again.status, 304, "same data after the restart");
  } finally {
    await s3.stop();
    await Deno.remove(workDir, { recursive: true });
  }
});
