/**
 * @module
 * Logging: pino, one JSON line per event on stderr (stdout stays free for command output
 * such as `check --json`). `level` comes from config (`log.level`) or STATIC_REGISTRY_LOG.
 */
import pino from "pino";

export type Logger = pino.Logger;
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export function createLogger(opts: { level?: LogLevel } = {}): Logger {
  return pino(
    { level: opts.level ?? "info", base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = pino({ level: "silent" });
