/**
 * @module
 * The access log and the request metrics of createApp() (issue 11 items 1 and 2), in
 * process: after a known sequence of requests, exactly one line per request with exactly
 * the documented keys and values (bytes as sent, the origin of a 307, the user set by an
 * inner middleware, a 401 answered inside the chain), probes only at debug, nothing with
 * `accessLog` off; `/metrics` counts equal to the requests made, by route, method and
 * status, the histogram's count equal to them too, and `promtool check metrics` clean.
 */
import assert from "node:assert/strict";
import { Registry } from "../../lib/index/registry.ts";
import { createLogger, silentLogger } from "../../lib/log.ts";
import { OciError } from "../../lib/oci/errors.ts";
import { createOrigins } from "../../lib/origins/origins.ts";
import { createApp, type Middleware } from "../../lib/server/app.ts";
import { counted } from "../../lib/server/observe.ts";
import { type Fixture, makeFixture } from "./fixture.ts";

const KEYS = ["method", "path", "status", "bytes", "ms", "client", "user", "repo", "origin"];

/** An app over the fixture with a real origins object (its canary answered 200). */
async function withApp(
  opts: { accessLog: boolean; level?: string },
  fn: (x: {
    f: Fixture;
    get: (path: string, init?: RequestInit) => Promise<Response>;
    lines: Record<string, unknown>[];
  }) => Promise<void>,
): Promise<void> {
  const f = await makeFixture();
  // The program's logger options (lib/log.ts), so the lines are exactly what it writes.
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: (opts.level ?? "info") as "info",
    destination: { write: (s: string) => void lines.push(JSON.parse(s)) },
  });
  const origins = createOrigins({
    origins: [{ name: "cdn-a", url: "http://cdn-a.test/r/", verifyBlobs: false }],
    health: { intervalMs: 60_000, timeoutMs: 1_000, rise: 1, fall: 1 },
    verifyBlobs: { cacheSize: 10, negativeTtlMs: 1_000 },
    log: silentLogger,
    fetch: () => Promise.resolve(new Response(null, { status: 200 })),
  });
  await origins.start();
  // An auth-like layer: `x-user` names the caller, `x-deny` is answered 401 right here.
  const auth: Middleware = (c, next) => {
    if (c.req.headers.has("x-deny")) {
      throw new OciError("UNAUTHORIZED", "authentication required", undefined, {
        headers: { "WWW-Authenticate": 'Basic realm="registry"' },
      });
    }
    c.user = c.req.headers.get("x-user") ?? undefined;
    return next();
  };
  try {
    const registry = new Registry(f.store, { log: silentLogger });
    await registry.load();
    const app = createApp({
      registry,
      store: f.store,
      origins,
      middleware: [auth],
      accessLog: opts.accessLog,
      log,
    });
    const get = (path: string, init?: RequestInit) =>
      Promise.resolve(app.fetch(new Request(`http://localhost${path}`, init), () => "192.0.2.7"));
    await fn({ f, get, lines });
  } finally {
    origins.stop();
    await f.cleanup();
  }
}

const requests = (lines: Record<string, unknown>[]) => lines.filter((l) => l.msg === "request");

Deno.test("access log: one line per request, exactly the documented keys and values", () =>
  withApp({ accessLog: true }, async ({ f, get, lines }) => {
    const bodies: number[] = [];
    const take = async (res: Response) => {
      bodies.push((await res.arrayBuffer()).byteLength);
      return res;
    };
    await take(
      await get("/v2/library/alpine/manifests/latest", { headers: { "x-user": "alice" } }),
    );
    await take(await get(`/v2/library/alpine/blobs/${f.layer.digest}`, { method: "HEAD" }));
    await take(await get(`/v2/library/alpine/blobs/${f.layer.digest}`));
    await take(await get("/v2/library/alpine/tags/list?n=1&token=s3cr3t"));
    await take(await get("/v2/nope/manifests/x"));
    await take(await get("/v2/library/alpine/tags/list", { headers: { "x-deny": "1" } }));
    await take(await get("/healthz"));

    const got = requests(lines);
    assert.equal(got.length, 6, "six requests at info; /healthz is at debug");
    for (const l of got) {
      const keys = Object.keys(l).filter((k) => !["level", "time", "msg"].includes(k));
      assert.deepEqual(keys.filter((k) => !KEYS.includes(k)), [], "no other keys");
      assert.equal(typeof l.ms, "number");
      assert.ok((l.ms as number) >= 0);
      assert.equal(l.client, "192.0.2.7");
      assert.equal(l.level, 30);
    }
    const strip = (l: Record<string, unknown>) => {
      const { level: _l, time: _t, msg: _m, ms: _ms, client: _c, ...rest } = l;
      return rest;
    };
    assert.deepEqual(got.map(strip), [
      {
        method: "GET",
        path: "/v2/library/alpine/manifests/latest",
        status: 200,
        bytes: bodies[0],
        user: "alice",
        repo: "library/alpine",
      },
      {
        method: "HEAD",
        path: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 200,
        bytes: 0,
        repo: "library/alpine",
      },
      {
        method: "GET",
        path: `/v2/library/alpine/blobs/${f.layer.digest}`,
        status: 307,
        bytes: 0,
        repo: "library/alpine",
        origin: "cdn-a",
      },
      // The query (here with a token in it) is never logged.
      {
        method: "GET",
        path: "/v2/library/alpine/tags/list",
        status: 200,
        bytes: bodies[3],
        repo: "library/alpine",
      },
      { method: "GET", path: "/v2/nope/manifests/x", status: 404, bytes: bodies[4], repo: "nope" },
      {
        method: "GET",
        path: "/v2/library/alpine/tags/list",
        status: 401,
        bytes: bodies[5],
        repo: "library/alpine",
      },
    ]);
    assert.ok(bodies[3] > 0 && bodies[4] > 0 && bodies[5] > 0, "JSON bodies counted as sent");
    assert.doesNotMatch(JSON.stringify(lines), /s3cr3t/);
  }));

Deno.test("access log: probes at debug; off with accessLog false", async () => {
  await withApp({ accessLog: true, level: "debug" }, async ({ get, lines }) => {
    for (const p of ["/healthz", "/readyz", "/metrics"]) await (await get(p)).arrayBuffer();
    const got = requests(lines);
    assert.deepEqual(got.map((l) => [l.path, l.level]), [
      ["/healthz", 20],
      ["/readyz", 20],
      ["/metrics", 20],
    ]);
    assert.ok((got[2].bytes as number) > 1000, "the /metrics text, counted as sent");
  });
  await withApp({ accessLog: false, level: "debug" }, async ({ get, lines }) => {
    await (await get("/v2/library/alpine/manifests/latest")).arrayBuffer();
    await (await get("/healthz")).arrayBuffer();
    assert.deepEqual(requests(lines), []);
  });
});

Deno.test("counted(): the bytes handed on, once, when the stream ends or is cancelled", async () => {
  const chunks = [new Uint8Array(3), new Uint8Array(5)];
  const source = () =>
    new ReadableStream<Uint8Array>({
      start(ctl) {
        for (const c of chunks) ctl.enqueue(c);
        ctl.close();
      },
    });
  const ends: number[] = [];
  assert.equal(
    (await new Response(counted(source(), (n) => ends.push(n))).arrayBuffer()).byteLength,
    8,
  );
  assert.deepEqual(ends, [8]);

  const reader = counted(source(), (n) => ends.push(n)).getReader();
  await reader.read();
  await reader.cancel("client gone");
  assert.deepEqual(ends, [8, 3], "a cancelled stream reports what was sent");
});

/** The value of one sample line of `text`. */
function sample(text: string, line: string): number | undefined {
  const at = text.split("\n").find((l) => l.startsWith(`${line} `));
  return at === undefined ? undefined : Number(at.slice(line.length + 1));
}

Deno.test("/metrics: counts by route, method and status equal the requests; histogram too", () =>
  withApp({ accessLog: false }, async ({ f, get }) => {
    const N = 7;
    for (let i = 0; i < N; i++) {
      await (await get(`/v2/library/alpine/blobs/${f.layer.digest}`)).arrayBuffer();
      await (await get(`/v2/library/alpine/blobs/${f.layer.digest}`, { method: "HEAD" }))
        .arrayBuffer();
      await (await get("/v2/library/alpine/manifests/latest")).arrayBuffer();
      await (await get("/v2/nope/manifests/x")).arrayBuffer();
    }
    await (await get("/v2/x/blobs/uploads/", { method: "BREW" })).arrayBuffer();
    const manifest = await (await get("/v2/library/alpine/manifests/latest")).arrayBuffer();
    const text = await (await get("/metrics")).text();
    const req = (route: string, method: string, status: number) =>
      sample(
        text,
        `static_registry_requests_total{route="${route}",method="${method}",status="${status}"}`,
      );
    assert.equal(req("blobs", "GET", 307), N);
    assert.equal(req("blobs", "HEAD", 200), N);
    assert.equal(req("manifests", "GET", 200), N + 1);
    assert.equal(req("manifests", "GET", 404), N);
    assert.equal(req("uploads", "other", 405), 1, "an invented method is `other`");
    const h = "static_registry_request_duration_seconds";
    assert.equal(sample(text, `${h}_count{route="blobs"}`), 2 * N);
    assert.equal(sample(text, `${h}_bucket{route="blobs",le="+Inf"}`), 2 * N);
    assert.equal(sample(text, `${h}_count{route="manifests"}`), 2 * N + 1);
    const buckets = text.split("\n").filter((l) => l.startsWith(`${h}_bucket{route="manifests"`))
      .map((l) => Number(l.split(" ")[1]));
    assert.equal(buckets.length, 16);
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b), "cumulative");
    assert.ok((sample(text, `${h}_sum{route="manifests"}`) ?? -1) > 0);
    // HEAD sends no body and a 307 none either: the blob bytes are the CDN's.
    assert.equal(sample(text, `static_registry_response_bytes_total{route="blobs"}`), 0);
    assert.ok(
      (sample(text, `static_registry_response_bytes_total{route="manifests"}`) ?? 0) >=
        (N + 1) * manifest.byteLength,
    );
    assert.equal(sample(text, `static_registry_redirects_total{origin="cdn-a"}`), N);
    assert.ok(
      (sample(text, `static_registry_origin_check_duration_seconds{origin="cdn-a"}`) ?? -1) >= 0,
    );
    const age = sample(text, "static_registry_index_age_seconds");
    assert.ok(age !== undefined && age >= 0 && age < 60, `index age ${age}`);

    // promtool (Debian prometheus, scripts/install-system-deps) validates the exposition.
    const check = await new Deno.Command("promtool", {
      args: ["check", "metrics"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = check.stdin.getWriter();
    await w.write(new TextEncoder().encode(text));
    await w.close();
    const out = await check.output();
    const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `promtool check metrics: ${said}`);
    assert.equal(said.trim(), "", "no lint findings either");
  }));
