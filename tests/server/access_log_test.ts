/**
 * The access log and the request figures after a known sequence of requests: exact
 * lines (count, order, every field), probes at debug only, secrets redacted in the path,
 * streamed blobs counted to their end (or to where the client stopped reading), and the
 * same requests in `/metrics` by route, method and status, with latency and bytes.
 */
import assert from "node:assert/strict";
import pino from "pino";
import { Registry } from "../../lib/index/registry.ts";
import { silentLogger } from "../../lib/log.ts";
import { memorySink } from "../../lib/log_sink.ts";
import { jsonString } from "../../lib/server/access_log.ts";
import { type App, createApp, type Middleware } from "../../lib/server/app.ts";
import { bodyStream, type StreamStore } from "../../lib/store/store.ts";
import { sample } from "../helpers/metrics.ts";
import { makeFixture } from "./fixture.ts";
import { FakeOrigins } from "./harness.ts";

type Line = Record<string, unknown>;

async function setup(opts: { origins?: boolean; level?: string; user?: string } = {}) {
  const f = await makeFixture();
  const registry = new Registry(f.store, { log: silentLogger });
  await registry.load();
  const sink = memorySink();
  const log = pino({ level: opts.level ?? "info" }, { write() {} });
  const setUser: Middleware = (c, next) => {
    if (opts.user) c.user = opts.user;
    return next();
  };
  const app = createApp({
    registry,
    store: f.store,
    ...(opts.origins === false ? {} : { origins: new FakeOrigins() }),
    middleware: [setUser],
    accessLog: { sink, log },
    log: silentLogger,
  });
  const lines = () => sink.lines.map((l) => JSON.parse(l) as Line);
  return { f, app, sink, lines };
}

/** A request as a client at `client` sends it. */
async function send(app: App, path: string, method = "GET", client = "10.1.2.3") {
  const res = await app.fetch(new Request(`http://registry.test${path}`, { method }), () => client);
  return { res, body: new Uint8Array(await res.arrayBuffer()) };
}

Deno.test("access log: one line per request with method, path, status, bytes, ms, client, repo, origin", async () => {
  const { f, app, lines } = await setup({ user: "alice" });
  try {
    const base = await send(app, "/v2/");
    const manifest = await send(app, "/v2/library/alpine/manifests/latest");
    await send(app, "/v2/library/alpine/manifests/latest", "HEAD");
    const blob = await send(app, `/v2/library/alpine/blobs/${f.layer.digest}`, "GET", "fd00::7");
    const missing = await send(app, "/v2/library/alpine/manifests/nope");
    await send(app, "/healthz");
    await send(app, "/readyz");
    const catalog = await send(app, "/v2/_catalog?n=1");
    const tags = await send(app, "/v2/library/alpine/tags/list?token=s3cr3t&n=2");
    assert.equal(blob.res.status, 307);
    assert.equal(missing.res.status, 404);

    const got = lines();
    assert.equal(got.length, 7, "health probes are not logged at info");
    for (const l of got) {
      assert.equal(l.level, 30);
      assert.equal(l.msg, "request");
      assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(typeof l.ms, "number");
      assert.ok((l.ms as number) >= 0 && (l.ms as number) < 5000);
      assert.equal(l.user, "alice");
    }
    const strip = (l: Line) => {
      const { time: _t, ms: _m, level: _l, msg: _g, user: _u, ...rest } = l;
      return rest;
    };
    assert.deepEqual(
      got.map(strip),
      [
        { method: "GET", path: "/v2/", status: 200, bytes: base.body.length, client: "10.1.2.3" },
        {
          method: "GET",
          path: "/v2/library/alpine/manifests/latest",
          status: 200,
          bytes: f.alpine.size,
          client: "10.1.2.3",
          repo: "library/alpine",
        },
        {
          method: "HEAD",
          path: "/v2/library/alpine/manifests/latest",
          status: 200,
          bytes: 0,
          client: "10.1.2.3",
          repo: "library/alpine",
        },
        {
          method: "GET",
          path: `/v2/library/alpine/blobs/${f.layer.digest}`,
          status: 307,
          bytes: 0,
          client: "fd00::7",
          repo: "library/alpine",
          origin: "cdn-a",
        },
        {
          method: "GET",
          path: "/v2/library/alpine/manifests/nope",
          status: 404,
          bytes: missing.body.length,
          client: "10.1.2.3",
          repo: "library/alpine",
        },
        {
          method: "GET",
          path: "/v2/_catalog?n=1",
          status: 200,
          bytes: catalog.body.length,
          client: "10.1.2.3",
        },
        {
          method: "GET",
          path: "/v2/library/alpine/tags/list?token=***&n=2",
          status: 200,
          bytes: tags.body.length,
          client: "10.1.2.3",
          repo: "library/alpine",
        },
      ],
    );
    assert.equal(manifest.body.length, f.alpine.size);
    assert.ok(!JSON.stringify(got).includes("s3cr3t"));
    assert.ok(!("user" in strip(got[0])));
  } finally {
    await f.cleanup();
  }
});

Deno.test("access log: jsonString writes every string exactly as JSON.stringify does", () => {
  const cases = [
    "/v2/library/alpine/blobs/sha256:0123",
    "",
    'say "hi"',
    "back\\slash",
    "tab\there",
    "nul\u0000",
    "unit\u001f",
    "del\u007f",
    "line\u2028sep",
    "naïve 名前 😀",
    "lone \ud800 high",
    "lone \udfff low",
    "reversed \ude00\ud83d",
  ];
  for (const s of cases) assert.equal(jsonString(s), JSON.stringify(s), JSON.stringify(s));
  for (let cp = 0; cp < 0x80; cp++) {
    const s = `a${String.fromCharCode(cp)}b`;
    assert.equal(jsonString(s), JSON.stringify(s), `U+${cp.toString(16)}`);
  }
});

Deno.test("access log: a user name with quotes, control characters or a lone surrogate keeps the line JSON", async () => {
  const user = 'e"v\\il\n{"x":1}\ud800';
  const { f, app, lines } = await setup({ user });
  try {
    await send(app, "/v2/");
    const got = lines();
    assert.equal(got.length, 1);
    assert.equal(got[0].user, user);
    assert.ok(!("x" in got[0]));
  } finally {
    await f.cleanup();
  }
});

Deno.test("access log: probes at debug; no user, repo or origin keys where they do not apply", async () => {
  const { f, app, lines } = await setup({ level: "debug" });
  try {
    await send(app, "/healthz");
    await send(app, "/readyz");
    await send(app, "/metrics");
    await send(app, "/nope");
    const got = lines();
    assert.deepEqual(got.map((l) => [l.level, l.path, l.status]), [
      [20, "/healthz", 200],
      [20, "/readyz", 200],
      [20, "/metrics", 200],
      [30, "/nope", 404],
    ]);
    for (const l of got) {
      assert.ok(!("user" in l) && !("repo" in l) && !("origin" in l), JSON.stringify(l));
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("access log: a blob piped from a store is logged at its end with the bytes sent", async () => {
  const f = await makeFixture();
  try {
    // A store whose blobs come as streams, as from S3 or an HTTP store (a directory's
    // are file Blobs, sent whole by the runtime and logged with their Content-Length).
    const piping: StreamStore = {
      location: f.store.location,
      read: (k, o) => f.store.read(k, o),
      stat: (k) => f.store.stat(k),
      async open(key, range) {
        const o = await f.store.open(key, range);
        return o && { size: o.size, body: bodyStream(o.body) };
      },
    };
    const registry = new Registry(piping, { log: silentLogger });
    await registry.load();
    const sink = memorySink();
    const app = createApp({
      registry,
      store: piping,
      accessLog: { sink, log: pino({ level: "info" }, { write() {} }) },
      log: silentLogger,
    });
    const lines = () => sink.lines.map((l) => JSON.parse(l) as Line);
    const get = (headers: Record<string, string> = {}) =>
      app.fetch(
        new Request(`http://registry.test/v2/library/alpine/blobs/${f.layer.digest}`, { headers }),
        () => "127.0.0.1",
      );
    const res = await get();
    assert.equal(res.status, 200);
    assert.equal(lines().length, 0, "not logged before the body is sent");
    const body = new Uint8Array(await res.arrayBuffer());
    assert.equal(body.length, f.layer.size);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(lines().map((l) => [l.status, l.bytes]), [[200, f.layer.size]]);

    // A client that stops reading: logged once, with what it got.
    const partial = await get();
    const reader = partial.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(lines().length, 2);
    assert.equal(lines()[1].bytes, first.value!.byteLength);

    // A range: 206 with its length.
    const ranged = await get({ Range: "bytes=10-19" });
    assert.equal(ranged.status, 206);
    await ranged.arrayBuffer();
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual([lines()[2].status, lines()[2].bytes], [206, 10]);

    // A directory store (a file Blob on Bun, logged at once with its Content-Length; a
    // stream on Deno, logged at its end): the same line either way.
    const dir = await setup({ origins: false });
    try {
      const whole = await dir.app.fetch(
        new Request(`http://registry.test/v2/library/alpine/blobs/${dir.f.layer.digest}`),
        () => "127.0.0.1",
      );
      await whole.arrayBuffer();
      await new Promise((r) => setTimeout(r, 0));
      assert.deepEqual(dir.lines().map((l) => [l.status, l.bytes]), [[200, dir.f.layer.size]]);
    } finally {
      await dir.f.cleanup();
    }
  } finally {
    await f.cleanup();
  }
});

Deno.test("/metrics: requests by route, method and status; latency histogram; bytes sent", async () => {
  const { f, app } = await setup();
  try {
    const manifest = await send(app, "/v2/library/alpine/manifests/latest");
    await send(app, "/v2/library/alpine/manifests/latest", "HEAD");
    const missing = await send(app, "/v2/library/alpine/manifests/nope");
    await send(app, `/v2/library/alpine/blobs/${f.layer.digest}`);
    await send(app, `/v2/library/alpine/blobs/${f.layer.digest}`, "PROPFIND");
    const text = await (await app.request("/metrics")).text();
    const s = (series: string) => sample(text, series);
    assert.equal(
      s('static_registry_requests_total{route="manifests",method="GET",status="200"}'),
      1,
    );
    assert.equal(
      s('static_registry_requests_total{route="manifests",method="HEAD",status="200"}'),
      1,
    );
    assert.equal(
      s('static_registry_requests_total{route="manifests",method="GET",status="404"}'),
      1,
    );
    assert.equal(s('static_registry_requests_total{route="blobs",method="GET",status="307"}'), 1);
    assert.equal(s('static_registry_requests_total{route="blobs",method="other",status="405"}'), 1);
    assert.equal(s('static_registry_request_duration_seconds_count{route="manifests"}'), 3);
    assert.equal(
      s('static_registry_request_duration_seconds_bucket{route="manifests",le="+Inf"}'),
      3,
    );
    assert.equal(
      s('static_registry_request_duration_seconds_bucket{route="manifests",le="30"}'),
      3,
    );
    assert.ok(s('static_registry_request_duration_seconds_sum{route="manifests"}')! > 0);
    // Buckets are cumulative: never decreasing.
    const buckets = [...text.matchAll(
      /^static_registry_request_duration_seconds_bucket\{route="blobs",le="[^"]+"\} (\d+)$/gm,
    )].map((m) => Number(m[1]));
    assert.equal(buckets.length, 18);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
    assert.equal(
      s('static_registry_response_bytes_total{route="manifests"}'),
      manifest.body.length + missing.body.length,
    );
    assert.equal(s('static_registry_redirects_total{origin="cdn-a"}'), 1);
  } finally {
    await f.cleanup();
  }
});
