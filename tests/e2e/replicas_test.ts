/**
 * @module
 * Replicas (issue 13): three COMPILED servers on one S3 store (s3rver) behind nginx as the
 * load balancer, blobs from an nginx edge in front of the bucket.
 * - a publish is visible through every replica within one refresh interval;
 * - SIGKILL of one replica during a pull loop costs no pull (nginx retries the request on
 *   the next replica: `proxy_next_upstream`);
 * - a replica started while the store is unreachable answers 503 on /readyz, then becomes
 *   ready and serves once the store is back (here: a TCP forwarder to s3rver, started late).
 */
import assert from "node:assert/strict";
import { OCI_INDEX, OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";
import { type RunningRegistry, startRegistry } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { type Nginx, startNginx } from "../helpers/nginx.ts";
import { freePort } from "../helpers/ports.ts";
import { startS3rver, type TestObjectStore } from "../helpers/s3rver.ts";
import { poll, publishWithConfig } from "./cdn_helpers.ts";

const REFRESH_MS = 1000;
const ACCEPT = [OCI_MANIFEST, OCI_INDEX].join(", ");

/** A pull as a client makes it: the manifest, then every blob through its 307, digests checked. */
async function pull(base: string, repo: string, tag: string): Promise<void> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, {
    headers: { Accept: ACCEPT },
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `manifest ${repo}:${tag}: ${text}`);
  const m = JSON.parse(text);
  for (const d of [m.config, ...m.layers]) {
    const blob = await fetch(`${base}/v2/${repo}/blobs/${d.digest}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const bytes = new Uint8Array(await blob.arrayBuffer());
    assert.equal(blob.status, 200, `blob ${d.digest}`);
    const hex = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    assert.equal(`sha256:${hex}`, d.digest);
  }
}

/** A TCP forwarder 127.0.0.1:port → target, started and stopped at will. */
function forwarder(port: number, target: number) {
  let listener: Deno.Listener | undefined;
  const conns = new Set<Deno.Conn>();
  return {
    start() {
      listener = Deno.listen({ hostname: "127.0.0.1", port });
      (async () => {
        for await (const c of listener!) {
          conns.add(c);
          Deno.connect({ hostname: "127.0.0.1", port: target }).then((up) => {
            conns.add(up);
            const close = () => {
              for (const x of [c, up]) {
                try {
                  x.close();
                } catch { /* closed */ }
                conns.delete(x);
              }
            };
            Promise.allSettled([c.readable.pipeTo(up.writable), up.readable.pipeTo(c.writable)])
              .then(close);
          }, () => c.close());
        }
      })().catch(() => {});
    },
    stop() {
      listener?.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* closed */ }
      }
      conns.clear();
    },
  };
}

Deno.test({
  name: "e2e replicas: three servers on one S3 store behind nginx",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-replicas-" });
    const stops: (() => Promise<void> | void)[] = [];
    try {
      const s3: TestObjectStore = await startS3rver();
      stops.push(() => s3.stop());
      const store = `s3://${s3.bucket}/reg`;
      const cfgPath = `${tmp}/publish.json`;
      await Deno.writeTextFile(cfgPath, JSON.stringify({ store, s3: s3.s3Config() }));
      await makeOciLayout(`${tmp}/a`, { tag: "v1", layers: 3, seed: "replica-a" });
      await makeOciLayout(`${tmp}/b`, { tag: "v1", layers: 2, seed: "replica-b" });
      await publishWithConfig(`${tmp}/a`, "v1", "team/a:v1", store, cfgPath);

      const edge: Nginx = await startNginx({
        mode: "cdn",
        upstream: `${s3.endpoint}/${s3.bucket}/reg`,
      });
      stops.push(() => edge.close());
      const serverConfig = (endpoint: string) => ({
        store,
        s3: s3.s3Config(endpoint),
        origins: [{ name: "edge", url: edge.url }],
        refresh: { interval: `${REFRESH_MS}ms` },
        health: { interval: "500ms", timeout: "400ms", rise: 1, fall: 1 },
      });
      const replicas: RunningRegistry[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await startRegistry({ config: serverConfig(s3.endpoint) });
        replicas.push(r);
        stops.push(() => r.stop());
      }
      for (const r of replicas) {
        const { value } = await poll(
          async () => (await fetch(`${r.url}/readyz`)).status === 200,
          5000,
        );
        assert.ok(value, `${r.url} ready`);
      }
      const lb: Nginx = await startNginx({
        mode: "balancer",
        upstreams: replicas.map((r) => r.url),
      });
      stops.push(() => lb.close());
      await pull(lb.url, "team/a", "v1");

      await t.step(
        "a publish is visible through every replica within one refresh interval",
        async () => {
          const t0 = Date.now();
          await publishWithConfig(`${tmp}/b`, "v1", "team/b:v1", store, cfgPath);
          const published = Date.now();
          const seen = await Promise.all(replicas.map(async (r) => {
            const { value, elapsedMs } = await poll(
              async () => {
                const res = await fetch(`${r.url}/v2/team/b/manifests/v1`, {
                  headers: { Accept: ACCEPT },
                });
                await res.body?.cancel();
                return res.status === 200;
              },
              3 * REFRESH_MS,
              25,
            );
            assert.ok(value, `${r.url} never served team/b:v1`);
            return elapsedMs;
          }));
          // Visible at most one interval (plus a refresh's own reads) after the publish ended.
          for (const ms of seen) {
            assert.ok(
              ms <= REFRESH_MS + 500,
              `seen after ${ms} ms (publish took ${published - t0} ms)`,
            );
          }
          await pull(lb.url, "team/b", "v1");
        },
      );

      await t.step("SIGKILL of one replica during a pull loop costs no pull", async () => {
        // The kill is placed by the loop's progress, not by a timer: on a fast machine three
        // loops of a dozen pulls finished before a 150 ms timer fired, so no pull met the dead
        // replica (CI, 2026-12-02). Each loop pulls until it has made 8 pulls after the kill.
        let pulls = 0;
        let killed = false;
        let afterKill = 0;
        const failures: string[] = [];
        const loop = async () => {
          let mine = 0;
          for (let i = 0; mine < 8 && i < 500; i++) {
            const wasKilled = killed;
            try {
              await pull(lb.url, i % 2 ? "team/a" : "team/b", "v1");
              pulls++;
              if (wasKilled) afterKill++;
            } catch (e) {
              failures.push((e as Error).message);
            }
            if (wasKilled) mine++;
          }
        };
        const loops = [loop(), loop(), loop()];
        const { value: started } = await poll(() => Promise.resolve(pulls >= 3), 10_000, 5);
        assert.ok(started, "the pull loops made progress before the kill");
        Deno.kill(replicas[1].pid, "SIGKILL");
        killed = true;
        await Promise.all(loops);
        assert.deepEqual(failures, []);
        assert.equal(afterKill, 24, "every pull begun after the kill succeeded");
        // nginx saw the dead replica (its error log says so): pulls did meet it.
        const errors = await Deno.readTextFile(`${lb.dir}/error.log`);
        assert.match(
          errors,
          /refused|reset|prematurely/,
          "the balancer retried past the dead replica",
        );
      });

      await t.step(
        "a replica started while the store is unreachable becomes ready when it returns",
        async () => {
          const port = freePort();
          const s3port = Number(new URL(s3.endpoint).port);
          const fwd = forwarder(port, s3port);
          stops.push(() => fwd.stop());
          const late = await startRegistry({ config: serverConfig(`http://127.0.0.1:${port}`) });
          stops.push(() => late.stop());
          const before = await fetch(`${late.url}/readyz`);
          const body = await before.json();
          assert.equal(before.status, 503, JSON.stringify(body));
          const m = await fetch(`${late.url}/v2/team/a/manifests/v1`, {
            headers: { Accept: ACCEPT },
          });
          await m.body?.cancel();
          assert.equal(m.status, 503, "no index yet: unavailable, not 'unknown'");
          fwd.start();
          const { value } = await poll(
            async () => (await fetch(`${late.url}/readyz`)).status === 200,
            4 * REFRESH_MS,
            50,
          );
          assert.ok(value, "ready once the store answers");
          await pull(late.url, "team/a", "v1");
          await pull(late.url, "team/b", "v1");
        },
      );
    } finally {
      for (const stop of stops.reverse()) await stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
