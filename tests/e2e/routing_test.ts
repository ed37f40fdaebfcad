/**
 * @module
 * End-to-end client routing and stream egress: the COMPILED binary, real nginx origins, a
 * real s3rver and an nginx-served HTTP store, and requests from several loopback source
 * addresses (`curl --interface 127.0.0.2`, `127.0.0.3`, `::1`; the server listens on
 * `[::]`, so IPv4 clients arrive IPv4-mapped, `::ffff:127.0.0.2`). Checked per source:
 * the origin of the Location, failover to the default order when the rule's origin is
 * stopped (by PID), streamed bytes (whole and a Range) from a directory, S3 and HTTP
 * store, the stream fallback when every origin is down, and 503 without it.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { S3Store } from "../../lib/store/s3.ts";
import { type RunningRegistry, startRegistry } from "../helpers/binary.ts";
import { type Nginx, startNginx } from "../helpers/nginx.ts";
import { freePort } from "../helpers/ports.ts";
import { startS3rver, type TestObjectStore } from "../helpers/s3rver.ts";
import { printFailureLogs, publishedStore } from "./fixture.ts";

const HEALTH = { interval: "300ms", timeout: "200ms", rise: 1, fall: 1 };

/** One GET with curl from source address `from`: status, headers and the body's bytes. */
async function curl(
  from: string,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string | null; body: Uint8Array; raw: string }> {
  const out = await Deno.makeTempFile({ prefix: "sr-curl-" });
  try {
    const args = ["-sS", "-g", "--interface", from, "-o", out, "-D", "-", "--max-time", "20"];
    for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
    const r = await new Deno.Command("curl", { args: [...args, url], stderr: "piped" }).output();
    const raw = new TextDecoder().decode(r.stdout);
    assert.equal(r.code, 0, `curl ${url} from ${from}: ${new TextDecoder().decode(r.stderr)}`);
    const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(raw)?.[1]);
    const location = /^location: (.*)\r$/im.exec(raw)?.[1] ?? null;
    return { status, location, body: await Deno.readFile(out), raw };
  } finally {
    await Deno.remove(out);
  }
}

/** Retries `check` until it passes (the health checker needs a round to see a change). */
async function eventually(what: string, check: () => Promise<void>, ms = 8000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** The registry at `[::]:port`, reached as 127.0.0.1 by default. */
async function serveAll(config: Record<string, unknown>): Promise<RunningRegistry> {
  return await startRegistry({ config: { listen: `[::]:${freePort()}`, ...config } });
}

/** Every file under `dir`, relative, `/`-separated. */
async function filesUnder(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(path.join(dir, rel))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await filesUnder(dir, r));
    else if (e.isFile) out.push(r);
  }
  return out;
}

Deno.test({
  name: "e2e: routing by client address, failover, stream egress and fallback",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-routing-" });
    const stops: (() => Promise<unknown>)[] = [];
    const regs: RunningRegistry[] = [];
    try {
      const { store, fx } = await publishedStore(tmp);
      const layer = fx.single.image.manifests[0].layers[0];
      const want = await Deno.readFile(`${store}/blobs/sha256/${layer.digest.slice(7)}`);
      assert.equal(want.byteLength, layer.size);
      const blob = `/v2/${fx.single.repo}/blobs/${layer.digest}`;
      const key = `/blobs/sha256/${layer.digest.slice(7)}`;
      const cdn: Nginx = await startNginx({ mode: "static", root: store });
      stops.push(() => cdn.close());
      const dc: Nginx = await startNginx({ mode: "static", root: store });
      stops.push(() => dc.close());

      const reg = await serveAll({
        store,
        origins: [{ name: "cdn", url: cdn.url }, { name: "dc", url: dc.url }],
        routing: [
          { clients: ["127.0.0.2/32", "::1"], origins: ["dc"] },
          { clients: ["127.0.0.3"], stream: true },
        ],
        fallback: "stream",
        health: HEALTH,
      });
      regs.push(reg);
      const v4 = `http://127.0.0.1:${reg.port}${blob}`;
      const v6 = `http://[::1]:${reg.port}${blob}`;

      await t.step("each source address gets its rule's origin", async () => {
        await eventually("both origins healthy", async () => {
          assert.equal((await curl("127.0.0.1", v4)).location, `${cdn.url}${key}`);
          assert.equal((await curl("127.0.0.2", v4)).location, `${dc.url}${key}`);
        });
        const six = await curl("::1", v6);
        assert.equal(six.status, 307);
        assert.equal(six.location, `${dc.url}${key}`, "IPv6 ::1 matches its rule");
      });

      await t.step(
        "a stream rule's client gets the bytes from the server, and a Range",
        async () => {
          const whole = await curl("127.0.0.3", v4);
          assert.equal(whole.status, 200, whole.raw);
          assert.deepEqual(whole.body, want);
          const part = await curl("127.0.0.3", v4, { Range: "bytes=5-104" });
          assert.equal(part.status, 206);
          assert.match(part.raw, new RegExp(`content-range: bytes 5-104/${layer.size}`, "i"));
          assert.deepEqual(part.body, want.subarray(5, 105));
        },
      );

      await t.step("the rule's origin stopped: the default order", async () => {
        await dc.stop();
        await eventually("dc down", async () => {
          assert.equal((await curl("127.0.0.2", v4)).location, `${cdn.url}${key}`);
        });
        assert.equal((await curl("::1", v6)).location, `${cdn.url}${key}`);
        await dc.start();
        await eventually("dc back", async () => {
          assert.equal((await curl("127.0.0.2", v4)).location, `${dc.url}${key}`);
        });
      });

      await t.step("every origin down: the fallback streams from the directory", async () => {
        await dc.stop();
        await cdn.stop();
        await eventually("all down", async () => {
          const r = await curl("127.0.0.1", v4);
          assert.equal(r.status, 200, r.raw);
          assert.deepEqual(r.body, want);
        });
        const r2 = await curl("127.0.0.2", v4);
        assert.equal(r2.status, 200, "rule clients fall back too");
        assert.deepEqual(r2.body, want);
      });

      // S3: the same store copied into s3rver; its only origin is dead.
      const s3: TestObjectStore = await startS3rver();
      stops.push(() => s3.stop());
      const s3store = new S3Store({ bucket: s3.bucket, prefix: "reg", ...s3.options });
      for (const f of await filesUnder(store)) {
        if (f.startsWith(".")) continue;
        await s3store.write(f, await Deno.readFile(`${store}/${f}`), {
          contentType: "application/octet-stream",
          cacheControl: "no-store",
        });
      }
      s3store.close();
      const dead = `http://127.0.0.1:${freePort()}`;
      const s3reg = await serveAll({
        store: `s3://${s3.bucket}/reg`,
        s3: s3.s3Config(),
        origins: [{ name: "dead", url: dead }],
        routing: [{ clients: ["127.0.0.3"], stream: true }],
        fallback: "stream",
        health: HEALTH,
      });
      regs.push(s3reg);

      await t.step("S3 store: stream rule and fallback send the bytes, with a Range", async () => {
        const url = `http://127.0.0.1:${s3reg.port}${blob}`;
        const whole = await curl("127.0.0.3", url);
        assert.equal(whole.status, 200, whole.raw);
        assert.deepEqual(whole.body, want);
        const part = await curl("127.0.0.3", url, { Range: `bytes=100-${layer.size - 1}` });
        assert.equal(part.status, 206, part.raw);
        assert.deepEqual(part.body, want.subarray(100));
        await eventually("dead origin seen down", async () => {
          const fb = await curl("127.0.0.1", url);
          assert.equal(fb.status, 200, fb.raw);
          assert.deepEqual(fb.body, want);
        });
      });

      // HTTP store: nginx serves the directory; no fallback, so 503 for the others.
      const web: Nginx = await startNginx({ mode: "static", root: store });
      stops.push(() => web.close());
      const httpReg = await serveAll({
        store: web.url,
        origins: [{ name: "dead", url: dead }],
        routing: [{ clients: ["127.0.0.3"], stream: true }],
        health: HEALTH,
      });
      regs.push(httpReg);

      await t.step("HTTP store: a stream rule streams; without fallback, 503", async () => {
        const url = `http://127.0.0.1:${httpReg.port}${blob}`;
        const whole = await curl("127.0.0.3", url);
        assert.equal(whole.status, 200, whole.raw);
        // The route sets Content-Length, but Bun.serve strips it from every stream body and
        // frames it chunked (oven-sh/bun#10507, open): the length is enforced by the route
        // instead (a short upstream aborts the chunked body without its last chunk, which
        // curl reports as an error: exit status checked in curl()).
        assert.match(
          whole.raw,
          new RegExp(`content-length: ${layer.size}\r|transfer-encoding: chunked\r`, "i"),
        );
        assert.deepEqual(whole.body, want);
        const part = await curl("127.0.0.3", url, { Range: "bytes=0-9" });
        assert.equal(part.status, 206);
        assert.deepEqual(part.body, want.subarray(0, 10));
        const other = await curl("127.0.0.1", url);
        assert.equal(other.status, 503, other.raw);
        assert.match(new TextDecoder().decode(other.body), /"UNAVAILABLE"/);
      });
    } catch (e) {
      printFailureLogs(regs);
      throw e;
    } finally {
      for (const r of regs) await r.stop();
      for (const s of stops.reverse()) await s();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
