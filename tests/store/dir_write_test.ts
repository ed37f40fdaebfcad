/**
 * DirStore.write()'s fast path (issue 13): chunks gathered into ~1 MiB synchronous writev
 * calls, and directories remembered once made. What must hold: every byte lands in order
 * whatever the chunking, and a directory removed behind the store's back (gc empties
 * `blobs/…`, someone clears `.tmp`) is made again rather than failing the write.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { DirStore, writeAll } from "../../lib/store/dir.ts";

const meta = { contentType: "application/octet-stream", cacheControl: "no-cache" };

async function withStore(fn: (s: DirStore, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "dirstore-write-" });
  try {
    await fn(new DirStore(root), root);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

/** `total` pseudo-random bytes (so a reordered or dropped chunk shows). */
function pattern(total: number): Uint8Array {
  const out = new Uint8Array(total);
  let x = 0x9e3779b9;
  for (let i = 0; i < total; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A stream of `bytes` cut at `sizes` (cycled), with empty chunks in between. */
function chunked(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(ctl) {
      if (at >= bytes.byteLength) return ctl.close();
      if (i % 7 === 3) ctl.enqueue(new Uint8Array(0));
      const n = sizes[i++ % sizes.length];
      ctl.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

Deno.test("DirStore.write() keeps every byte in order across 1 MiB batch boundaries", () =>
  withStore(async (s, root) => {
    // 3.5 MiB in odd chunk sizes: batches end mid-chunk-sequence, the last one is partial.
    const bytes = pattern(3.5 * 1024 * 1024 + 17);
    await s.write("blobs/sha256/aa", chunked(bytes, [65_536, 1, 100_003, 7_777]), meta);
    const got = await fs.readFile(path.join(root, "blobs/sha256/aa"));
    assert.equal(got.byteLength, bytes.byteLength);
    assert.ok(Buffer.compare(got, bytes) === 0, "content differs");
    assert.deepEqual(await fs.readdir(path.join(root, ".tmp")), [], "no temp file left");
  }));

Deno.test("writeAll() writes every buffer, skipping empty ones", async () => {
  const dir = await Deno.makeTempDir({ prefix: "writeall-" });
  try {
    const file = path.join(dir, "f");
    const fh = await fs.open(file, "w");
    const parts = [pattern(10), new Uint8Array(0), pattern(300_000), pattern(1)];
    writeAll(fh.fd, parts);
    await fh.close();
    const got = await fs.readFile(file);
    assert.equal(got.byteLength, 300_011);
    assert.ok(Buffer.compare(got.subarray(10, 300_010), parts[2]) === 0);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

Deno.test("DirStore.write() makes again a directory removed after an earlier write", () =>
  withStore(async (s, root) => {
    await s.write("blobs/sha256/aa", new Uint8Array([1]), meta);
    // What gc does to an emptied directory, and what clearing the temp directory does.
    await fs.rm(path.join(root, "blobs"), { recursive: true });
    await fs.rm(path.join(root, ".tmp"), { recursive: true });
    await s.write("blobs/sha256/bb", new Uint8Array([2]), meta);
    assert.deepEqual([...await fs.readFile(path.join(root, "blobs/sha256/bb"))], [2]);
    await s.write("blobs/sha256/cc", chunked(pattern(2_000_000), [65_536]), meta);
    assert.equal((await s.stat("blobs/sha256/cc"))?.size, 2_000_000);
  }));
