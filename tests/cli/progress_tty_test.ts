/**
 * @module
 * The terminal display (lib/cli/progress.ts) played on a fake terminal of a given size:
 * the exact lines a user sees, per-blob lines only when the rows allow, nothing wider than
 * the terminal, and a redraw after a resize that goes back over the re-wrapped frame.
 */
import assert from "node:assert/strict";
import { createProgress, height } from "../../lib/cli/progress.ts";
import type { PublishProgress } from "../../lib/publish/progress.ts";
import { FakeTerminal, manualClock } from "./progress_screen.ts";

const A = "sha256:" + "a".repeat(64);
const B = "sha256:" + "b".repeat(64);
const C = "sha256:" + "c".repeat(64);
const MiB = 1 << 20;
const ITEMS = [{ digest: A, size: 2 * MiB }, { digest: B, size: 4 * MiB }, {
  digest: C,
  size: 4 * MiB,
}];

/**
 * Plays a publish of A (present), B and C (copied) the way lib/publish/publish.ts reports
 * it, snapping the screen at start, at 1 s (B a quarter copied) and after stop at 2 s.
 */
function play(term: FakeTerminal, label = "demo/app:v1"): string[][] {
  const clock = manualClock(0);
  const p = createProgress(label, { stream: term, now: clock.now, intervalMs: 0 });
  const frames: string[][] = [];
  p.start({ blobs: 3, bytes: 10 * MiB, items: ITEMS });
  frames.push(term.lines());
  clock.set(1000);
  p.advance(2 * MiB);
  p.blobDone(A, false);
  p.blobStart!(B, 4 * MiB);
  p.advance(MiB);
  p.blobAdvance!(B, MiB);
  p.tick();
  frames.push(term.lines());
  clock.set(2000);
  p.advance(3 * MiB);
  p.blobAdvance!(B, 3 * MiB);
  p.blobDone(B, true);
  p.blobStart!(C, 4 * MiB);
  p.advance(4 * MiB);
  p.blobAdvance!(C, 4 * MiB);
  p.blobDone(C, true);
  p.stop();
  frames.push(term.lines());
  return frames;
}

Deno.test("createProgress() on an 80x24 terminal: a line per blob, then the total line", () => {
  const term = new FakeTerminal(80, 24);
  const [first, mid, last] = play(term);
  assert.deepEqual(first, [
    "aaaaaaaaaaaa: Waiting",
    "bbbbbbbbbbbb: Waiting",
    "cccccccccccc: Waiting",
    "demo/app:v1 [                              ] 0 B/10.0 MiB 0/3 blobs 0 B/s",
  ]);
  // 1 MiB moved in 1 s (A was present: not counted) → 1.0 MB/s, 7 MiB left → 7 s.
  assert.deepEqual(mid, [
    "aaaaaaaaaaaa: Exists  2.0 MiB",
    "bbbbbbbbbbbb: Copying [=======>                      ] 1.0 MiB/4.0 MiB",
    "cccccccccccc: Waiting",
    "demo/app:v1 [======>              ] 3.0 MiB/10.0 MiB 1/3 blobs 1.0 MB/s ETA 07s",
  ]);
  // Once stopped: 8 MiB moved in 2 s, and the duration instead of an ETA.
  assert.deepEqual(last, [
    "aaaaaaaaaaaa: Exists  2.0 MiB",
    "bbbbbbbbbbbb: Done    4.0 MiB",
    "cccccccccccc: Done    4.0 MiB",
    "demo/app:v1 [===================] 10.0 MiB/10.0 MiB 3/3 blobs 4.2 MB/s in 2.0 s",
  ]);
  assert.equal(term.wrapped, 0);
  assert.ok(term.writes.at(-1)!.endsWith("\n"), "stop() leaves the cursor on a new line");
  assert.equal(term.listeners, 0, "stop() stops listening for resizes");
});

Deno.test("createProgress() on a 40-column terminal drops the bar and the label, never wraps", () => {
  const term = new FakeTerminal(40, 24);
  const [first, mid, last] = play(term);
  // 39 usable columns: the bar goes first, then the blob count.
  assert.deepEqual(first, [
    "aaaaaaaaaaaa: Waiting",
    "bbbbbbbbbbbb: Waiting",
    "cccccccccccc: Waiting",
    "demo/app:v1 0 B/10.0 MiB 0 B/s",
  ]);
  assert.deepEqual(mid, [
    "aaaaaaaaaaaa: Exists  2.0 MiB",
    "bbbbbbbbbbbb: Copying 1.0 MiB/4.0 MiB",
    "cccccccccccc: Waiting",
    "3.0 MiB/10.0 MiB 1.0 MB/s ETA 07s",
  ]);
  assert.deepEqual(last.at(-1), "10.0 MiB/10.0 MiB 4.2 MB/s in 2.0 s");
  for (const l of [...first, ...mid, ...last]) assert.ok(l.length < 40, l);
  assert.equal(term.wrapped, 0);
});

Deno.test("createProgress() at every width from 1 to 120 writes no line wider than the terminal", () => {
  for (let columns = 1; columns <= 120; columns++) {
    const term = new FakeTerminal(columns, 24);
    for (const frame of play(term, "registry.example.com/team/some-long-name:v1.2.3")) {
      for (const l of frame) assert.ok(l.length <= columns, `${columns}: ${JSON.stringify(l)}`);
    }
    assert.equal(term.wrapped, 0, `width ${columns}`);
  }
});

Deno.test("createProgress() shows blob lines only when the rows allow", () => {
  // 3 rows: room for 2 lines above the cursor's row. 3 blob lines do not fit: only the
  // one copying does, and at the end (none copying) the total line alone.
  const [first, mid, last] = play(new FakeTerminal(80, 3));
  assert.deepEqual(first, [
    "demo/app:v1 [                              ] 0 B/10.0 MiB 0/3 blobs 0 B/s",
  ]);
  assert.deepEqual(mid, [
    "bbbbbbbbbbbb: Copying [=======>                      ] 1.0 MiB/4.0 MiB",
    "demo/app:v1 [======>              ] 3.0 MiB/10.0 MiB 1/3 blobs 1.0 MB/s ETA 07s",
  ]);
  assert.equal(last.length, 1);
  assert.match(last[0], /^demo\/app:v1 .* 3\/3 blobs 4\.2 MB\/s in 2\.0 s$/);
  // 2 rows: never a blob line. 4 rows: all three fit again.
  for (const f of play(new FakeTerminal(80, 2))) assert.equal(f.length, 1);
  assert.deepEqual(play(new FakeTerminal(80, 5)).map((f) => f.length), [4, 4, 4]);
});

Deno.test("createProgress() after a resize goes back over the frame as the terminal re-wrapped it", () => {
  const term = new FakeTerminal(100, 24);
  const clock = manualClock(0);
  const p = createProgress("x".repeat(60), { stream: term, now: clock.now, intervalMs: 0 });
  p.start({ blobs: 3, bytes: 10 * MiB, items: ITEMS });
  const before = term.lines();
  assert.equal(before.at(-1)!.length, 99, "the total line fills the 100 columns but one");
  assert.equal(term.listeners, 1);
  // Narrowed to 40: a reflowing terminal now shows the 99-character line on 3 rows, the
  // 21-character blob lines on 1 each, so the frame is 6 rows: back up 5 and clear.
  term.writes.length = 0;
  term.resize(40);
  assert.equal(height(before, 40), 6);
  assert.ok(term.writes[0].startsWith("\r\x1b[5A\x1b[J"), JSON.stringify(term.writes[0]));
  const redrawn = term.writes[0].slice("\r\x1b[5A\x1b[J".length).split("\n");
  assert.equal(redrawn.length, 4);
  for (const l of redrawn) assert.ok(l.length < 40, l);
  p.stop();
});

Deno.test("createProgress() for a caller of the original four methods shows the total line", () => {
  const term = new FakeTerminal(80, 24);
  const clock = manualClock(0);
  // The interface as sync and gc were written against it: no items, no per-blob calls.
  const p: PublishProgress = createProgress("sync", {
    stream: term,
    now: clock.now,
    intervalMs: 0,
  });
  p.start({ blobs: 2, bytes: 2000 });
  clock.set(1000);
  p.advance(1000);
  p.blobDone(A, true);
  p.stop();
  // 1000 B moved in 1 s; the bar takes what is left of 79 columns: 28 cells and ">".
  const line = `sync [${"=".repeat(14)}>${
    " ".repeat(14)
  }] 1000 B/2.0 KiB 1/2 blobs 1.0 kB/s in 1.0 s`;
  assert.equal(line.length, 79);
  assert.deepEqual(term.lines(), [line]);
});

Deno.test("createProgress() counts a blob shared by two images once", () => {
  const term = new FakeTerminal(80, 24);
  const p = createProgress("import", { stream: term, now: () => 0, intervalMs: 0 });
  p.start({ blobs: 2, bytes: 6 * MiB, items: ITEMS.slice(0, 2) });
  p.blobStart!(A, 2 * MiB);
  p.blobAdvance!(A, 2 * MiB);
  p.blobDone(A, true);
  p.blobDone(A, false); // the second image finds it present
  p.stop();
  assert.deepEqual(term.lines().slice(0, 2), [
    "aaaaaaaaaaaa: Done    2.0 MiB",
    "bbbbbbbbbbbb: Waiting",
  ]);
  assert.match(term.lines()[2], / 2\.0 MiB\/6\.0 MiB 1\/2 blobs /);
});

Deno.test("createProgress() writes nothing when stopped before it started", () => {
  const term = new FakeTerminal(80, 24);
  createProgress("x", { stream: term, intervalMs: 0 }).stop();
  assert.deepEqual(term.writes, []);
});
