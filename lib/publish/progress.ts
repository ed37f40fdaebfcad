/**
 * @module
 * What long commands (publish, export, import, sync, gc) report while they run: the
 * {@link PublishProgress} interface. The display is lib/cli/progress.ts: per-blob lines
 * and a total line on a terminal, a plain line every few seconds elsewhere.
 *
 * The four required methods are the original interface; the optional ones feed the
 * per-blob lines, so a caller written against either version compiles and works (without
 * them, only the total line is shown).
 */
import process from "node:process";
import { createProgress } from "../cli/progress.ts";

export { formatBytes } from "../cli/progress_format.ts";

/** What publish reports while it runs. */
export interface PublishProgress {
  /**
   * Called once the work is known: blobs to look at and their total size. With `items`
   * (the blobs themselves), each gets a "Waiting" line and the totals come from them, so
   * a second start() naming the same blobs counts them once. Without `items`, repeated
   * calls add up (one call per image of a sync).
   */
  start(total: {
    blobs: number;
    bytes: number;
    items?: readonly { digest: string; size: number }[];
  }): void;
  /** `n` more bytes copied or found present (the total; also call it with blobAdvance). */
  advance(n: number): void;
  /** One blob done (`copied` false: it was already in the store). */
  blobDone(digest: string, copied: boolean): void;
  stop(): void;
  /** A blob's copy begins (its line says "Copying"). */
  blobStart?(digest: string, size: number): void;
  /** `n` more bytes of that blob copied; as well as, not instead of, advance(n). */
  blobAdvance?(digest: string, n: number): void;
  /**
   * Writes `line` (no newline) above the display, which is drawn again under it: the
   * per-image lines of `sync`. Absent: the caller prints the line itself.
   */
  print?(line: string): void;
}

/**
 * `progress` for one of several steps sharing it (the images of a sync): each step's
 * stop() is ignored, the owner stops the display once at the end.
 */
export function shared(progress: PublishProgress): PublishProgress {
  return {
    start: (t) => progress.start(t),
    advance: (n) => progress.advance(n),
    blobDone: (d, copied) => progress.blobDone(d, copied),
    blobStart: (d, size) => progress.blobStart?.(d, size),
    blobAdvance: (d, n) => progress.blobAdvance?.(d, n),
    stop() {},
  };
}

/** Reports nothing. */
export const noProgress: PublishProgress = {
  start() {},
  advance() {},
  blobDone() {},
  stop() {},
};

/** The terminal display on `stream` (default stderr) labelled with `label`. */
export function barProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): PublishProgress {
  return createProgress(label, { stream });
}

/** On a terminal per-blob lines and a total line; elsewhere a line every few seconds. */
export function defaultProgress(label: string): PublishProgress {
  return createProgress(label);
}
