/**
 * @module
 * `static-registry check --config FILE [--json] [--concurrency N] [--timeout DURATION]`:
 * loads the index from the configured store and HEADs every object any tag references on
 * every configured origin (lib/origins/check.ts); with mounts, each mount's store against
 * its own origins. Exit 0 when every origin holds every
 * object with the right size, 1 when anything is missing, wrong or unreachable, 2 for usage
 * and config errors. Output (table or JSON) goes to stdout, logs to stderr.
 */
import process from "node:process";
import { loadConfig } from "../config/load.ts";
import { storesOf } from "../config/mounts.ts";
import { Registry } from "../index/registry.ts";
import { createLogger } from "../log.ts";
import { redactDeep } from "../oci/redact.ts";
import { UsageError } from "./usage.ts";
import { check, formatReport, referencedObjects } from "../origins/check.ts";
import { createOrigins } from "../origins/origins.ts";
import { openStore } from "../config/open_store.ts";
import { duration, integer, parseFlags } from "./flags.ts";

export const CHECK_HELP =
  `Usage: static-registry check --config FILE [--json] [--concurrency N] [--timeout DURATION]

HEADs every object that every tag references (manifests, index children, configs, layers;
each digest once) on every origin of the config, and reports what is missing or has the
wrong size on which origin. For monitoring: exit 0 when all is well, 1 when anything is
wrong or an origin cannot be reached, 2 for usage or config errors.

Options:
  -c, --config FILE          config file (JSON), the same one "serve" uses
      --store STORE          read the index from this store instead of the file's
      --json                 print the report as JSON instead of a table
      --concurrency N        HEAD requests in flight at once (default 16)
      --timeout DURATION     per-request timeout, e.g. "10s" (default 30s)
  -h, --help                 this text
`;

/** Runs `check` with the arguments after the word `check`; resolves to the exit code. */
export async function checkCommand(argv: string[]): Promise<number> {
  const { flags: values, positionals } = parseFlags(argv, {
    config: { type: "string", short: "c" },
    store: { type: "string" },
    json: { type: "boolean" },
    concurrency: { type: "string", parse: integer(1, 1024) },
    timeout: { type: "string", parse: duration },
  });
  if (values.help) {
    console.log(CHECK_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`check takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  if (values.config === undefined) throw new UsageError("check needs --config FILE");
  const concurrency = values.concurrency ?? 16;
  const timeout = values.timeout ?? 30_000;

  const config = await loadConfig({
    file: values.config,
    flags: { store: values.store },
    env: process.env,
  });
  // Every store with origins: the root and each mount (federation), each against its own
  // origins. Origin names are unique across the config, so the reports merge by name.
  const stores = storesOf(config).filter((m) => m.origins.length > 0);
  if (stores.length === 0) {
    throw new UsageError(`config ${JSON.stringify(values.config)}: no origins to check`);
  }
  const log = createLogger({ level: config.log.level });
  const reports = [];
  for (const m of stores) {
    const registry = new Registry(openStore(m.store, { log }), { log });
    await registry.load();
    const indexes = registry.repositories().map((name) => registry.repo(name)!.index);
    const objects = referencedObjects(indexes).map((o) =>
      m.prefix ? { ...o, ref: `${m.prefix}/${o.ref}` } : o
    );
    // No health checker: check asks every origin, healthy or not, and says what it found.
    const origins = createOrigins({
      origins: m.origins,
      health: config.health,
      verifyBlobs: config.verifyBlobs,
      log,
    });
    reports.push(await check({ objects, targets: origins.list, concurrency, timeout }));
  }
  // Redacted: a problem's reason quotes the URL it HEADed (user-info, presign signature).
  const report = redactDeep({
    ok: reports.every((r) => r.ok),
    objects: reports.reduce((n, r) => n + r.objects, 0),
    origins: reports.flatMap((r) => r.origins),
    problems: reports.flatMap((r) => r.problems),
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else process.stdout.write(formatReport(report));
  return report.ok ? 0 : 1;
}
