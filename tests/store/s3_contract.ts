/**
 * @module
 * The S3Store contract, run against every S3-compatible server the tests start
 * (s3_s3rver_test.ts, swift_test.ts): one server per test file, one step per behaviour.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { PART_SIZE, S3Store } from "../../lib/store/s3.ts";
import type { TestObjectStore } from "../helpers/s3rver.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const META = { contentType: "application/json", cacheControl: "public, max-age=10" };

/** `size` deterministic pseudo-random bytes. */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A stream of `data` in 1 MiB chunks that errors at the end, like a failed digest check. */
export function failingStream(
  data: Uint8Array,
  why = "digest mismatch",
): ReadableStream<Uint8Array> {
  const chunk = 1 << 20;
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off < data.byteLength) {
        c.enqueue(data.subarray(off, off + chunk));
        off += chunk;
      } else {
        c.error(new Error(why));
      }
    },
  });
}

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Registers a test that starts the server once, runs `steps` against it, and stops it. */
export function withObjectStore<T extends TestObjectStore>(
  name: string,
  start: () => Promise<T>,
  steps: (t: Deno.TestContext, srv: T, store: MakeStore) => Promise<void>,
) {
  Deno.test({
    name,
    sanitizeResources: false, // the SDK's keep-alive agent outlives single steps
    sanitizeOps: false,
    async fn(t) {
      const srv = await start();
      const stores: S3Store[] = [];
      const store: MakeStore = (prefix = "reg", lock = {}) => {
        const s = new S3Store({ bucket: srv.bucket, prefix, ...srv.options, lock });
        stores.push(s);
        return s;
      };
      try {
        await steps(t, srv, store);
      } finally {
        for (const s of stores) s.close();
        await srv.stop();
      }
    },
  });
}

/** What the server under test can do (s3rver is a mock with gaps). */
export interface ServerTraits {
  /** AbortMultipartUpload and ListMultipartUploads work (s3rver 3.7.1: 405). */
  abortsMultipart: boolean;
}

/** Makes an S3Store on the server's bucket under `prefix` (default "reg"). */
export type MakeStore = (
  prefix?: string,
  lock?: { ttlMs?: number; settleMs?: number; timeoutMs?: number; clockSkewMs?: number },
) => S3Store;

/** The S3Store contract as steps of `t`. */
export async function s3Contract(t: Deno.TestContext, store: MakeStore, server: ServerTraits) {
  const s = store();

  await t.step("write() then read() and stat() return the bytes, size and etag", async () => {
    await s.write("docs/a.json", enc.encode('{"a":1}\n'), META);
    const r = await s.read("docs/a.json");
    assert.equal(r.status, "ok");
    if (r.status !== "ok") return;
    assert.equal(dec.decode(r.bytes), '{"a":1}\n');
    assert.equal(r.meta.size, 8);
    assert.ok(r.meta.etag, "etag present");
    const st = await s.stat("docs/a.json");
    assert.deepEqual({ size: st?.size, etag: st?.etag }, { size: 8, etag: r.meta.etag });
  });

  await t.step(
    "read() with the current etag is not-modified; after a rewrite it is ok",
    async () => {
      const first = await s.read("docs/a.json");
      assert.equal(first.status, "ok");
      if (first.status !== "ok") return;
      assert.deepEqual(await s.read("docs/a.json", { etag: first.meta.etag }), {
        status: "not-modified",
      });
      await s.write("docs/a.json", enc.encode('{"a":2}\n'), META);
      const second = await s.read("docs/a.json", { etag: first.meta.etag });
      assert.equal(second.status, "ok");
      if (second.status !== "ok") return;
      assert.equal(dec.decode(second.bytes), '{"a":2}\n');
      assert.notEqual(second.meta.etag, first.meta.etag);
    },
  );

  await t.step(
    "open() streams a whole object or an inclusive byte range; null when missing",
    async () => {
      const data = bytesOf(3000, 7);
      await s.write("blobs/sha256/streamed", data, META);
      const all = await s.open("blobs/sha256/streamed");
      assert.equal(all?.size, 3000);
      assert.deepEqual(new Uint8Array(await new Response(all!.body).arrayBuffer()), data);
      const part = await s.open("blobs/sha256/streamed", { start: 10, end: 2999 });
      assert.equal(part?.size, 3000, "size is the whole object's");
      assert.deepEqual(
        new Uint8Array(await new Response(part!.body).arrayBuffer()),
        data.subarray(10),
      );
      assert.equal(await s.open("blobs/sha256/none"), null);
    },
  );

  await t.step("missing keys: read() is missing, stat() and head() are null", async () => {
    assert.deepEqual(await s.read("docs/nope.json"), { status: "missing" });
    assert.deepEqual(await s.read("docs/nope.json", { etag: '"abc"' }), { status: "missing" });
    assert.equal(await s.stat("docs/nope.json"), null);
    assert.equal(await s.head("docs/nope.json"), null);
  });

  await t.step("Content-Type and Cache-Control are stored (HEAD shows them)", async () => {
    const type = "application/vnd.oci.image.manifest.v1+json";
    const cache = "public, max-age=31536000, immutable";
    await s.write("blobs/sha256/m1", enc.encode("{}"), { contentType: type, cacheControl: cache });
    const h = await s.head("blobs/sha256/m1");
    assert.equal(h?.contentType, type);
    assert.equal(h?.cacheControl, cache);
    const r = await s.read("blobs/sha256/m1");
    assert.equal(r.status === "ok" && r.meta.contentType, type);
  });

  await t.step("keys live under the prefix: another prefix does not see them", async () => {
    assert.equal(s.objectKey("docs/a.json"), "reg/docs/a.json");
    assert.equal(await store("other").stat("docs/a.json"), null);
    assert.throws(() => s.objectKey("../x"), /invalid store key/);
  });

  await t.step(
    "a streamed body larger than a part goes multipart and reads back intact",
    async () => {
      const data = bytesOf(2 * PART_SIZE + 12345, 7);
      await s.write("blobs/sha256/big", new Blob([data as BlobPart]).stream(), {
        contentType: "application/octet-stream",
        cacheControl: "public, max-age=31536000, immutable",
      });
      const h = await s.head("blobs/sha256/big");
      assert.equal(h?.size, data.byteLength);
      assert.equal(h?.contentType, "application/octet-stream");
      const r = await s.read("blobs/sha256/big");
      assert.equal(r.status, "ok");
      assert.equal(r.status === "ok" && sha256(r.bytes), sha256(data));
    },
  );

  await t.step("a small Uint8Array larger than a part is uploaded too", async () => {
    const data = bytesOf(PART_SIZE + 1, 3);
    await s.write("blobs/sha256/big2", data, META);
    assert.equal((await s.stat("blobs/sha256/big2"))?.size, data.byteLength);
  });

  await t.step("a body stream that errors leaves nothing at the key (single part)", async () => {
    await assert.rejects(
      s.write("blobs/sha256/bad1", failingStream(bytesOf(300_000)), META),
      /PUT "blobs\/sha256\/bad1" failed.*digest mismatch/s,
    );
    assert.equal(await s.stat("blobs/sha256/bad1"), null);
    assert.deepEqual(await s.read("blobs/sha256/bad1"), { status: "missing" });
  });

  await t.step("a body stream that errors leaves nothing at the key (multipart)", async () => {
    // Two full parts are uploaded before the stream fails at its end.
    await assert.rejects(
      s.write("blobs/sha256/bad2", failingStream(bytesOf(2 * PART_SIZE + 100)), META),
      server.abortsMultipart
        ? /PUT "blobs\/sha256\/bad2" failed: Error: digest mismatch$/
        : /digest mismatch \(aborting the upload failed too: .*not allowed/,
    );
    assert.equal(await s.stat("blobs/sha256/bad2"), null);
    if (server.abortsMultipart) {
      const list = await s.client.send(
        new ListMultipartUploadsCommand({
          Bucket: s.bucket,
          Prefix: s.objectKey("blobs/sha256/bad2"),
        }),
      );
      assert.deepEqual(list.Uploads ?? [], [], "the multipart upload was aborted");
    }
  });

  await t.step("a failed stream does not replace an existing object", async () => {
    await assert.rejects(
      s.write("docs/a.json", failingStream(enc.encode("garbage")), META),
      /digest mismatch/,
    );
    const r = await s.read("docs/a.json");
    assert.equal(r.status === "ok" && dec.decode(r.bytes), '{"a":2}\n');
  });

  await t.step(
    "lock() excludes a concurrent locker (read-modify-write loses nothing)",
    async () => {
      const opts = { settleMs: 300, ttlMs: 4000 };
      const a = store("reg", opts), b = store("reg", opts);
      await s.write("docs/counter", enc.encode("0"), META);
      const spans: [number, number][] = [];
      const bump = async (st: S3Store) => {
        const release = await st.lock("counter");
        const from = performance.now();
        try {
          const r = await st.read("docs/counter");
          const n = r.status === "ok" ? Number(dec.decode(r.bytes)) : NaN;
          await new Promise((res) => setTimeout(res, 100)); // widen the race window
          await st.write("docs/counter", enc.encode(String(n + 1)), META);
        } finally {
          spans.push([from, performance.now()]);
          await release();
        }
      };
      await Promise.all([a, b, a, b].map(bump));
      const r = await s.read("docs/counter");
      assert.equal(r.status === "ok" && dec.decode(r.bytes), "4");
      spans.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) {
        assert.ok(
          spans[i][0] >= spans[i - 1][1],
          `critical sections overlap: ${JSON.stringify(spans)}`,
        );
      }
      assert.equal(await s.stat(".locks/counter"), null, "released lease is deleted");
    },
  );

  await t.step("lock() takes over a lease whose holder died long ago (expired)", async () => {
    const dead = {
      token: "dead",
      owner: "crashed-host pid 1",
      expiresAt: Date.now() - 120_000,
      seq: 3,
    };
    await s.write(".locks/stale", enc.encode(JSON.stringify(dead)), META);
    const t0 = performance.now();
    const release = await store("reg", { settleMs: 300, ttlMs: 5000, clockSkewMs: 1000 })
      .lock("stale");
    assert.ok(performance.now() - t0 < 3000, "took over without waiting for a ttl");
    await release();
  });

  await t.step(
    "lock() takes over an unrenewed lease after ttl, trusting no wall clock",
    async () => {
      // expiresAt far in the future (a skewed clock), but nobody renews it.
      const frozen = {
        token: "frozen",
        owner: "vm pid 2",
        expiresAt: Date.now() + 3600_000,
        seq: 0,
      };
      await s.write(".locks/frozen", enc.encode(JSON.stringify(frozen)), META);
      const t0 = performance.now();
      const release = await store("reg", { settleMs: 300, ttlMs: 1500 }).lock("frozen");
      const waited = performance.now() - t0;
      assert.ok(waited >= 1500 && waited < 8000, `waited ${waited} ms`);
      await release();
    },
  );

  await t.step("lock() waits for a live holder and gives up with an error naming it", async () => {
    const holder = store("reg", { settleMs: 300, ttlMs: 900 });
    const release = await holder.lock("busy");
    try {
      await assert.rejects(
        store("reg", { settleMs: 300, ttlMs: 900, timeoutMs: 2500 }).lock("busy"),
        /lock ".locks\/busy" is held by .* pid \d+/,
      );
    } finally {
      await release(); // renewed meanwhile: still ours
    }
  });

  await t.step("release() throws when the lease was taken over while held", async () => {
    const holder = store("reg", { settleMs: 300, ttlMs: 30_000 });
    const release = await holder.lock("stolen");
    const thief = { token: "thief", owner: "other pid 3", expiresAt: Date.now() + 30_000, seq: 0 };
    await s.write(".locks/stolen", enc.encode(JSON.stringify(thief)), META);
    await assert.rejects(
      release(),
      /lock ".locks\/stolen" was lost while held: taken over by other pid 3/,
    );
    await s.delete(".locks/stolen");
  });
}
