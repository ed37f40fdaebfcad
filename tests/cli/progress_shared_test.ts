/**
 * @module
 * One display for several steps: `print()` puts a line above the frame, which is drawn
 * again below it (sync's per-image lines), `shared()` hands each step a progress whose
 * stop() leaves the display running, and gc's removals report to a display.
 */
import assert from "node:assert/strict";
import { createProgress } from "../../lib/cli/progress.ts";
import { removeAll } from "../../lib/lifecycle/sweep.ts";
import { type PublishProgress, shared } from "../../lib/publish/progress.ts";
import type { SweepStore } from "../../lib/store/store.ts";
import { FakeTerminal, manualClock } from "./progress_screen.ts";

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);

Deno.test("print() writes a line above the display and draws the display again below it", () => {
  const term = new FakeTerminal(80, 24);
  const clock = manualClock(0);
  const p = createProgress("sync", { stream: term, now: clock.now, intervalMs: 0 });
  p.start({ blobs: 1, bytes: 100, items: [{ digest: A, size: 100 }] });
  const before = term.lines();
  p.print("copied docker.io/a:v1 → a:v1");
  const after = term.lines();
  assert.equal(after[0], "copied docker.io/a:v1 → a:v1");
  assert.deepEqual(after.slice(1), before, "the same frame, one line lower");
  // A second image joins the same display: its rows are added, the first line stays.
  shared(p).start({ blobs: 1, bytes: 50, items: [{ digest: B, size: 50 }] });
  p.tick();
  const lines = term.lines();
  assert.equal(lines[0], "copied docker.io/a:v1 → a:v1");
  assert.ok(lines.some((l) => l.startsWith("bbbbbbbbbbbb")), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("aaaaaaaaaaaa")), lines.join("\n"));
  p.stop();
});

Deno.test("shared(): a step's stop() does not stop the display; the owner's does", () => {
  const calls: string[] = [];
  const inner: PublishProgress = {
    start: () => void calls.push("start"),
    advance: () => void calls.push("advance"),
    blobDone: () => void calls.push("done"),
    stop: () => void calls.push("stop"),
  };
  const step = shared(inner);
  step.start({ blobs: 1, bytes: 1 });
  step.advance(1);
  step.blobDone(A, true);
  step.stop();
  assert.deepEqual(calls, ["start", "advance", "done"]);
  inner.stop();
  assert.deepEqual(calls.at(-1), "stop");
});

Deno.test("gc's removals report to a display: every item and its bytes, then stop", async () => {
  const removed: string[] = [];
  const store = {
    remove: (k: string) => Promise.resolve(void removed.push(k)),
  } as unknown as SweepStore;
  const seen = { started: { blobs: 0, bytes: 0 }, advanced: 0, done: 0, stopped: false };
  await removeAll(
    store,
    [
      { kind: "blob", key: "blobs/sha256/1", size: 10, ageMs: 1 },
      { kind: "temp", key: ".tmp/x.part", size: 5, ageMs: 1 },
    ],
    2,
    {
      start: (t) => void (seen.started = { blobs: t.blobs, bytes: t.bytes }),
      advance: (n) => void (seen.advanced += n),
      blobDone: () => void seen.done++,
      stop: () => void (seen.stopped = true),
    },
  );
  assert.deepEqual(removed.sort(), [".tmp/x.part", "blobs/sha256/1"]);
  assert.deepEqual(seen, {
    started: { blobs: 2, bytes: 15 },
    advanced: 15,
    done: 2,
    stopped: true,
  });
});
