/**
 * @module
 * HttpStore against a real nginx serving a directory: nginx's ETag is the file's
 * modification time in whole seconds plus its size, so a document rewritten within the
 * same second at the same size keeps its ETag (a version-2 catalog whose only change is a
 * digest). A copy that young must not be used for a conditional read, or the second
 * change is never seen (lib/store/http.ts maybeSuperseded).
 */
import assert from "node:assert/strict";
import { startNginx } from "../helpers/nginx.ts";
import { HttpStore } from "../../lib/store/http.ts";

Deno.test("HttpStore: a rewrite within the same second at the same size is not missed behind nginx", async () => {
  const root = await Deno.makeTempDir({ prefix: "sr-etag-" });
  const nginx = await startNginx({ mode: "static", root });
  try {
    const store = new HttpStore(nginx.url);
    const doc = (c: string) => `{"version":2,"repositories":{"a":"sha256:${c.repeat(64)}"}}\n`;
    // Start right after a second boundary so both writes surely share the second.
    await new Promise((r) => setTimeout(r, 1000 - (Date.now() % 1000) + 20));
    await Deno.writeTextFile(`${root}/catalog.json`, doc("a"));
    const first = await store.read("catalog.json");
    assert.equal(first.status, "ok");
    await Deno.writeTextFile(`${root}/catalog.json`, doc("b"));
    const etag = first.status === "ok" ? first.meta.etag : undefined;
    const second = await store.read("catalog.json", etag ? { etag } : undefined);
    assert.equal(second.status, "ok", "the young copy was read again, not answered 304");
    if (second.status === "ok") {
      assert.equal(new TextDecoder().decode(second.bytes), doc("b"));
      assert.equal(second.meta.etag, undefined, "still young: the next read is whole too");
    }
    // Once the copy is older than two seconds, conditional reads are safe and used.
    await new Promise((r) => setTimeout(r, 2100));
    const settled = await store.read("catalog.json");
    assert.equal(settled.status, "ok");
    const old = settled.status === "ok" ? settled.meta.etag : undefined;
    assert.ok(old, "an old copy keeps its ETag");
    assert.deepEqual(await store.read("catalog.json", { etag: old }), { status: "not-modified" });
  } finally {
    await nginx.close();
    await Deno.remove(root, { recursive: true });
  }
});
