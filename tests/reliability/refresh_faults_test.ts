/**
 * @module
 * Refresh faults through the compiled binary with an HTTP store (issue 9, defects 2, 3, 6):
 * the store is served by a small HTTP server in the test, with ETags and 304s like a CDN,
 * whose documents can disappear (404) and come back.
 *
 * - A tag index missing while the catalog already lists it (an rsync that copied
 *   `catalog.json` first) is picked up once it is there, the catalog answering 304.
 * - `catalog.json` answering 404 for a while keeps the last good catalog: `_catalog` and
 *   manifests keep answering, `/readyz` names the document, and it clears when back.
 * - The store URL's password (`user:s3cr3t@`) is in neither `/readyz` nor the log.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { startRegistry } from "../helpers/binary.ts";
import { makeFixture } from "../server/fixture.ts";

const SECRET = "s3cr3t";

/** A static host over `root` with ETag / If-None-Match; paths in `hidden` answer 404. */
function faultyHost(root: string) {
  const hidden = new Set<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const key = new URL(req.url).pathname.slice(1);
    if (hidden.has(key) || key.includes("..")) return new Response(null, { status: 404 });
    try {
      const file = path.join(root, key);
      const st = await Deno.stat(file);
      const etag = `"${st.size}-${st.mtime?.getTime()}"`;
      if (req.headers.get("if-none-match") === etag) {
        return new Response(null, { status: 304, headers: { etag } });
      }
      return new Response(await Deno.readFile(file), { headers: { etag } });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  return { port: server.addr.port, hidden, stop: () => server.shutdown() };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

Deno.test("serve over an HTTP store: missing documents during refresh are not deletions", async () => {
  const f = await makeFixture();
  const host = faultyHost(f.root);
  const many = "repositories/many/_index.json";
  host.hidden.add(many); // catalog copied before repositories/
  const reg = await startRegistry({
    config: {
      store: `http://user:${SECRET}@127.0.0.1:${host.port}/`,
      refresh: { interval: "200ms" },
    },
  });
  const get = async (p: string) => {
    const res = await fetch(`${reg.url}${p}`);
    return { status: res.status, text: await res.text() };
  };
  const problems = async () => JSON.parse((await get("/readyz")).text).index.problems;
  try {
    // Defect 3: listed, missing, reported; picked up although the catalog is unchanged.
    assert.equal((await get("/v2/many/tags/list")).status, 404);
    await new Promise((r) => setTimeout(r, 500)); // a few refreshes
    host.hidden.delete(many);
    await until("many to appear", async () => {
      return (await get("/v2/many/tags/list")).status === 200 ? true : undefined;
    });

    // Defect 2: the catalog answers 404 for a while; nothing is deleted.
    host.hidden.add("catalog.json");
    await new Promise((r) => setTimeout(r, 600)); // a few refreshes
    const catalog = JSON.parse((await get("/v2/_catalog")).text);
    assert.deepEqual(catalog.repositories, ["library/alpine", "many", "other/repo"]);
    assert.equal((await get("/v2/library/alpine/manifests/latest")).status, 200);
    const ready = await get("/readyz");
    assert.equal(ready.status, 200, "serving the last good index");
    const [p, ...more] = await problems();
    assert.deepEqual(more, []);
    assert.deepEqual([p.key, p.repository, p.kind, p.serving], [
      "catalog.json",
      null,
      "missing",
      "last-good",
    ]);
    host.hidden.delete("catalog.json");
    await until("the problem to clear", async () => (await problems()).length ? undefined : true);

    // Defect 6: the password is nowhere; the URL is, redacted.
    const logs = reg.logs();
    assert.ok(!logs.includes(SECRET), logs);
    assert.ok(!(await get("/readyz")).text.includes(SECRET));
    assert.match(logs, /"store":"http:\/\/\*\*\*@127\.0\.0\.1:\d+\/"[^\n]*"listening"/);
    const warned = logs.split("\n").filter((l) => l.includes('"key":"catalog.json"'));
    assert.equal(warned.filter((l) => l.includes('"level":40')).length, 1, "logged once");
  } finally {
    await reg.stop();
    await host.stop();
    await f.cleanup();
  }
});
