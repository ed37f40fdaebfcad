/**
 * @module
 * Without a terminal (a CI log, a pipe): nothing for a short command, one plain line every
 * PLAIN_EVERY_MS for a long one, driven by an injected clock; and the summary's duration
 * and MB/s (progress_summary.ts).
 */
import assert from "node:assert/strict";
import { createProgress, PLAIN_EVERY_MS } from "../../lib/cli/progress.ts";
import { describeTiming, stopwatch, timing } from "../../lib/cli/progress_summary.ts";
import { formatDuration, formatEta, formatRate } from "../../lib/cli/progress_format.ts";
import { manualClock } from "./progress_screen.ts";

const A = "sha256:" + "a".repeat(64);
const MB = 1_000_000;

/** A stream that is not a terminal, keeping what was written. */
function pipe() {
  const writes: string[] = [];
  return { writes, stream: { isTTY: false, write: (s: string) => writes.push(s) } };
}

Deno.test("createProgress() without a terminal writes nothing for a copy shorter than 5 s", () => {
  const { writes, stream } = pipe();
  const clock = manualClock(1000);
  const p = createProgress("demo/app:v1", { stream, now: clock.now, intervalMs: 0 });
  p.start({ blobs: 1, bytes: 10 * MB, items: [{ digest: A, size: 10 * MB }] });
  for (let t = 1000; t < 1000 + PLAIN_EVERY_MS; t += 500) {
    clock.set(t);
    p.blobAdvance!(A, MB / 2);
    p.tick();
  }
  p.blobDone(A, true);
  p.stop();
  assert.deepEqual(writes, []);
});

Deno.test("createProgress() without a terminal writes a plain line every 5 s of a long copy", () => {
  const { writes, stream } = pipe();
  const clock = manualClock(1000);
  const p = createProgress("demo/app:v1", { stream, now: clock.now, intervalMs: 0 });
  p.start({
    blobs: 2,
    bytes: 40 * MB,
    items: [{ digest: A, size: 40 * MB }, {
      digest: "sha256:" + "b".repeat(64),
      size: 0,
    }],
  });
  p.blobDone("sha256:" + "b".repeat(64), false);
  p.blobStart!(A, 40 * MB);
  // 1 MB a second, ticks every second (the real timer's period without a terminal).
  for (let s = 1; s <= 12; s++) {
    clock.set(1000 + s * 1000);
    p.advance(MB);
    p.blobAdvance!(A, MB);
    p.tick();
  }
  p.stop();
  // At 5 s: 5 MB of 40 (38.1 MiB) copied at 1 MB/s: 35 s left. At 10 s: 30 s left.
  assert.deepEqual(writes, [
    "demo/app:v1: 4.8 MiB/38.1 MiB (12%), 1/2 blobs, 1.0 MB/s, ETA 35s\n",
    "demo/app:v1: 9.5 MiB/38.1 MiB (25%), 1/2 blobs, 1.0 MB/s, ETA 30s\n",
  ]);
});

Deno.test("timing() gives the duration in ms and the rate in MB/s to 2 decimals", () => {
  assert.deepEqual(timing(2000, 5 * MB), { duration_ms: 2000, mb_per_s: 2.5 });
  assert.deepEqual(timing(1234.6, 1), { duration_ms: 1235, mb_per_s: 0 });
  assert.deepEqual(timing(300, 100 * MB), { duration_ms: 300, mb_per_s: 333.33 });
  assert.deepEqual(timing(0, 10), { duration_ms: 0, mb_per_s: 0 });
  assert.equal(describeTiming(timing(2340, 29.1 * MB)), "in 2.3 s (12.44 MB/s)");
  assert.equal(describeTiming(timing(450, 0)), "in 450 ms (0.00 MB/s)");
  const clock = manualClock(100);
  const w = stopwatch(clock.now);
  clock.set(4100);
  assert.deepEqual(w.stop(8 * MB), { duration_ms: 4000, mb_per_s: 2 });
});

Deno.test("formatRate(), formatEta() and formatDuration() read as people expect", () => {
  assert.equal(formatRate(8_200_000), "8.2 MB/s");
  assert.equal(formatRate(1500), "1.5 kB/s");
  assert.equal(formatRate(12), "12 B/s");
  assert.equal(formatRate(2.5e9), "2.5 GB/s");
  assert.equal(formatEta(5), "05s");
  assert.equal(formatEta(65), "01m05s");
  assert.equal(formatEta(3700), "01h02m");
  assert.equal(formatDuration(125_000), "02m05s");
});
