/**
 * resumableBody()'s idle limit (lib/sources/resumable_body.ts), one timer per body: a body
 * that keeps sending, however long it takes in all, is never taken for stalled; a read
 * that waits longer than the limit resumes with Range from the first missing byte; and
 * no timer outlives the body (Deno's sanitizers fail a test that leaves one).
 */
import assert from "node:assert/strict";
import { resumableBody } from "../../lib/sources/resumable_body.ts";
import { DEFAULT_RETRY } from "../../lib/sources/registry_retry.ts";

const retry = { ...DEFAULT_RETRY, attempts: 3, baseMs: 1, maxMs: 2 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A 200 whose body sends `parts` with `gapMs` before each; `hangAfter`: then nothing. */
function slowResponse(parts: Uint8Array[], gapMs: number, hangAfter?: number): Response {
  let i = 0;
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const body = new ReadableStream<Uint8Array>({
    async pull(ctl) {
      if (hangAfter !== undefined && i >= hangAfter) return new Promise(() => {});
      if (i >= parts.length) return ctl.close();
      await sleep(gapMs);
      ctl.enqueue(parts[i++]);
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: { "content-length": String(total) } });
}

Deno.test("resumableBody(): a steady body longer in all than the idle limit is not stalled", async () => {
  const parts = Array.from({ length: 6 }, (_, i) => new Uint8Array([i]));
  let reopened = 0;
  // 6 × 40 ms = 240 ms in all, 40 ms between bytes: within a 100 ms idle limit.
  const body = resumableBody(slowResponse(parts, 40), {
    idleMs: 100,
    retry,
    what: "GET test",
    reopen: () => {
      reopened++;
      return Promise.reject(new Error("must not resume"));
    },
  });
  const got = new Uint8Array(await new Response(body).arrayBuffer());
  assert.deepEqual([...got], [0, 1, 2, 3, 4, 5]);
  assert.equal(reopened, 0);
});

Deno.test("resumableBody(): a read idle past the limit resumes with Range from the missing byte", async () => {
  const all = [1, 2, 3, 4].map((b) => new Uint8Array([b]));
  const ranges: number[] = [];
  const body = resumableBody(slowResponse(all, 1, 2), {
    idleMs: 80,
    retry,
    what: "GET test",
    reopen: (from) => {
      ranges.push(from);
      const rest = new Blob(all.slice(from)).stream();
      return Promise.resolve(
        new Response(rest, {
          status: 206,
          headers: { "content-range": `bytes ${from}-3/4`, "content-length": String(4 - from) },
        }),
      );
    },
  });
  const got = new Uint8Array(await new Response(body).arrayBuffer());
  assert.deepEqual([...got], [1, 2, 3, 4]);
  assert.deepEqual(ranges, [2]);
});

Deno.test("resumableBody(): a body that always stalls fails after the last attempt", async () => {
  let attempts = 1;
  const body = resumableBody(slowResponse([new Uint8Array([9]), new Uint8Array([8])], 1, 1), {
    idleMs: 50,
    retry,
    what: "GET test",
    reopen: () => {
      attempts++;
      return Promise.resolve(
        new Response(new ReadableStream({ pull: () => new Promise(() => {}) }), {
          status: 206,
          headers: { "content-range": "bytes 1-1/2" },
        }),
      );
    },
  });
  await assert.rejects(
    () => new Response(body).arrayBuffer(),
    /GET test: no data for 50 ms after 1 of 2 bytes \(attempt 3 of 3\)/,
  );
  assert.equal(attempts, 3);
});
