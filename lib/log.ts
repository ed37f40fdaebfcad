/**
 * @module
 * Logging: pino, one JSON line per event on stderr (stdout stays free for command output
 * such as `check --json`). `level` comes from config (`log.level`) or STATIC_REGISTRY_LOG.
 * The access log (lib/server/access_log.ts) writes its lines to the same
 * {@link LineSink} (lib/log_sink.ts), buffered; event lines are written at once.
 *
 * Every event line passes through lib/oci/redact.ts on its way out (pino's `streamWrite`
 * hook): store URLs with user-info, signed URLs and Authorization values can reach a log
 * line from many places (an error's message, its cause, a field), and the finished line
 * is the one place they all meet.
 */
import pino from "pino";
import { fdSink, type LineSink } from "./log_sink.ts";
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

/**
 * A logger writing through `sink` (default: a new one on stderr), unbuffered (its
 * `write`); tests pass a pino `destination` instead.
 */
export function createLogger(
  opts: { level?: LogLevel; destination?: pino.DestinationStream; sink?: LineSink } = {},
): Logger {
  if (opts.destination) return pino(logOptions(opts.level), opts.destination);
  const sink = opts.sink ?? fdSink(2);
  return pino(logOptions(opts.level), { write: (line: string) => sink.write(line) });
}

/**
 * A logger that drops everything, for tests. Its destination is given: without one pino
 * opens `process.stdout` when this module loads, and on Bun that evaluates node:stream,
 * about 30 ms of every command's start (issue 13).
 */
export const silentLogger: Logger = pino({ level: "silent" }, { write() {} });
