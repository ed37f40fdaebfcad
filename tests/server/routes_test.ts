/**
 * @module
 * The shape of createApp(): the route table's not-found rows, the one renderer for what
 * a route or a middleware throws, the RequestContext every route gets (store resolved
 * once, client address computed only when read), and HEAD without a body.
 */
import assert from "node:assert/strict";
import { requestCount } from "../helpers/metrics.ts";
import { Registry } from "../../lib/index/registry.ts";
import { silentLogger } from "../../lib/log.ts";
import { OciError } from "../../lib/oci/errors.ts";
import { createApp, type Middleware, type RequestContext } from "../../lib/server/app.ts";
import { makeFixture } from "./fixture.ts";
import { appFor, FakeOrigins, memoryLogger, runCases } from "./harness.ts";

Deno.test("the route table 404s unknown paths through its not-found rows", async (t) => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    await runCases(t, app, [
      { description: "no such path → 404", url: "/nope", status: 404, wantCode: "NAME_UNKNOWN" },
      { description: "POST no such path → 404", method: "POST", url: "/x", status: 404 },
      { description: "/metricsx → 404", url: "/metricsx", status: 404 },
      { description: "/v2/ no endpoint → 404", url: "/v2/a/b", status: 404 },
      {
        description: "/v2/ no endpoint, PUT → 405 with Allow",
        method: "PUT",
        url: "/v2/a/b",
        status: 405,
        wantCode: "UNSUPPORTED",
        wantHeaders: { allow: "GET, HEAD" },
      },
      {
        description: "a write to /healthz → 405 with Allow",
        method: "DELETE",
        url: "/healthz",
        status: 405,
        wantHeaders: { allow: "GET, HEAD" },
      },
    ]);
    const text = await (await app.request("/metrics")).text();
    assert.equal(requestCount(text, "other", 404), 3);
    assert.equal(requestCount(text, "unknown", 405), 1);
  } finally {
    await f.cleanup();
  }
});

Deno.test("renderError() renders what a route throws, sync or async, and logs a bug once", async () => {
  const f = await makeFixture();
  try {
    const origins = new FakeOrigins();
    const { log, lines } = memoryLogger();
    const { app } = await appFor(f.store, { origins, log });
    const blob = `/v2/library/alpine/blobs/${f.layer.digest}`;
    for (const sync of [true, false]) {
      origins.sync = sync;
      origins.fail = new Error("boom");
      const res = await app.request(blob);
      assert.equal(res.status, 500);
      assert.equal(res.headers.get("docker-distribution-api-version"), "registry/2.0");
      assert.deepEqual(await res.json(), {
        errors: [{ code: "INTERNAL", message: "internal server error" }],
      });
      origins.fail = new OciError("UNAVAILABLE", "no healthy origin", undefined, {
        headers: { "Retry-After": "10" },
      });
      const busy = await app.request(blob);
      assert.equal(busy.status, 503);
      assert.equal(busy.headers.get("retry-after"), "10", "an OciError's headers are sent");
      assert.equal((await busy.json()).errors[0].code, "UNAVAILABLE");
    }
    const bugs = lines.filter((l) => l.msg === "unexpected error while handling a request");
    assert.equal(bugs.length, 2, "one log line per unexpected error");
  } finally {
    await f.cleanup();
  }
});

Deno.test("middleware: sees every status, answers with a thrown OciError, reads one context", async () => {
  const f = await makeFixture();
  try {
    const registry = new Registry(f.store, { log: silentLogger });
    await registry.load();
    const seen: [number, string, string, string, string | undefined][] = [];
    let asked = 0;
    const log: Middleware = (c, next) => {
      const res = next();
      const note = (r: Response) => {
        seen.push([r.status, c.family, c.mount.prefix, c.repo, c.name]);
        return r;
      };
      return res instanceof Promise ? res.then(note) : note(res);
    };
    const auth: Middleware = (c: RequestContext, next) => {
      if (c.req.headers.has("x-deny")) {
        // Read twice: the runtime is asked once.
        if (c.client !== "192.0.2.1" || c.client !== "192.0.2.1") throw new Error("no address");
        throw new OciError("DENIED", "requested access to the resource is denied", undefined, {
          headers: { "WWW-Authenticate": 'Basic realm="registry"' },
        });
      }
      return next();
    };
    const app = createApp({
      registry,
      store: f.store,
      mounts: [{ prefix: "team", registry, store: f.store }],
      middleware: [log, auth],
      log: silentLogger,
    });
    const client = () => (asked++, "192.0.2.1");
    const get = (path: string, headers?: HeadersInit) =>
      Promise.resolve(app.fetch(new Request(`http://localhost${path}`, { headers }), client));

    const ok = await get("/v2/team/library/alpine/manifests/latest");
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    assert.equal(asked, 0, "the client address is not computed when nobody reads it");

    const denied = await get("/v2/library/alpine/tags/list", { "x-deny": "1" });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("www-authenticate"), 'Basic realm="registry"');
    assert.equal((await denied.json()).errors[0].code, "DENIED");
    assert.equal(asked, 1, "computed once, when read");

    const missing = await get("/v2/team/nope/manifests/x");
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).errors[0].detail.name, "team/nope");

    assert.deepEqual(seen, [
      [200, "manifests", "team", "library/alpine", "team/library/alpine"],
      [403, "tags", "", "library/alpine", "library/alpine"],
      [404, "manifests", "team", "nope", "team/nope"],
    ]);
    const text = await (await app.request("/metrics")).text();
    assert.equal(requestCount(text, "tags", 403), 1);
  } finally {
    await f.cleanup();
  }
});

Deno.test("HEAD answers carry the GET headers and no body, whatever the route", async () => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    for (const url of ["/v2/", "/v2/_catalog", "/healthz", "/metrics", "/nope"]) {
      const get = await app.request(url);
      const head = await app.request(url, { method: "HEAD" });
      assert.equal(head.status, get.status, url);
      assert.equal(head.headers.get("content-type"), get.headers.get("content-type"), url);
      assert.equal(head.body, null, url);
      await get.body?.cancel();
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("createApp() routes a request without a usable Host by its target alone", async () => {
  const f = await makeFixture();
  try {
    const { app } = await appFor(f.store);
    // Bun's req.url for HTTP/1.0 without Host (or an empty, `a/b`, `a@b`... Host) is the
    // request-target alone (lib/server/path.ts requestTarget); the same Request otherwise.
    const targetOnly = (target: string) => {
      const req = new Request(`http://localhost${target}`);
      return new Proxy(req, {
        get: (t, k) => (k === "url" ? target : Reflect.get(t, k, t)),
      });
    };
    const cases: [target: string, status: number, family: RegExp][] = [
      ["/readyz", 200, /"status":"ready"|ready/],
      ["/healthz", 200, /ok/],
      ["/v2/", 200, /\{\}/],
      ["/v2/metrics", 404, /NAME_UNKNOWN|unknown/],
      ["/v2/library/alpine/tags/list", 200, /library\/alpine/],
      ["/v2/x/../../readyz", 200, /ready/],
    ];
    for (const [target, status, body] of cases) {
      const res = await app.fetch(targetOnly(target));
      const text = await res.text();
      assert.equal(res.status, status, `${target}: ${text.slice(0, 200)}`);
      assert.match(text, body, target);
    }
  } finally {
    await f.cleanup();
  }
});
