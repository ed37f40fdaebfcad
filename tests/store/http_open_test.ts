/**
 * @module
 * HttpStore.open() against a real static server (nginx, as a CDN or static host would
 * answer): whole objects, byte ranges (206 + Content-Range), missing keys.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { HttpStore } from "../../lib/store/http.ts";
import { startNginx } from "../helpers/nginx.ts";

Deno.test("HttpStore.open() streams objects and byte ranges from nginx", async () => {
  const root = await Deno.makeTempDir({ prefix: "http-open-" });
  const data = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff);
  await fs.mkdir(path.join(root, "blobs", "sha256"), { recursive: true });
  await fs.writeFile(path.join(root, "blobs", "sha256", "abc"), data);
  const nginx = await startNginx({ mode: "static", root });
  try {
    const store = new HttpStore(nginx.url);
    const all = await store.open("blobs/sha256/abc");
    assert.equal(all?.size, data.byteLength);
    assert.deepEqual(new Uint8Array(await new Response(all!.body).arrayBuffer()), data);
    const part = await store.open("blobs/sha256/abc", { start: 100, end: 199 });
    assert.equal(part?.size, data.byteLength, "size is the whole object's (Content-Range)");
    assert.deepEqual(
      new Uint8Array(await new Response(part!.body).arrayBuffer()),
      data.subarray(100, 200),
    );
    assert.equal(await store.open("blobs/sha256/missing"), null);
  } finally {
    await nginx.close();
    await fs.rm(root, { recursive: true, force: true });
  }
});
