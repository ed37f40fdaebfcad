/**
 * @module
 * Where log lines go: one file descriptor (stderr) shared by the event log (pino) and the
 * access log (lib/server/access_log.ts), so their lines keep their order.
 *
 * Access lines are buffered: a `write()` system call per request cost a bare `Bun.serve`
 * 307 a fifth to a third of its rate (the floors `log-sync` and `log-batched` of
 * `scripts/bench --only serve`, bench/floor.ts), while nginx with its access log to a file
 * keeps about 90 % of its own (the access-log row of `--only hot`). So {@link LineSink.buffer} appends to memory and the buffer is written when it
 * holds {@link FLUSH_BYTES}, {@link FLUSH_MS} after its first line, before any event line
 * ({@link LineSink.write} writes through, after what is buffered), and at process exit.
 * The price: a SIGKILL loses at most the last {@link FLUSH_MS} of access lines; every
 * other way out (SIGTERM, SIGINT, a crash that exits) writes them.
 */
import { writeSync } from "node:fs";
import process from "node:process";

/** Buffered access lines are written once they hold this many bytes (about 300 lines). */
export const FLUSH_BYTES = 64 * 1024;
/** …or this long after the first of them was buffered. */
export const FLUSH_MS = 200;

/** A line writer. `buffer` may hold a line back briefly; `write` never does. */
export interface LineSink {
  /** Writes `line` (ending in "\n") now, after any buffered lines. */
  write(line: string): void;
  /** Queues `line` (ending in "\n") to be written soon (see the module doc). */
  buffer(line: string): void;
  /** Writes whatever is buffered. */
  flush(): void;
}

/** A sink on file descriptor `fd` (2: stderr). Flushes itself when the process exits. */
export function fdSink(fd = 2): LineSink {
  let pending: string[] = [];
  let bytes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  function out(text: string): void {
    // writeSync may write less than asked (a pipe that is full): write the rest.
    let buf = Buffer.from(text);
    while (buf.length) {
      let n: number;
      try {
        n = writeSync(fd, buf);
      } catch (e) {
        // EAGAIN on a non-blocking pipe: try again; anything else (EPIPE) drops the line,
        // as pino's sync destination does, rather than crash a server over its log.
        if ((e as NodeJS.ErrnoException).code === "EAGAIN") continue;
        return;
      }
      buf = buf.subarray(n);
    }
  }

  function flush(): void {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (pending.length === 0) return;
    const text = pending.join("");
    pending = [];
    bytes = 0;
    out(text);
  }

  process.on("exit", flush);
  return {
    write(line) {
      if (pending.length) {
        pending.push(line);
        flush();
      } else out(line);
    },
    buffer(line) {
      pending.push(line);
      bytes += line.length;
      if (bytes >= FLUSH_BYTES) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, FLUSH_MS);
        // The log never keeps a process alive; the exit handler writes what is left.
        timer.unref?.();
      }
    },
    flush,
  };
}

/** A sink that keeps lines in memory, for tests: `lines` holds them, unbuffered. */
export function memorySink(): LineSink & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (line: string) => void lines.push(line.replace(/\n$/, ""));
  return { lines, write: keep, buffer: keep, flush() {} };
}
