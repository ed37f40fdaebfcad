/**
 * @module
 * What a long command has done so far, fed by the PublishProgress calls, and the lines
 * that show it: per-blob lines as docker and skopeo print them (short digest, state,
 * bytes), a total line (bytes, blobs, throughput, ETA), each fitted to a width; and the
 * plain line written every few seconds when stderr is not a terminal. Pure: the clock is
 * passed in, nothing is written here. The types are structural: lib/publish/progress.ts
 * (the interface) imports the display, so nothing is imported back from it.
 *
 * Two ways to be fed: with `items` in start() (publish, export, import), the totals are
 * the sum of the blob rows, so a blob reported twice (shared by two images of an import)
 * counts once and the rate counts only bytes really moved (blobAdvance), not blobs found
 * present; without them (a caller of the original four methods), the totals are what
 * start() and advance() said, summed over repeated start() calls.
 */
import {
  fitLine,
  formatBytes,
  formatDuration,
  formatEta,
  formatRate,
  type Segment,
} from "./progress_format.ts";

/** Where one blob is: as docker's pull lines say it. */
export type BlobState = "Waiting" | "Copying" | "Exists" | "Done";

interface Row {
  digest: string;
  size: number;
  done: number;
  state: BlobState;
}

/** Narrowest width for blob lines: the short digest, the state and a size. */
export const BLOB_LINE_MIN = 32;

/** How far back the live rate looks: long enough to be steady, short enough to follow. */
const RATE_WINDOW_MS = 5000;

/** What start() is told (PublishProgress.start). */
export interface StartTotal {
  blobs: number;
  bytes: number;
  items?: readonly { digest: string; size: number }[];
}

/** Progress of one command; `now` is the clock (ms) the caller passes to every call. */
export class ProgressState {
  readonly label: string;
  #now: () => number;
  #started?: number;
  #stopped?: number;
  #bytes = 0;
  #blobs = 0;
  #advanced = 0;
  #blobsDone = 0;
  #rows = new Map<string, Row>();
  /** start() gave the blobs: totals then come from the rows, so a repeat call is harmless. */
  #perBlob = false;
  /** Bytes of blobAdvance(): really moved, not found present (the rate counts these). */
  #blobMoved = 0;
  #samples: { t: number; moved: number }[] = [];

  constructor(label: string, now: () => number) {
    this.label = label;
    this.#now = now;
  }

  start(total: StartTotal): void {
    this.#started ??= this.#now();
    this.#stopped = undefined;
    if (total.items) {
      this.#perBlob = true;
      for (const b of total.items) this.#row(b.digest, b.size);
    } else {
      this.#bytes += total.bytes;
      this.#blobs += total.blobs;
    }
  }

  advance(n: number): void {
    this.#advanced += n;
  }

  blobStart(digest: string, size: number): void {
    const r = this.#row(digest, size);
    if (r.state === "Waiting") r.state = "Copying";
  }

  blobAdvance(digest: string, n: number): void {
    const r = this.#rows.get(digest);
    if (!r || r.state === "Done" || r.state === "Exists") return;
    r.state = "Copying";
    r.done = Math.min(r.size, r.done + n);
    this.#blobMoved += n;
  }

  blobDone(digest: string, copied: boolean): void {
    const r = this.#rows.get(digest);
    if (!r) {
      this.#blobsDone++;
      return;
    }
    if (r.state === "Done" || r.state === "Exists") return; // shared by two images
    r.state = copied ? "Done" : "Exists";
    r.done = r.size;
    this.#blobsDone++;
  }

  stop(): void {
    if (this.#started !== undefined) this.#stopped ??= this.#now();
  }

  /** Bytes moved: per blob when the caller says which; else all it advanced. */
  get #moved(): number {
    return this.#perBlob ? this.#blobMoved : this.#advanced;
  }

  #row(digest: string, size: number): Row {
    let r = this.#rows.get(digest);
    if (!r) {
      r = { digest, size, done: 0, state: "Waiting" };
      this.#rows.set(digest, r);
    }
    return r;
  }

  get started(): boolean {
    return this.#started !== undefined;
  }

  /** Milliseconds since start (to stop, once stopped). */
  elapsed(): number {
    if (this.#started === undefined) return 0;
    return (this.#stopped ?? this.#now()) - this.#started;
  }

  totals(): { bytes: number; done: number; blobs: number; blobsDone: number } {
    if (!this.#perBlob) {
      return {
        bytes: this.#bytes,
        done: Math.min(this.#advanced, this.#bytes),
        blobs: this.#blobs,
        blobsDone: this.#blobsDone,
      };
    }
    let bytes = 0;
    let done = 0;
    for (const r of this.#rows.values()) {
      bytes += r.size;
      done += r.done;
    }
    return { bytes, done, blobs: this.#rows.size, blobsDone: this.#blobsDone };
  }

  /**
   * Bytes per second moved over the last few seconds (all of the run once stopped).
   * Call it on every redraw: each call is a sample of the window.
   */
  rate(): number {
    const t = this.#stopped ?? this.#now();
    if (this.#stopped !== undefined) {
      const s = this.elapsed() / 1000;
      return s > 0 ? this.#moved / s : 0;
    }
    this.#samples.push({ t, moved: this.#moved });
    while (this.#samples.length > 2 && t - this.#samples[1].t >= RATE_WINDOW_MS) {
      this.#samples.shift();
    }
    const first = this.#samples[0];
    const dt = (t - first.t) / 1000;
    if (dt >= 0.5) return (this.#moved - first.moved) / dt;
    const s = this.elapsed() / 1000;
    return s > 0 ? this.#moved / s : 0;
  }

  rows(): readonly Readonly<Row>[] {
    return [...this.#rows.values()];
  }

  /**
   * The terminal frame: per-blob lines and the total line, none wider than `width`, at
   * most `height - 1` lines (the cursor's row stays free, so the frame never scrolls). All blob lines when they fit; else only those copying now; else
   * (or narrower than {@link BLOB_LINE_MIN}) the total line alone.
   */
  frame(width: number, height: number): string[] {
    const total = this.totalLine(width);
    const rows = this.rows();
    const room = width >= BLOB_LINE_MIN ? Math.max(0, height - 1 - 1) : 0; // the total line
    const shown = rows.length <= room
      ? rows
      : rows.filter((r) => r.state === "Copying").length <= room
      ? rows.filter((r) => r.state === "Copying")
      : [];
    return [...shown.map((r) => blobLine(r, width)), total];
  }

  /** The total line: label, bar, bytes, blobs, rate, ETA (or the duration once stopped). */
  totalLine(width: number): string {
    const t = this.totals();
    const rate = this.rate();
    const left = t.bytes - t.done;
    const when = this.#stopped !== undefined
      ? `in ${formatDuration(this.elapsed())}`
      : left > 0 && rate > 0
      ? `ETA ${formatEta(left / rate)}`
      : "";
    const segments: Segment[] = [
      { keep: 5, text: this.label },
      { keep: 1, bar: t.bytes ? t.done / t.bytes : 1 },
      { keep: 9, text: `${formatBytes(t.done)}/${formatBytes(t.bytes)}` },
      { keep: 4, text: `${t.blobsDone}/${t.blobs} blobs` },
      { keep: 7, text: formatRate(rate) },
      { keep: 6, text: when },
    ];
    return fitLine(segments, width);
  }

  /** The line written every few seconds without a terminal (no width to fit). */
  plainLine(): string {
    const t = this.totals();
    const rate = this.rate();
    const pct = t.bytes ? Math.floor((t.done / t.bytes) * 100) : 100;
    const left = t.bytes - t.done;
    return `${this.label}: ${formatBytes(t.done)}/${formatBytes(t.bytes)} (${pct}%), ` +
      `${t.blobsDone}/${t.blobs} blobs, ${formatRate(rate)}` +
      (left > 0 && rate > 0 ? `, ETA ${formatEta(left / rate)}` : "");
  }
}

/** `3f2a9c0d1e4b: Copying [===>    ] 1.2 MiB/4.5 MiB`, fitted to `width`. */
export function blobLine(r: Readonly<Row>, width: number): string {
  const bytes = r.state === "Copying"
    ? `${formatBytes(r.done)}/${formatBytes(r.size)}`
    : r.state === "Waiting"
    ? ""
    : formatBytes(r.size);
  return fitLine([
    { keep: 9, text: `${shortDigest(r.digest)}:` },
    { keep: 8, text: r.state.padEnd(7) },
    ...(r.state === "Copying" ? [{ keep: 1, bar: r.size ? r.done / r.size : 1 }] : []),
    { keep: 5, text: bytes },
  ], width);
}

/** The first 12 hex digits, as docker shows a layer. */
export function shortDigest(digest: string): string {
  const colon = digest.indexOf(":");
  return digest.slice(colon + 1, colon + 13);
}
