/**
 * @module
 * HttpStore against a tiny local HTTP server (Deno.serve on 127.0.0.1, a free port) that
 * serves a few files with ETags and a few failure modes, and with an injected fetch.
 */
import assert from "node:assert/strict";
import { HttpStore, HttpStoreError } from "../../lib/store/http.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

const FILES: Record<string, { body: string; etag: string; type: string }> = {
  "/base/catalog.json": { body: '{"repositories":[]}\n', etag: '"c1"', type: "application/json" },
  "/base/repositories/a/b/_index.json": { body: "{}\n", etag: '"i1"', type: "application/json" },
};

/** Serves FILES under /base, plus /base/boom (500), /base/slow (hangs), /base/gone (410). */
function startServer() {
  const seen: Request[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      seen.push(req);
      const url = new URL(req.url);
      if (url.pathname === "/base/boom") return new Response("oops", { status: 500 });
      if (url.pathname === "/base/gone") return new Response(null, { status: 410 });
      if (url.pathname === "/base/slow") {
        await new Promise((r) => setTimeout(r, 1500));
        return new Response("late");
      }
      const f = FILES[url.pathname];
      if (!f) return new Response("not found", { status: 404 });
      const headers = { etag: f.etag, "content-type": f.type };
      if (req.headers.get("if-none-match") === f.etag) {
        return new Response(null, { status: 304, headers });
      }
      const body = enc.encode(f.body);
      return new Response(req.method === "HEAD" ? null : body, {
        headers: { ...headers, "content-length": String(body.byteLength) },
      });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}/base`;
  return { server, base, seen };
}

Deno.test("HttpStore against a local HTTP server", async (t) => {
  const { server, base, seen } = startServer();
  const store = new HttpStore(base, { timeoutMs: 500 });
  try {
    await t.step("read() returns bytes, etag and content type", async () => {
      const r = await store.read("catalog.json");
      assert.equal(r.status, "ok");
      if (r.status !== "ok") return;
      assert.equal(dec.decode(r.bytes), '{"repositories":[]}\n');
      assert.deepEqual(r.meta, { size: 20, etag: '"c1"', contentType: "application/json" });
    });

    await t.step("read() with the etag sends If-None-Match and answers not-modified", async () => {
      assert.deepEqual(await store.read("catalog.json", { etag: '"c1"' }), {
        status: "not-modified",
      });
      assert.equal(seen.at(-1)?.headers.get("if-none-match"), '"c1"');
      assert.equal((await store.read("catalog.json", { etag: '"old"' })).status, "ok");
    });

    await t.step("nested keys map to base path + key", async () => {
      assert.equal(
        store.urlOf("repositories/a/b/_index.json"),
        `${base}/repositories/a/b/_index.json`,
      );
      assert.equal((await store.read("repositories/a/b/_index.json")).status, "ok");
      assert.equal(new URL(seen.at(-1)!.url).pathname, "/base/repositories/a/b/_index.json");
    });

    await t.step("404 and 410 are missing; stat() is null", async () => {
      assert.deepEqual(await store.read("nope.json"), { status: "missing" });
      assert.deepEqual(await store.read("gone"), { status: "missing" });
      assert.equal(await store.stat("nope.json"), null);
    });

    await t.step("other statuses are errors naming the URL and the status", async () => {
      await assert.rejects(store.read("boom"), (e: unknown) => {
        assert.ok(e instanceof HttpStoreError);
        assert.equal(e.message, `GET ${base}/boom: HTTP 500 Internal Server Error`);
        assert.equal(e.status, 500);
        return true;
      });
      await assert.rejects(
        store.stat("boom"),
        new RegExp(`^HttpStoreError: HEAD ${base}/boom: HTTP 500`),
      );
    });

    await t.step("a server slower than the timeout is an error naming the URL", async () => {
      const t0 = performance.now();
      await assert.rejects(store.read("slow"), {
        name: "HttpStoreError",
        message: `GET ${base}/slow: timed out after 500 ms`,
      });
      assert.ok(performance.now() - t0 < 1400, "gave up at the timeout");
    });

    await t.step("stat() uses HEAD and returns size, etag and type", async () => {
      const before = seen.length;
      assert.deepEqual(await store.stat("catalog.json"), {
        size: 20,
        etag: '"c1"',
        contentType: "application/json",
      });
      assert.equal(seen[before].method, "HEAD");
    });

    await t.step("a connection refused is an error naming the URL", async () => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      const dead = new HttpStore(`http://127.0.0.1:${port}/x`);
      await assert.rejects(dead.read("catalog.json"), (e: unknown) => {
        assert.ok(e instanceof HttpStoreError);
        assert.match(e.message, new RegExp(`^GET http://127.0.0.1:${port}/x/catalog.json: `));
        assert.equal(e.status, 0);
        return true;
      });
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("HttpStore uses an injected fetch and keeps the base URL's query", async () => {
  const calls: string[] = [];
  const store = new HttpStore("https://cdn.example.com/reg?sig=abc", {
    fetch: (input, init) => {
      calls.push(`${init?.method} ${input}`);
      return Promise.resolve(new Response("{}", { headers: { etag: '"e"' } }));
    },
  });
  const r = await store.read("blobs/sha256/ab");
  assert.equal(r.status, "ok");
  assert.deepEqual(calls, ["GET https://cdn.example.com/reg/blobs/sha256/ab?sig=abc"]);
  // The location is for messages: its signature is redacted (issue 9, secrets redacted).
  assert.equal(store.location, "https://cdn.example.com/reg/?sig=***");
});

Deno.test("HttpStore rejects bad base URLs and bad keys", () => {
  assert.throws(() => new HttpStore("cdn.example.com"), /invalid store URL "cdn.example.com"/);
  assert.throws(() => new HttpStore("ftp://x/y"), /must be http\(s\)/);
  assert.throws(() => new HttpStore("https://x/y#z"), /#fragment/);
  const store = new HttpStore("https://x/y/");
  assert.throws(() => store.urlOf("../etc/passwd"), /invalid store key/);
  assert.equal(store.urlOf("a b/c"), "https://x/y/a%20b/c");
});

Deno.test("HttpStore.stat() without a Content-Length is an error", async () => {
  // Deno.serve always sends a length for HEAD, so a fetch stands in for such a server.
  const store = new HttpStore("https://cdn.example.com/reg", {
    fetch: () => Promise.resolve(new Response(null, { headers: { etag: '"e"' } })),
  });
  await assert.rejects(
    store.stat("catalog.json"),
    /^HttpStoreError: HEAD https:\/\/cdn.example.com\/reg\/catalog.json: no valid Content-Length/,
  );
});
