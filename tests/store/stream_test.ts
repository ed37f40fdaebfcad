/**
 * @module
 * StreamStore.open() of the S3 and HTTP stores as the server's blob streaming uses it:
 * the body is the upstream's stream (cancelling it aborts the upstream request: the
 * client went away), a 206 must be for the range asked for, and S3 ranges from s3rver
 * come back exact.
 */
import assert from "node:assert/strict";
import type { S3Client } from "@aws-sdk/client-s3";
import { contentRangeTotal } from "../../lib/store/content_range.ts";
import { HttpStore } from "../../lib/store/http.ts";
import { S3Store } from "../../lib/store/s3.ts";
import { startS3rver } from "../helpers/s3rver.ts";

/** A source stream that records being cancelled, with one chunk ready and more to come. */
function endless() {
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(new Uint8Array(1024));
    },
    cancel() {
      cancelled = true;
    },
  });
  return { stream, cancelled: () => cancelled };
}

Deno.test("contentRangeTotal() takes the size only for the range asked for", () => {
  assert.equal(contentRangeTotal("bytes 0-99/1000", { start: 0, end: 99 }), 1000);
  assert.ok(Number.isNaN(contentRangeTotal("bytes 0-49/1000", { start: 0, end: 99 })));
  assert.ok(Number.isNaN(contentRangeTotal("bytes 0-99/*", { start: 0, end: 99 })));
  assert.ok(Number.isNaN(contentRangeTotal(null, { start: 0, end: 99 })));
});

Deno.test("S3Store.open(): cancelling the body aborts the GetObject", async () => {
  const src = endless();
  let signal: AbortSignal | undefined;
  const client = {
    send(_cmd: unknown, opts?: { abortSignal?: AbortSignal }) {
      signal = opts?.abortSignal;
      return Promise.resolve({
        ContentLength: 1_000_000,
        Body: { transformToWebStream: () => src.stream },
      });
    },
  } as unknown as S3Client;
  const store = new S3Store({ bucket: "b", region: "us-east-1", forcePathStyle: true, client });
  const opened = await store.open("blobs/sha256/x");
  assert.equal(opened?.size, 1_000_000);
  const reader = opened!.body.getReader();
  assert.equal((await reader.read()).value?.byteLength, 1024);
  assert.equal(signal?.aborted, false);
  await reader.cancel("client went away");
  assert.equal(signal?.aborted, true, "the request is aborted");
  assert.ok(src.cancelled(), "the SDK's stream is cancelled");
});

Deno.test("S3Store.open(): a 206 for another range is refused", async () => {
  const client = {
    send: () =>
      Promise.resolve({
        ContentRange: "bytes 0-9/100",
        Body: { transformToWebStream: () => new ReadableStream() },
      }),
  } as unknown as S3Client;
  const store = new S3Store({ bucket: "b", region: "us-east-1", forcePathStyle: true, client });
  await assert.rejects(store.open("k", { start: 10, end: 19 }), /another range/);
});

Deno.test("HttpStore.open(): cancelling the body cancels the fetch's stream", async () => {
  const src = endless();
  let signal: AbortSignal | undefined;
  const fetch = (_u: string | URL | Request, init?: RequestInit) => {
    signal = init?.signal ?? undefined;
    return Promise.resolve(
      new Response(src.stream, { status: 200, headers: { "content-length": "1000000" } }),
    );
  };
  const store = new HttpStore("http://store.test/", { fetch: fetch as typeof globalThis.fetch });
  const opened = await store.open("blobs/sha256/x");
  assert.equal(opened?.size, 1_000_000);
  const reader = opened!.body.getReader();
  await reader.read();
  await reader.cancel();
  assert.ok(src.cancelled(), "the upstream body is cancelled (fetch closes the connection)");
  assert.ok(signal, "the request had a signal");
});

Deno.test("HttpStore.open(): a 200 to a Range request, or a 206 for another range, is refused", async () => {
  for (
    const [status, headers] of [
      [200, { "content-length": "100" }],
      [206, { "content-range": "bytes 0-9/100" }],
    ] as const
  ) {
    const fetch = () => Promise.resolve(new Response("x".repeat(10), { status, headers }));
    const store = new HttpStore("http://store.test/", { fetch: fetch as typeof globalThis.fetch });
    await assert.rejects(store.open("k", { start: 10, end: 19 }), /HTTP 20[06]/);
  }
});

Deno.test({
  name: "S3Store.open() on s3rver: whole objects and exact ranges",
  sanitizeResources: false,
  async fn() {
    const s3 = await startS3rver();
    const store = new S3Store({ bucket: s3.bucket, prefix: "p", ...s3.options });
    try {
      const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 0xff);
      await store.write("blobs/sha256/abc", data, {
        contentType: "application/octet-stream",
        cacheControl: "no-store",
      });
      const all = await store.open("blobs/sha256/abc");
      assert.equal(all?.size, data.byteLength);
      assert.deepEqual(new Uint8Array(await new Response(all!.body).arrayBuffer()), data);
      const part = await store.open("blobs/sha256/abc", { start: 1000, end: 200_999 });
      assert.equal(part?.size, data.byteLength);
      assert.deepEqual(
        new Uint8Array(await new Response(part!.body).arrayBuffer()),
        data.subarray(1000, 201_000),
      );
      assert.equal(await store.open("blobs/sha256/missing"), null);
    } finally {
      store.close();
      await s3.stop();
    }
  },
});
