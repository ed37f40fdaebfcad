/**
 * @module
 * End-to-end: `rateLimit` through the COMPILED binary (docs/AUTH.md §rateLimit). With
 * `{perClient: "20/s", burst: 20}` a bounded loop of requests from 127.0.0.1 gets its 20
 * at once, then 429 TOOMANYREQUESTS (distribution-spec §"Error Codes") with an integer
 * `Retry-After` ≥ 1 (RFC 9110 §10.2.3); while that client is refused, another address
 * (`curl --interface 127.0.0.2`) is not, and neither are `/healthz`, `/readyz` and
 * `/metrics`; after waiting `Retry-After` the first client gets 200s again. Then SIGTERM
 * stops the process at once although this file's keep-alive connections are still open.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { run } from "../helpers/process.ts";
import { publish } from "./fixture.ts";

const BURST = 20;
/** Most requests of the first loop: it stops at three 429s in a row. */
const LOOP = 200;

/** One answer: status, Retry-After, and the body of a 429. */
async function get(
  url: string,
): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  const body = res.status === 429 ? await res.text() : "";
  if (res.status !== 429) await res.body?.cancel();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body };
}

Deno.test({
  name: "e2e rate limit: 429 with Retry-After past the burst, per client address, health exempt",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-ratelimit-" });
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 1, seed: "rate-limit" });
      await publish(`${tmp}/src`, "v1", "rl/hello:v1", store);
      // Ready on /healthz: waiting on /v2/ would spend the burst under test.
      const reg = await startRegistry({
        config: { store, rateLimit: { perClient: "20/s", burst: BURST } },
        readyPath: "/healthz",
      });
      try {
        const ping = `${reg.url}/v2/`;
        let retryAfter = 0;
        await t.step("127.0.0.1: the burst passes, then 429 TOOMANYREQUESTS", async () => {
          const got: Awaited<ReturnType<typeof get>>[] = [];
          // Until a few 429s in a row (a slow moment may refill a token between two).
          const refusedThrice = () =>
            got.length >= 3 && got.slice(-3).every((g) => g.status === 429);
          for (let i = 0; i < LOOP && !refusedThrice(); i++) {
            got.push(await get(ping));
          }
          const statuses = got.map((g) => g.status);
          assert.deepEqual(statuses.slice(0, BURST), Array(BURST).fill(200), `${statuses}`);
          const first = statuses.indexOf(429);
          assert.ok(first >= BURST, `no 429 in ${statuses.length} requests: ${statuses}`);
          assert.deepEqual(new Set(statuses), new Set([200, 429]), `${statuses}`);
          assert.equal(statuses.at(-1), 429, "the loop ends refused (next steps need it)");
          for (const g of got.filter((g) => g.status === 429)) {
            assert.match(g.retryAfter ?? "", /^[1-9][0-9]*$/, "Retry-After: whole seconds ≥ 1");
            assert.equal(JSON.parse(g.body).errors[0].code, "TOOMANYREQUESTS");
          }
          retryAfter = Number(got.at(-1)!.retryAfter);
        });

        await t.step("health endpoints are never limited, even for a refused client", async () => {
          for (const path of ["/healthz", "/readyz", "/metrics"]) {
            for (let i = 0; i < 15; i++) {
              assert.equal((await get(`${reg.url}${path}`)).status, 200, `${path} #${i}`);
            }
          }
        });

        await t.step("another client address (127.0.0.2) is unaffected", async () => {
          // Spend 127.0.0.1's bucket again (the health step let it refill a little), so a
          // shared bucket would refuse most of the 127.0.0.2 requests below.
          let refused = false;
          for (let i = 0; i < 2 * BURST && !refused; i++) {
            refused = (await get(ping)).status === 429;
          }
          assert.ok(refused, "127.0.0.1 is refused before 127.0.0.2 asks");
          const n = 10;
          const r = await run("curl", [
            ...["-s", "--interface", "127.0.0.2", "-w", "%{http_code}\\n"],
            ...Array(n).fill(ping).flatMap((u) => ["-o", "/dev/null", u]),
          ], { timeoutMs: 15_000 });
          assert.equal(r.code, 0, r.stderr);
          assert.deepEqual(r.stdout.trim().split("\n"), Array(n).fill("200"));
        });

        await t.step("after Retry-After, 127.0.0.1 gets 200s again", async () => {
          await new Promise((r) => setTimeout(r, retryAfter * 1000));
          for (let i = 0; i < 5; i++) assert.equal((await get(ping)).status, 200, `#${i}`);
        });

        // This file's fetch connections are still open, idle: a SIGTERM must not wait for
        // them (it did, on Bun 1.4.4, until the 10 s stop grace SIGKILLed the process:
        // lib/runtime/runtime.ts drainBun). In-flight requests still finish: tests/reliability.
        await t.step(
          "SIGTERM with idle keep-alive connections open: exit 0 within 5 s",
          async () => {
            Deno.kill(reg.pid, "SIGTERM");
            const code = await Promise.race([
              reg.exited,
              new Promise<string>((r) => setTimeout(() => r("still running after 5 s"), 5000)),
            ]);
            assert.equal(code, 0, reg.logs().slice(-2000));
            assert.match(reg.logs(), /"msg":"stopped"/);
          },
        );
      } catch (e) {
        console.error(reg.logs().slice(-4000));
        throw e;
      } finally {
        await reg.stop();
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
