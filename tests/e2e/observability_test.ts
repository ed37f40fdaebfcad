/**
 * @module
 * End-to-end, the COMPILED binary (issue 11 items 1 and 2): after a known sequence of
 * requests, its log (stderr redirected to a file, as an operator runs it) holds exactly one
 * access line per request with the documented fields; a burst answered just before
 * SIGTERM is all in the file after the graceful exit (the log is written asynchronously
 * and flushed on the way out); `metrics.listen` serves `/metrics` on its own address only
 * (the main listener 404s it) with counts equal to the requests made and a histogram that
 * agrees, and `promtool check metrics` passes on it; `log.access: false` writes no line,
 * and probes are logged at debug only; a `metrics.listen` that cannot be bound names the key.
 */
import assert from "node:assert/strict";
import { binaryExists, binaryPath, runBinary } from "../helpers/binary.ts";
import { requestCount } from "../helpers/metrics.ts";
import { freePort } from "../helpers/ports.ts";
import { type Fixture, makeFixture } from "../server/fixture.ts";

type Line = Record<string, unknown>;

/** `static-registry serve` with stderr to `log`, by PID (`sh -c exec` keeps the PID). */
async function serveToFile(config: Record<string, unknown>, dir: string, log: string) {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const cfg = `${dir}/cfg-${port}.json`;
  await Deno.writeTextFile(cfg, JSON.stringify({ listen: `127.0.0.1:${port}`, ...config }));
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$0" serve --config "$1" 2>"$2"', binaryPath(), cfg, log],
    stdin: "null",
    stdout: "null",
  }).spawn();
  for (const until = Date.now() + 10_000;;) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      if (res.ok) break;
    } catch { /* not yet listening */ }
    if (Date.now() > until) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      throw new Error(`did not start: ${await Deno.readTextFile(log).catch(() => "")}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    /** SIGTERM by PID; resolves with the exit code once it is gone. */
    async stop(): Promise<number> {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      return (await child.status).code;
    },
    async lines(): Promise<Line[]> {
      const text = await Deno.readTextFile(log);
      return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
    },
  };
}

/** A fake CDN: 200 for every HEAD/GET (the health checker's canary included). */
function fakeCdn() {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response(null, { status: 200 }),
  );
  return { url: `http://127.0.0.1:${server.addr.port}/r/`, stop: () => server.shutdown() };
}

const drain = async (p: Promise<Response>) => {
  const res = await p;
  await res.arrayBuffer();
  return res;
};

Deno.test({
  name: "e2e observability: access log, /metrics on metrics.listen, promtool, flush on SIGTERM",
  ignore: !binaryExists(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const f: Fixture = await makeFixture();
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-obs-" });
    const cdn = fakeCdn();
    const metricsPort = freePort();
    const reg = await serveToFile(
      {
        store: f.root,
        origins: [{ name: "edge", url: cdn.url }],
        metrics: { listen: `127.0.0.1:${metricsPort}` },
      },
      tmp,
      `${tmp}/serve.log`,
    );
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    const blob = `/v2/library/alpine/blobs/${f.layer.digest}`;
    const N = 5;
    let notFoundBytes = -1;
    try {
      // A marker: lines before it (the start-up probes) are not part of the sequence.
      await drain(fetch(`${reg.url}/start-marker`));
      for (let i = 0; i < N; i++) {
        await drain(fetch(`${reg.url}/v2/library/alpine/manifests/latest`));
        const r = await drain(fetch(`${reg.url}${blob}`, { redirect: "manual" }));
        assert.equal(r.status, 307);
        await drain(fetch(`${reg.url}${blob}`, { method: "HEAD" }));
        const nf = await fetch(`${reg.url}/v2/nope/manifests/x?token=s3cr3t`);
        notFoundBytes = (await nf.arrayBuffer()).byteLength;
        await drain(fetch(`${reg.url}/healthz`));
      }

      await t.step("metrics.listen: /metrics there only; counts equal the requests", async () => {
        const main = await drain(fetch(`${reg.url}/metrics`));
        assert.equal(main.status, 404, "the main listener does not serve /metrics");
        const other = await drain(fetch(`${metricsUrl.replace("/metrics", "/v2/")}`));
        assert.equal(other.status, 404, "the metrics listener serves nothing else");
        const res = await fetch(metricsUrl);
        const text = await res.text();
        assert.equal(res.status, 200);
        assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
        assert.equal(requestCount(text, "manifests", 200, "GET"), N);
        assert.equal(requestCount(text, "blobs", 307, "GET"), N);
        assert.equal(requestCount(text, "blobs", 200, "HEAD"), N);
        assert.equal(requestCount(text, "manifests", 404, "GET"), N);
        assert.equal(requestCount(text, "healthz", 200, "GET") >= N, true);
        const count = (route: string) =>
          Number(
            new RegExp(
              `^static_registry_request_duration_seconds_count\\{route="${route}"\\} (\\d+)$`,
              "m",
            )
              .exec(text)?.[1],
          );
        assert.equal(count("blobs"), 2 * N, "histogram count = blob requests");
        assert.equal(count("manifests"), 2 * N);
        assert.match(text, /^static_registry_redirects_total\{origin="edge"\} 5$/m);
        assert.match(
          text,
          /^static_registry_origin_check_duration_seconds\{origin="edge"\} [0-9.e-]+$/m,
        );
        assert.match(text, /^static_registry_index_age_seconds [0-9.e-]+$/m);
        assert.match(text, /^static_registry_build_info\{version="[^"]+"\} 1$/m);

        const check = new Deno.Command("promtool", {
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
      });

      // A burst answered right before SIGTERM: the lines are still buffered when it comes.
      const BURST = 300;
      await Promise.all(
        Array.from(
          { length: BURST },
          () => drain(fetch(`${reg.url}${blob}`, { redirect: "manual" })),
        ),
      );
      assert.equal(await reg.stop(), 0);

      await t.step("the log: one line per request, the documented fields; none lost", async () => {
        const lines = await reg.lines();
        const from = lines.findIndex((l) => l.path === "/start-marker");
        assert.ok(from >= 0, "the marker request is logged");
        const seq = lines.slice(from + 1).filter((l) => l.msg === "request");
        assert.equal(seq.length, 4 * N + BURST, "4 logged requests × N + the burst; no probes");
        const strip = ({ level: _l, time: _t, msg: _m, ms, client, ...rest }: Line) => {
          assert.equal(typeof ms, "number");
          assert.equal(client, "127.0.0.1");
          return rest;
        };
        const repo = "library/alpine";
        assert.deepEqual(seq.slice(0, 4).map(strip), [
          {
            method: "GET",
            path: "/v2/library/alpine/manifests/latest",
            status: 200,
            bytes: f.alpine.size,
            repo,
          },
          { method: "GET", path: blob, status: 307, bytes: 0, repo, origin: "edge" },
          { method: "HEAD", path: blob, status: 200, bytes: 0, repo },
          {
            method: "GET",
            path: "/v2/nope/manifests/x",
            status: 404,
            bytes: notFoundBytes,
            repo: "nope",
          },
        ]);
        assert.equal(seq.slice(4 * N).filter((l) => l.status === 307).length, BURST);
        const text = await Deno.readTextFile(`${tmp}/serve.log`);
        assert.doesNotMatch(text, /s3cr3t/, "query strings are never logged");
        assert.match(text, /"msg":"stopped"/, "the last line made it too");
      });
    } finally {
      await reg.stop();
      await cdn.stop();
      await f.cleanup();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e observability: log.access false, probes at debug, metrics.listen bind error",
  ignore: !binaryExists(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const f = await makeFixture();
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-obs-" });
    try {
      const off = await serveToFile(
        { store: f.root, log: { access: false } },
        tmp,
        `${tmp}/off.log`,
      );
      await drain(fetch(`${off.url}/v2/library/alpine/manifests/latest`));
      assert.equal(await off.stop(), 0);
      assert.deepEqual((await off.lines()).filter((l) => l.msg === "request"), []);

      const debug = await serveToFile(
        { store: f.root, log: { level: "debug" } },
        tmp,
        `${tmp}/debug.log`,
      );
      await drain(fetch(`${debug.url}/healthz`));
      await drain(fetch(`${debug.url}/v2/library/alpine/manifests/latest`));
      assert.equal(await debug.stop(), 0);
      const seen = (await debug.lines()).filter((l) => l.msg === "request");
      assert.ok(seen.some((l) => l.path === "/healthz" && l.level === 20), "probe at debug");
      assert.ok(seen.some((l) => String(l.path).includes("manifests") && l.level === 30));

      const holder = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const taken = (holder.addr as Deno.NetAddr).port;
        const cfg = `${tmp}/taken.json`;
        await Deno.writeTextFile(
          cfg,
          JSON.stringify({
            store: f.root,
            listen: `127.0.0.1:${freePort()}`,
            metrics: { listen: `127.0.0.1:${taken}` },
          }),
        );
        const r = await runBinary(["serve", "--config", cfg], { timeoutMs: 20_000 });
        assert.equal(r.code, 1, r.stderr);
        assert.match(
          r.stderr,
          new RegExp(
            `metrics\\.listen: cannot listen on 127\\.0\\.0\\.1:${taken}: the port is already in use`,
          ),
        );
        assert.doesNotMatch(r.stderr, /index loaded/, "refused before the index loads");
      } finally {
        holder.close();
      }
    } finally {
      await f.cleanup();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
