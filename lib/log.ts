/**
 * @module
 * Logging: pino, one JSON line per event on stderr (stdout stays free for command output
 * such as `check --json`). `level` comes from config (`log.level`) or STATIC_REGISTRY_LOG.
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
  return pino(logOptions(opts.level), opts.destination ?? pino.destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = pino({ level: "silent" });
