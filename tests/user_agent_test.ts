/**
 * @module
 * Every kind of request the program sends says `User-Agent: static-registry/<version>`
 * (lib/version.ts `userAgent()`): the origin health check and blob verification
 * (lib/origins), the HTTP store (lib/store/http.ts), the `docker://` source's registry,
 * token and redirected-blob requests (lib/sources/registry_client.ts), and S3 calls
 * (lib/store/s3.ts, the SDK's `customUserAgent`). Each against a tiny HTTP server on
 * 127.0.0.1 that records the header it received: without our header the runtime sends
 * its own (`Deno/2.x`, `Bun/1.x`), so every assertion here can fail.
 */
import assert from "node:assert/strict";
import { BASE_VERSION, userAgent } from "../lib/version.ts";
import { createOrigins } from "../lib/origins/origins.ts";
import { HttpStore } from "../lib/store/http.ts";
import { S3Store } from "../lib/store/s3.ts";
import { silentLogger } from "../lib/log.ts";
import { openSource } from "../lib/sources/open.ts";
import { publish } from "../lib/publish/publish.ts";
import { DirStore } from "../lib/store/dir.ts";
import { fileCredentials } from "../lib/sources/registry_auth.ts";
import { buildImage } from "./helpers/image.ts";
import { startFakeRegistry } from "./sources/fake_registry.ts";
import { fromConfig } from "./origins/fake.ts";

const MARKER = '{"layout":"static-registry","version":1}\n';

/** A server answering `answer(req)`, recording `METHOD path` → User-Agent. */
function capture(answer: (req: Request) => Response = () => new Response(MARKER)) {
  const seen: { what: string; ua: string | null }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push({
      what: `${req.method} ${new URL(req.url).pathname}`,
      ua: req.headers.get("user-agent"),
    });
    return answer(req);
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close: () => server.shutdown() };
}

Deno.test("userAgent() is static-registry/<release>", () => {
  assert.equal(userAgent(), `static-registry/${BASE_VERSION}`);
  assert.match(userAgent(), /^static-registry\/\d+\.\d+\.\d+/);
});

Deno.test("origins: the health check GET and the blob verification HEAD send our User-Agent", async () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const srv = capture((req) =>
    new URL(req.url).pathname.startsWith("/blobs/")
      ? new Response(null, { headers: { "content-length": "3" } })
      : new Response(MARKER)
  );
  const origins = createOrigins({
    ...fromConfig({ origins: [{ name: "a", url: srv.url, verifyBlobs: true }] }),
    log: silentLogger,
  });
  try {
    await origins.start();
    await origins.locate(digest, 3);
    assert.deepEqual(srv.seen, [
      { what: "GET /static-registry.json", ua: userAgent() },
      { what: `HEAD /blobs/sha256/${"a".repeat(64)}`, ua: userAgent() },
    ]);
  } finally {
    origins.stop();
    await srv.close();
  }
});

Deno.test("HttpStore: read, stat and open send our User-Agent", async () => {
  const srv = capture(() => new Response(MARKER, { headers: { "content-length": "41" } }));
  try {
    const store = new HttpStore(srv.url);
    await store.read("static-registry.json");
    await store.stat("catalog.json");
    const o = await store.open("blobs/sha256/" + "b".repeat(64));
    if (o?.body instanceof ReadableStream) await o.body.cancel();
    assert.deepEqual(srv.seen.map((s) => s.what), [
      "GET /static-registry.json",
      "HEAD /catalog.json",
      `GET /blobs/sha256/${"b".repeat(64)}`,
    ]);
    assert.ok(srv.seen.every((s) => s.ua === userAgent()), JSON.stringify(srv.seen));
  } finally {
    await srv.close();
  }
});

Deno.test("S3Store: SDK requests carry static-registry/<version> after the SDK's own tokens", async () => {
  const srv = capture(() => new Response(MARKER, { headers: { etag: '"e"' } }));
  const store = new S3Store({
    bucket: "b",
    prefix: "reg",
    endpoint: srv.url,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "k", secretAccessKey: "s" },
  });
  try {
    await store.read("static-registry.json");
    assert.equal(srv.seen[0].what, "GET /b/reg/static-registry.json");
    const ua = srv.seen[0].ua ?? "";
    assert.ok(ua.split(" ").includes(userAgent()), ua);
    assert.match(ua, /^aws-sdk-js\//);
  } finally {
    store.close();
    await srv.close();
  }
});

Deno.test({
  name: "docker:// source: registry, token endpoint and redirected blob GETs send our User-Agent",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-ua-" });
    const { blobs, root } = await buildImage({ seed: "ua", layers: 1 });
    const fake = startFakeRegistry({
      blobs,
      tags: { v1: root },
      auth: { scheme: "bearer", username: "u", password: "p" },
      redirectBlobs: true,
    });
    try {
      await Deno.writeTextFile(
        `${tmp}/auth.json`,
        JSON.stringify({ auths: { [`http://${fake.addr}`]: { auth: btoa("u:p") } } }),
      );
      const source = await openSource(`docker://${fake.addr}/src/x:v1`, {
        credentials: fileCredentials(`${tmp}/auth.json`),
      });
      try {
        await publish({ source, store: new DirStore(`${tmp}/store`), name: "x", tag: "v1" });
      } finally {
        await source.close();
      }
      const kinds = new Set(
        fake.requests.map((q) => q.path.startsWith("/token") ? "token" : q.server),
      );
      assert.deepEqual([...kinds].sort(), ["cdn", "registry", "token"]);
      const wrong = fake.requests.filter((q) => q.userAgent !== userAgent());
      assert.deepEqual(wrong, [], "every request says static-registry/<version>");
    } finally {
      await fake.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
