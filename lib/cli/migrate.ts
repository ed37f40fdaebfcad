/**
 * @module
 * `static-registry migrate --store STORE [--dry-run] [--json]`: a thin wrapper over
 * lib/lifecycle/migrate.ts. Exit 0 when the store is at layout version 2 (migrated now or
 * before), 1 when the migration failed, 2 for usage errors (an HTTP store).
 */
import process from "node:process";
import { createLogger } from "../log.ts";
import { migrate, type MigrateReport } from "../lifecycle/migrate.ts";
import { parseFlags } from "./flags.ts";
import { writeStoreArg } from "./store_arg.ts";
import { UsageError } from "./usage.ts";

export const MIGRATE_HELP = `Usage: static-registry migrate --store STORE [--dry-run] [--json]

Upgrades a store from layout version 1 to 2 (docs/LAYOUT.md "Versioning"): the catalog
then records each repository's tag-index digest, so a server's refresh reads the marker
and the catalog, plus only the tag indexes that changed, instead of every tag index.
New stores are created at version 2; publish keeps a version-1 store at version 1.

Upgrade every server and publisher first: servers of builds before version 2 refuse a
version-2 store (they keep serving their last index and log the refusal; a restarted one
does not start), and publishers of those builds refuse to publish to it. Safe while this
build's servers serve and its publishers publish. Running it again does nothing.

Options:
      --store STORE   a directory or s3://bucket/prefix (HTTP stores are read-only)
  -c, --config FILE   s3 settings (and the store, without --store) from a config file
      --dry-run       say what would change; write nothing
      --json          print the report as JSON
  -h, --help          this text
`;

/** Runs `migrate` with the arguments after the word; resolves to the exit status. */
export async function migrateCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, {
    store: { type: "string" },
    config: { type: "string", short: "c" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (flags.help) {
    process.stdout.write(MIGRATE_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`migrate takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  const log = createLogger({ level: "warn" });
  const { store } = await writeStoreArg(
    { store: flags.store, config: flags.config, flag: "--store" },
    log,
    { create: false, action: "migrate" },
  );
  const report = await migrate({ store, dryRun: flags["dry-run"], log });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}

function formatReport(r: MigrateReport): string {
  if (!r.changed) return `${r.store}: already layout version 2 (${r.repositories} repositories)\n`;
  const verb = r.dryRun ? "would migrate" : "migrated";
  return `${r.store}: ${verb} from layout version ${r.from} to 2 (${r.repositories} repositories)\n`;
}
