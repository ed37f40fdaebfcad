/**
 * @module
 * `static-registry [serve] [--config FILE] [--listen ADDR] [--store STORE] [--origin URL]`:
 * load the config (exit 2 on any problem, before anything starts) from the file, the flags
 * and the `STATIC_REGISTRY_*` variables (no file needed: containers, quick starts), start
 * the server, then live by signals: SIGHUP reloads, SIGTERM/SIGINT drain and exit 0.
 */
import { type ConfigWarning, loadConfig, type LoadOptions } from "../config/load.ts";
import { createLogger } from "../log.ts";
import { fdSink } from "../log_sink.ts";
import { UsageError } from "./usage.ts";
import { onSignal } from "../runtime/runtime.ts";
import { parseFlags } from "./flags.ts";
import { SERVE_HELP } from "./help.ts";
import { startInstance } from "./instance.ts";

/** Runs `serve` with the arguments after the word `serve`; resolves to the exit code. */
export async function serveCommand(argv: string[]): Promise<number> {
  const { flags: values, positionals } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    listen: { type: "string" },
    store: { type: "string" },
    origin: { type: "string", multiple: true },
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  // Without a file, flags and STATIC_REGISTRY_* variables are the whole config.
  if (
    values.config === undefined && values.store === undefined && !process.env.STATIC_REGISTRY_STORE
  ) {
    throw new UsageError(
      "serve needs --config FILE (or at least --store STORE or STATIC_REGISTRY_STORE)",
    );
  }
  // Warnings of a load are logged once the logger exists (its level is in the config).
  const warnings: ConfigWarning[] = [];
  let warn = (w: ConfigWarning): void => void warnings.push(w);
  const opts: LoadOptions = {
    file: values.config,
    flags: { listen: values.listen, store: values.store, origins: values.origin },
    env: process.env,
    resolveListen: true,
    onWarning: (w) => warn(w),
  };
  const config = await loadConfig(opts);
  // One sink for the event log and the access log: their lines keep their order on stderr.
  const sink = fdSink(2);
  const log = createLogger({ level: config.log.level, sink });
  warn = (w) => log.warn({ file: w.file, keys: w.keys }, w.message);
  warnings.forEach(warn);
  const instance = await startInstance(config, {
    log,
    sink,
    reloadConfig: () => loadConfig(opts),
  });

  const stopped = new Promise<string>((resolve) => {
    onSignal("SIGTERM", () => resolve("SIGTERM"));
    onSignal("SIGINT", () => resolve("SIGINT"));
  });
  onSignal("SIGHUP", () => {
    log.info({ file: config.file }, "SIGHUP: reloading config and index");
    void instance.reload();
  });
  const signal = await stopped;
  log.info({ signal }, "shutting down: draining in-flight requests");
  await instance.stop();
  log.info("stopped");
  return 0;
}
