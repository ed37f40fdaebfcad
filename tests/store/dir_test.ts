import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { hostname } from "node:os";
import { checkKey, DirStore } from "../../lib/store/dir.ts";

const meta = { contentType: "application/octet-stream", cacheControl: "no-cache" };
const bytes = (s: string) => new TextEncoder().encode(s);

async function withStore(fn: (s: DirStore, root: string) => Promise<void>) {
  const root = await Deno.makeTempDir({ prefix: "dirstore-" });
  try {
    await fn(new DirStore(root, { lockTimeoutMs: 300 }), root);
  } finally {
    await fs.rm(root, { recursive: true, force: true });
  }
}

Deno.test("DirStore.write() then read() and stat() round-trip", () =>
  withStore(async (s) => {
    await s.write("a/b/c.json", bytes("hello"), meta);
    const r = await s.read("a/b/c.json");
    assert.equal(r.status, "ok");
    if (r.status === "ok") assert.equal(new TextDecoder().decode(r.bytes), "hello");
    assert.equal((await s.stat("a/b/c.json"))?.size, 5);
    assert.equal(await s.stat("a/b"), null, "a directory is not an object");
    assert.deepEqual(await s.read("nope"), { status: "missing" });
  }));

Deno.test("DirStore.read() answers not-modified for the current etag", () =>
  withStore(async (s) => {
    await s.write("k", bytes("v1"), meta);
    const st = await s.stat("k");
    assert.deepEqual(await s.read("k", { etag: st!.etag }), { status: "not-modified" });
    assert.equal((await s.read("k", { etag: '"other"' })).status, "ok");
  }));

Deno.test("DirStore.write() of a failing stream leaves nothing visible and no temp file", () =>
  withStore(async (s, root) => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes("partial"));
        c.error(new Error("digest mismatch"));
      },
    });
    await assert.rejects(s.write("blobs/x", body, meta), /digest mismatch/);
    assert.equal(await s.stat("blobs/x"), null);
    assert.deepEqual(await fs.readdir(path.join(root, ".tmp")), []);
  }));

Deno.test("DirStore.open() streams a whole object or an inclusive byte range", () =>
  withStore(async (s) => {
    await s.write("blob", bytes("0123456789"), meta);
    const all = await s.open("blob");
    assert.equal(await new Response(all!.body).text(), "0123456789");
    const part = await s.open("blob", { start: 2, end: 4 });
    assert.equal(await new Response(part!.body).text(), "234");
    assert.equal(part!.size, 10);
    assert.equal(await s.open("missing"), null);
  }));

Deno.test("checkKey() refuses keys that could leave the root", () => {
  for (const k of ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a\\b", "a\0b"]) {
    assert.throws(() => checkKey(k), /invalid store key/, JSON.stringify(k));
  }
  assert.equal(checkKey("blobs/sha256/ab"), "blobs/sha256/ab");
});

Deno.test("DirStore.lock() excludes a second holder until released", () =>
  withStore(async (s) => {
    const release = await s.lock("repo:a");
    await assert.rejects(s.lock("repo:a"), /lock "repo:a" is held by/);
    await release();
    const again = await s.lock("repo:a");
    await again();
  }));

Deno.test("DirStore.lock() takes over a lock left by a dead process", () =>
  withStore(async (s, root) => {
    const child = new Deno.Command("true").spawn();
    await child.status; // its PID is now free
    await fs.mkdir(path.join(root, ".locks"), { recursive: true });
    await fs.writeFile(path.join(root, ".locks", "catalog.lock"), `${hostname()} ${child.pid}`);
    const release = await s.lock("catalog");
    await release();
  }));

Deno.test("DirStore.lock() passes over a takeover claim whose claimant died", () =>
  withStore(async (s, root) => {
    const child = new Deno.Command("true").spawn();
    await child.status; // its PID is now free: the planted holder and claimant are dead
    const locks = path.join(root, ".locks");
    await fs.mkdir(locks, { recursive: true });
    const token = crypto.randomUUID();
    await fs.writeFile(path.join(locks, "catalog.lock"), `${hostname()} ${child.pid} ${token}`);
    await fs.writeFile(path.join(locks, `catalog.lock.${token}.0`), `${hostname()} ${child.pid}`);
    const release = await s.lock("catalog");
    const held = await fs.readFile(path.join(locks, "catalog.lock"), "utf8");
    assert.match(held, new RegExp(`^${hostname()} ${Deno.pid} `));
    await release();
    assert.deepEqual(await fs.readdir(locks), [], "claims and lock removed");
  }));

Deno.test("DirStore.lock(): of many waiters on one stale lock exactly one holds it at a time", () =>
  withStore(async (_s, root) => {
    const child = new Deno.Command("true").spawn();
    await child.status;
    const locks = path.join(root, ".locks");
    await fs.mkdir(locks, { recursive: true });
    await fs.writeFile(path.join(locks, "repo:a.lock"), `${hostname()} ${child.pid}`);
    let inside = 0;
    let most = 0;
    const store = new DirStore(root, { lockTimeoutMs: 10_000 });
    await Promise.all(Array.from({ length: 20 }, async () => {
      const release = await store.lock("repo:a");
      most = Math.max(most, ++inside);
      await new Promise((r) => setTimeout(r, 2));
      inside--;
      await release();
    }));
    assert.equal(most, 1);
  }));
