/**
 * @module
 * Secrets redacted at every exit point (issue 9, defect 6): an HTTP store at
 * `http://user:s3cr3t@…/` and an origin whose URL carries user-info never show the
 * password in `/readyz` (index `lastError`, origin `url` and `lastError`), `/metrics`, log
 * lines ("index loaded", refresh failures, origin health) or HttpStore errors.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { Registry } from "../../lib/index/registry.ts";
import { createLogger } from "../../lib/log.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { createApp } from "../../lib/server/app.ts";
import { HttpStore } from "../../lib/store/http.ts";
import { makeFixture } from "./fixture.ts";

const SECRET = "s3cr3t";

/** Serves the files under `root`; `fail` makes every request answer 500. */
function fileServer(root: string) {
  const state = { fail: false };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (state.fail) return new Response("boom", { status: 500 });
    try {
      return new Response(await Deno.readFile(path.join(root, new URL(req.url).pathname)));
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  return { port: server.addr.port, state, stop: () => server.shutdown() };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response());
  const port = s.addr.port;
  await s.shutdown();
  return port;
}

Deno.test("credentials in store and origin URLs never leave the process (defect 6)", async () => {
  const f = await makeFixture();
  const files = fileServer(f.root);
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (s) => void lines.push(s) } });
  const store = new HttpStore(`http://user:${SECRET}@127.0.0.1:${files.port}/`);
  const dead = await closedPort();
  const origins = createOrigins({
    origins: [{ name: "cdn", url: `http://user:${SECRET}@127.0.0.1:${dead}/`, verifyBlobs: false }],
    health: { intervalMs: 60_000, timeoutMs: 2_000, rise: 1, fall: 1 },
    verifyBlobs: { cacheSize: 10, negativeTtlMs: 1000 },
    log,
  });
  try {
    const registry = new Registry(store, { log });
    await registry.load();
    assert.equal(registry.repositories().length, 3, "the credentials work");
    await origins.start();
    files.state.fail = true;
    assert.equal(await registry.refresh(), false);
    const app = createApp({ registry, store, origins, log });

    const ready = await (await app.request("/readyz")).text();
    assert.match(
      ready,
      /"lastError":\{"message":"store http:\/\/\*\*\*@127[^}]*GET http:\/\/\*\*\*@127/,
    );
    assert.match(ready, /"url":"http:\/\/\*\*\*@127\.0\.0\.1/);
    const metrics = await (await app.request("/metrics")).text();
    for (const [where, text] of [["readyz", ready], ["metrics", metrics]]) {
      assert.ok(!text.includes(SECRET), `${where}: ${text}`);
    }
    const loaded = lines.find((l) => l.includes('"index loaded"'));
    assert.match(loaded ?? "", /"store":"http:\/\/\*\*\*@127\.0\.0\.1/);
    assert.ok(lines.some((l) => l.includes("index refresh failed")));
    assert.ok(lines.some((l) => l.includes("origin cdn")), lines.join(""));
    for (const l of lines) assert.ok(!l.includes(SECRET), l);

    // A connection error: fetch's own message quotes the URL with its user-info.
    const gone = new HttpStore(`http://user:${SECRET}@127.0.0.1:${dead}/`);
    const e = await gone.read("catalog.json").then(() => null, (e) => e as Error);
    assert.ok(e, "the read fails");
    assert.ok(!e.message.includes(SECRET), e.message);
    assert.ok(!JSON.stringify({ ...e, cause: String(e.cause) }).includes(SECRET));
    assert.ok(!store.location.includes(SECRET));
  } finally {
    origins.stop();
    await files.stop();
    await f.cleanup();
  }
});

Deno.test("createLogger() redacts every line: fields, messages and error causes", () => {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (s) => void lines.push(s) } });
  const cause = new Error(`error sending request for url (http://u:${SECRET}@h/x?sig=${SECRET})`);
  log.error({ err: new Error("refresh failed", { cause }), url: `https://u:${SECRET}@h/` }, "x");
  log.child({ origin: `http://u:${SECRET}@h/` }).info(`GET http://u:${SECRET}@h/`);
  assert.equal(lines.length, 2);
  for (const l of lines) assert.ok(!l.includes(SECRET), l);
  assert.match(lines[0], /http:\/\/\*\*\*@h\/x\?sig=\*\*\*/);
});
