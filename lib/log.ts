/**
 * @module
 * Logging: pino, one JSON line per event on stderr (stdout stays free for command output
 * such as `check --json`), written asynchronously and flushed before exit (`flushLogs`).
 * `level` comes from config (`log.level`) or STATIC_REGISTRY_LOG.
 *
 * Every line passes through lib/oci/redact.ts on its way out (pino's `streamWrite` hook):
 * store URLs with user-info, signed URLs and Authorization values can reach a log line
 * from many places (an error's message, its cause, a field), and the finished line is the
 * one place they all meet.
 */
import pino from "pino";
import { redact } from "./oci/redact.ts";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** pino's options for every logger of the program (tests pass their own destination). */
export function logOptions(level: LogLevel = "info"): pino.LoggerOptions {
  return {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: { streamWrite: redact },
  };
}

export function createLogger(
  opts: { level?: LogLevel; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(logOptions(opts.level), opts.destination ?? stderr());
}

/**
 * Standard error, written asynchronously (issue 11): with the access log on, every request
 * is a line, and a synchronous write(2) per line puts the disk or the pipe on the request
 * path. sonic-boom (pino's destination) writes at once when no write is pending, and
 * gathers the lines that arrive meanwhile into the next write; {@link flushLogs} writes
 * what is left before the process exits. One destination per process: every logger made
 * here shares it, so lines keep their order.
 */
let destination: ReturnType<typeof pino.destination> | undefined;
function stderr(): pino.DestinationStream {
  destination ??= pino.destination({ fd: 2, sync: false });
  return destination;
}

/**
 * Writes every buffered line now (synchronously): before the process exits, and before an
 * error report is printed, so the log and the report stay in order.
 */
export function flushLogs(): void {
  try {
    destination?.flushSync();
  } catch {
    // Nothing buffered, or stderr is gone: nothing more can be written anyway.
  }
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = pino({ level: "silent" });
