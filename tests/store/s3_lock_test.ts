/**
 * @module
 * The lease lock's algorithm (lib/store/s3_lock.ts) against an in-memory object store with
 * injected latencies: mutual exclusion under contention, and what happens when a contender
 * breaks Fischer's timing bound (its write lands after another contender's read-back).
 */
import assert from "node:assert/strict";
import { acquireLease, type LeaseIO } from "../../lib/store/s3_lock.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A strongly consistent key-value store; `delay(op)` is each operation's latency. */
function memoryIO(delay: (op: "get" | "put" | "delete") => number = () => 0) {
  const objects = new Map<string, Uint8Array>();
  const io: LeaseIO = {
    async get(k) {
      await sleep(delay("get"));
      return objects.get(k) ?? null;
    },
    async put(k, b) {
      await sleep(delay("put"));
      objects.set(k, b);
    },
    async delete(k) {
      await sleep(delay("delete"));
      objects.delete(k);
    },
  };
  return { io, objects };
}

Deno.test("acquireLease() excludes 5 contenders with random latencies below the bound", async () => {
  const { io, objects } = memoryIO(() => Math.random() * 30);
  let inside = 0, counter = 0, maxInside = 0;
  const worker = async () => {
    for (let i = 0; i < 3; i++) {
      const release = await acquireLease(io, "L", { settleMs: 100, ttlMs: 3000 });
      inside++;
      maxInside = Math.max(maxInside, inside);
      const n = counter;
      await sleep(5);
      counter = n + 1;
      inside--;
      await release();
    }
  };
  await Promise.all([1, 2, 3, 4, 5].map(worker));
  assert.equal(maxInside, 1);
  assert.equal(counter, 15);
  assert.equal(objects.has("L"), false, "the last release deletes the lease");
});

Deno.test("acquireLease() does not claim when its own write was slower than the bound", async () => {
  const { io } = memoryIO((op) => (op === "put" ? 120 : 0)); // put > 0.8 × settle
  await assert.rejects(
    acquireLease(io, "L", { settleMs: 100, ttlMs: 60_000, timeoutMs: 800, location: "mem" }),
    /^Error: mem: lock "L" is held by .* pid \d+ \(waited 800 ms\)/,
  );
});

Deno.test("acquireLease(): a late write that overtakes a holder makes the holder's release() throw", async () => {
  // A reads "free", then its write is delayed until after B has checked and entered.
  const { io } = memoryIO();
  let firstPut = true;
  const slowIO: LeaseIO = {
    ...io,
    async put(k, b) {
      if (firstPut) {
        firstPut = false;
        await sleep(250);
      }
      await io.put(k, b);
    },
  };
  const opts = { settleMs: 100, ttlMs: 900 };
  const a = acquireLease(slowIO, "L", opts).then((release) => ({ release, at: performance.now() }));
  await sleep(10);
  const releaseB = await acquireLease(io, "L", opts);
  const bEntered = performance.now();
  await sleep(400); // B works; A's late write lands meanwhile, A refuses to claim
  await assert.rejects(releaseB(), /was lost while held: taken over by .* pid \d+/);
  const bLeft = performance.now();
  const { release: releaseA, at } = await a;
  assert.ok(at >= bLeft, `A entered at ${at}, while B held the lock ${bEntered}..${bLeft}`);
  await releaseA();
});

Deno.test("acquireLease() treats an unreadable lease as held until it stays unchanged for ttl", async () => {
  // s3rver serves an empty body while an object is being overwritten.
  const { io, objects } = memoryIO();
  objects.set("L", new Uint8Array());
  const t0 = performance.now();
  const release = await acquireLease(io, "L", { settleMs: 50, ttlMs: 600 });
  const waited = performance.now() - t0;
  assert.ok(waited >= 600, `took over an unreadable lease after ${waited} ms`);
  await release();
});

Deno.test("acquireLease() aborted while waiting for a holder rejects with the signal's reason", async () => {
  const { io } = memoryIO();
  const release = await acquireLease(io, "L", { settleMs: 20, ttlMs: 3000 });
  const ac = new AbortController();
  const waiting = acquireLease(io, "L", { settleMs: 20, ttlMs: 3000, signal: ac.signal });
  setTimeout(() => ac.abort(new Error("no longer needed")), 50);
  await assert.rejects(waiting, /no longer needed/);
  await release(); // the holder was not disturbed
});

Deno.test("acquireLease() aborted during its settle delay withdraws its token", async () => {
  const { io, objects } = memoryIO();
  const ac = new AbortController();
  const claiming = acquireLease(io, "L", { settleMs: 200, ttlMs: 3000, signal: ac.signal });
  await sleep(50); // token written, settling
  assert.ok(objects.has("L"));
  ac.abort(new Error("publish failed"));
  await assert.rejects(claiming, /publish failed/);
  assert.equal(objects.has("L"), false, "the claim is gone: the next publisher need not wait");
});

Deno.test("acquireLease() reads again instead of claiming on a 'free' read that used most of the bound", async () => {
  // The first GET stalls for 60% of the settle delay, the PUT takes 30%: claiming on that
  // read would be a round trip of 90% (over the bound: not withdrawn, aged out after ttl,
  // here the 800 ms timeout). Read again, claim on the fast read: held after one settle.
  const { io } = memoryIO();
  let gets = 0;
  const slowFirst: LeaseIO = {
    ...io,
    async get(k) {
      if (gets++ === 0) await sleep(60);
      return await io.get(k);
    },
    async put(k, b) {
      await sleep(30);
      await io.put(k, b);
    },
  };
  const t0 = performance.now();
  const release = await acquireLease(slowFirst, "L", {
    settleMs: 100,
    ttlMs: 60_000,
    timeoutMs: 800,
    location: "mem",
  });
  const took = performance.now() - t0;
  assert.ok(took < 400, `held after ${took} ms`);
  assert.equal(gets, 3, "the slow read, the fresh read, the read-back");
  await release();
});

Deno.test("acquireLease() claims on the second read even when it is slow too (no livelock)", async () => {
  const { io } = memoryIO((op) => (op === "get" ? 50 : 0)); // every GET: half the settle
  const release = await acquireLease(io, "L", { settleMs: 100, ttlMs: 60_000, timeoutMs: 2000 });
  await release();
});
