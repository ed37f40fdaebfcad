/**
 * @module
 * The progress display of long commands (publish, export, import, sync, gc), behind the
 * PublishProgress interface (lib/publish/progress.ts).
 *
 * On a terminal (stderr `isTTY`): a frame redrawn ten times a second, one line per blob as
 * docker and skopeo show them (`3f2a9c0d1e4b: Copying [===>  ] 1.2 MiB/4.5 MiB`, then
 * Exists / Done) above a total line (bytes, blobs, MB/s, ETA). Every line is fitted to
 * `columns - 1`: a line as wide as the terminal leaves the cursor in the last column,
 * where terminals disagree on what the next newline does. The frame never has more lines
 * than `rows - 1`, so it never scrolls its own top away: blob lines are shown when they
 * all fit, else only the ones copying, else none. Resize-safe: before each redraw, the
 * previous frame's height is measured at the CURRENT width (a terminal that reflows wraps
 * the old lines when it narrows), the cursor goes back that many rows and clears to the
 * end of the screen; a resize event redraws at once.
 *
 * Without a terminal: nothing for a command shorter than {@link PLAIN_EVERY_MS}, then one
 * plain line every PLAIN_EVERY_MS (logs of CI jobs). The command's summary (duration, MB/s)
 * is the CLI's own line (progress_summary.ts).
 *
 * Why not cli-progress's MultiBar (whose bar and time formatters progress_format.ts uses):
 * it draws every bar whatever the terminal's height, moves the cursor back by the number
 * of lines it wrote (wrong once a narrower terminal re-wraps them), and reads Date.now(),
 * so a test cannot drive its clock.
 */
import process from "node:process";
import { ProgressState, type StartTotal } from "./progress_state.ts";

/** What the display writes to: process.stderr, or a test's fake terminal. */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  write(s: string): unknown;
  on?(event: "resize", fn: () => void): unknown;
  off?(event: "resize", fn: () => void): unknown;
}

export interface ProgressOptions {
  /** Default process.stderr. */
  stream?: ProgressStream;
  /** The clock in ms (default performance.now). */
  now?: () => number;
  /** Redraw period in ms; 0: no timer, the caller calls tick() (tests). */
  intervalMs?: number;
}

/** Without a terminal, a line this often (and none for a command that ends sooner). */
export const PLAIN_EVERY_MS = 5000;
/** Terminal size assumed when a terminal does not say (a pty made without a size). */
const DEFAULT_COLUMNS = 80;
const DEFAULT_ROWS = 24;

/**
 * A display: the PublishProgress calls (lib/publish/progress.ts documents them; that
 * module imports this one, so the shape is repeated here rather than imported), and
 * tick() to redraw now.
 */
export interface Reporter {
  start(total: StartTotal): void;
  advance(n: number): void;
  blobStart(digest: string, size: number): void;
  blobAdvance(digest: string, n: number): void;
  blobDone(digest: string, copied: boolean): void;
  stop(): void;
  tick(): void;
  /** Writes `line` above the display (terminal) or as a plain line (elsewhere). */
  print(line: string): void;
  readonly state: ProgressState;
}

/** A terminal display when `stream` is a TTY, else timed plain lines. */
export function createProgress(label: string, opts: ProgressOptions = {}): Reporter {
  const stream = opts.stream ?? process.stderr;
  const now = opts.now ?? (() => performance.now());
  const state = new ProgressState(label, now);
  const draw = stream.isTTY ? terminalPainter(stream, state) : plainPrinter(stream, state, now);
  const intervalMs = opts.intervalMs ?? (stream.isTTY ? 100 : 1000);
  let timer: ReturnType<typeof setInterval> | undefined;
  const onResize = () => draw.tick();
  let active = false;
  return {
    state,
    start(total) {
      state.start(total);
      if (active) return;
      active = true;
      if (intervalMs > 0) timer = setInterval(() => draw.tick(), intervalMs);
      stream.on?.("resize", onResize);
      draw.tick();
    },
    advance: (n) => state.advance(n),
    blobStart: (d, size) => state.blobStart(d, size),
    blobAdvance: (d, n) => state.blobAdvance(d, n),
    blobDone: (d, copied) => state.blobDone(d, copied),
    tick: () => draw.tick(),
    print(line) {
      draw.print(line);
    },
    stop() {
      if (!active) return;
      active = false;
      clearInterval(timer);
      timer = undefined;
      stream.off?.("resize", onResize);
      state.stop();
      draw.end();
    },
  };
}

/** Redraws the frame in place (module doc). */
function terminalPainter(stream: ProgressStream, state: ProgressState) {
  let previous: string[] | undefined;
  let drawnAt = 0;
  const paint = () => {
    const columns = stream.columns || DEFAULT_COLUMNS;
    const rows = stream.rows || DEFAULT_ROWS;
    const lines = state.frame(Math.max(1, columns - 1), rows);
    if (previous && columns === drawnAt && same(previous, lines)) return;
    let out = "";
    if (previous) {
      const up = height(previous, columns) - 1;
      out += "\r" + (up > 0 ? `\x1b[${up}A` : "") + "\x1b[J";
    }
    stream.write(out + lines.join("\n"));
    previous = lines;
    drawnAt = columns;
  };
  return {
    tick: paint,
    end() {
      paint();
      stream.write("\n");
      previous = undefined;
    },
    /** Erases the frame, writes `line`, draws the frame again below it. */
    print(line: string) {
      const columns = stream.columns || DEFAULT_COLUMNS;
      let out = "";
      if (previous) {
        const up = height(previous, columns) - 1;
        out += "\r" + (up > 0 ? `\x1b[${up}A` : "") + "\x1b[J";
      }
      stream.write(out + line + "\n");
      previous = undefined;
      if (state.started) paint();
    },
  };
}

/** Rows `lines` take on a terminal `columns` wide (a longer line wraps). */
export function height(lines: readonly string[], columns: number): number {
  return lines.reduce((n, l) => n + Math.max(1, Math.ceil(l.length / columns)), 0);
}

function same(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}

/** A plain line every PLAIN_EVERY_MS once the command has run that long (module doc). */
function plainPrinter(stream: ProgressStream, state: ProgressState, now: () => number) {
  let last: number | undefined;
  return {
    tick() {
      if (!state.started) return;
      const t = now();
      last ??= t - state.elapsed();
      if (t - last < PLAIN_EVERY_MS) return;
      last = t;
      stream.write(state.plainLine() + "\n");
    },
    end() {},
    print(line: string) {
      stream.write(line + "\n");
    },
  };
}
