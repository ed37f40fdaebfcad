/**
 * @module
 * `static-registry check --config FILE [--deep] [--json] [--concurrency N] [--timeout DURATION]`:
 * loads the index from the configured store and HEADs every object any tag references on
 * every configured origin (lib/origins/check.ts); with mounts, each mount's store against
 * its own origins. A store without origins (an air-gapped directory, which clients are
 * served from directly) is checked itself: every referenced object present with its size,
 * and with `--deep` its digest; `--deep` checks the store's own copy of a store with
 * origins too. Exit 0 when every origin and store holds every object with the right size,
 * 1 when anything is missing, wrong or unreachable, 2 for usage and config errors. Output
 * (table or JSON) goes to stdout, logs to stderr.
 */
import process from "node:process";
import { loadConfig } from "../config/load.ts";
import { storesOf } from "../config/mounts.ts";
import { Registry } from "../index/registry.ts";
import { createLogger } from "../log.ts";
import { redactDeep } from "../oci/redact.ts";
import { UsageError } from "./usage.ts";
import {
  check,
  type CheckReport,
  formatReport,
  referencedObjects,
  type StoreCheck,
} from "../origins/check.ts";
import { objectProblem } from "../publish/verify.ts";
import { MARKER_KEY } from "../layout/keys.ts";
import type { ReadStore } from "../store/store.ts";
import { createOrigins } from "../origins/origins.ts";
import { openStore } from "../config/open_store.ts";
import { duration, integer, parseFlags } from "./flags.ts";

export const CHECK_HELP =
  `Usage: static-registry check --config FILE [--deep] [--json] [--concurrency N] [--timeout DURATION]

HEADs every object that every tag references (manifests, index children, configs, layers;
each digest once) on every origin of the config, and reports what is missing or has the
wrong size on which origin. A store without origins (an air-gapped directory) is checked
itself: every object present with its size, and with --deep its digest. An origin or
store that does not answer is one finding ("unreachable"). For monitoring: exit 0 when
all is well, 1 when anything is wrong or cannot be reached, 2 for usage or config errors.

Options:
  -c, --config FILE          config file (JSON), the same one "serve" uses
      --store STORE          read the index from this store instead of the file's
      --deep                 also hash every object in the store itself (sha256 of the
                             bytes), for stores with origins too (reads every byte)
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
    deep: { type: "boolean" },
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
  // Every store, the root and each mount (federation): against its own origins, and
  // itself when it has none (clients are served from it) or with --deep. Origin names are
  // unique across the config and store rows are named `store[:prefix]`, so reports merge.
  const log = createLogger({ level: config.log.level });
  const reports: CheckReport[] = [];
  for (const m of storesOf(config)) {
    const store = await openStore(m.store, { log });
    const registry = new Registry(store, { log });
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
    const self = m.origins.length === 0 || values.deep
      ? [storeCheck(store, m.prefix ? `store:${m.prefix}` : "store", values.deep)]
      : [];
    reports.push(
      await check({ objects, targets: origins.list, stores: self, concurrency, timeout }),
    );
  }
  // Redacted: a problem's reason quotes the URL it HEADed (user-info, presign signature).
  const stores = reports.flatMap((r) => r.stores ?? []);
  const report = redactDeep({
    ok: reports.every((r) => r.ok),
    objects: reports.reduce((n, r) => n + r.objects, 0),
    origins: reports.flatMap((r) => r.origins),
    ...(stores.length ? { stores } : {}),
    problems: reports.flatMap((r) => r.problems),
  });
  if (values.json) console.log(JSON.stringify(report, null, 2));
  else process.stdout.write(formatReport(report));
  return report.ok ? 0 : 1;
}

/**
 * The store checked itself (lib/publish/verify.ts `objectProblem`): reachable when its
 * marker can be stat'ed at all (the index was just read from it, so this catches a store
 * that went away since), each object by size, with `deep` by digest.
 */
function storeCheck(store: ReadStore, name: string, deep: boolean): StoreCheck {
  return {
    name,
    location: store.location,
    async reachable() {
      try {
        await store.stat(MARKER_KEY);
        return null;
      } catch (e) {
        return `stat ${MARKER_KEY}: ${(e as Error).message}`;
      }
    },
    async test(o) {
      const p = await objectProblem(store, o.digest, o.size, { deep });
      return p ? { ok: false, ...p } : { ok: true };
    },
  };
}
