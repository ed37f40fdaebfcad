/**
 * @module
 * `static-registry gc --store STORE [--grace 24h] [--dry-run] [--json]`: a thin wrapper
 * over lib/lifecycle/gc.ts. Exit 0 when done (also when nothing was garbage), 1 when the
 * gc failed or aborted (an unreadable tag index: nothing removed), 2 for usage errors
 * (an HTTP store, a grace below the floor without --grace-unsafe).
 */
import process from "node:process";
import { defaultProgress } from "../publish/progress.ts";
import { durationProblem, parseDuration } from "../config/duration.ts";
import { DEFAULT_GRACE_MS, gc, type GcReport, MIN_GRACE_MS } from "../lifecycle/gc.ts";
import { createLogger } from "../log.ts";
import { formatBytes } from "../publish/progress.ts";
import { isSweepStore } from "../store/store.ts";
import { parseFlags } from "./flags.ts";
import { readStoreArg } from "./store_arg.ts";
import { UsageError } from "./usage.ts";

export const GC_HELP =
  `Usage: static-registry gc --store STORE [--grace DURATION] [--dry-run] [--json]

Removes what no repository of the store references: blobs and manifests under blobs/
last written at least the grace period ago, temp files of dead publishers, and multipart
uploads (S3) never completed. Safe while publishers run: objects of a publish in progress
are younger than the grace period, and a publish re-checks the objects it found already
present before it writes its tag index (gc holds the store lock "gc" for its run and
waits 2s after taking it). A tag index that cannot be read aborts the gc before anything
is removed; so does a directory without static-registry.json (not a store).

Marked: every manifest and blob any tag index lists (tagged, untagged, referrers), for
every repository of the catalog and every repositories/*/_index.json. The grace period
is measured on the store's clock (file mtime, S3 LastModified / Initiated).

Exit status: 0 done, 1 failed or aborted (nothing removed on abort), 2 usage error.

Options:
      --store STORE       a directory or s3://bucket/prefix (HTTP stores are read-only)
  -c, --config FILE       s3 settings (and the store, without --store) from a config file
      --grace DURATION    keep unreferenced objects younger than this (default 24h; at
                          least ${MIN_GRACE_MS / 60_000}m)
      --grace-unsafe      allow a grace below ${
    MIN_GRACE_MS / 60_000
  }m: only when nothing publishes meanwhile
      --dry-run           list what would be removed; remove nothing (no lock, no wait;
                          only a clock probe, .gc/clock, is written and removed again)
      --json              print the report as JSON
  -h, --help              this text
`;

/** Runs `gc` with the arguments after the word `gc`; resolves to the exit status. */
export async function gcCommand(argv: string[]): Promise<number> {
  const { flags, positionals } = parseFlags(argv, {
    store: { type: "string" },
    config: { type: "string", short: "c" },
    grace: { type: "string", parse: grace },
    "grace-unsafe": { type: "boolean" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  });
  if (flags.help) {
    process.stdout.write(GC_HELP);
    return 0;
  }
  if (positionals.length) {
    throw new UsageError(`gc takes no arguments, got ${JSON.stringify(positionals[0])}`);
  }
  const log = createLogger({ level: "warn" });
  const { store } = await readStoreArg({
    store: flags.store,
    config: flags.config,
    flag: "--store",
  }, log);
  if (!isSweepStore(store)) {
    throw new UsageError(
      `--store ${store.location}: cannot collect garbage there (HTTP stores are read-only; ` +
        "run gc against the directory or bucket behind it)",
    );
  }
  const report = await gc({
    store,
    graceMs: flags.grace ?? DEFAULT_GRACE_MS,
    unsafeGrace: flags["grace-unsafe"],
    dryRun: flags["dry-run"],
    log,
    ...(flags.json ? {} : { progress: defaultProgress("gc") }),
  });
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return 0;
}

/** `--grace`: a duration, 0 allowed (the floor is checked by gc, with --grace-unsafe). */
function grace(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === null) throw new Error('expected a duration like "24h" or "30m"');
  const problem = durationProblem(raw);
  if (problem) throw new Error(problem);
  return ms;
}

/** The text report: totals, and in a dry run every item. */
export function formatReport(r: GcReport): string {
  const verb = r.dryRun ? "would remove" : "removed";
  const lines = [
    `gc ${r.store}${r.dryRun ? " (dry run)" : ""}: ${r.repositories} repositories, ` +
    `${r.objects} object(s) under blobs/, ${r.referenced} referenced`,
    `${verb} ${r.removed.blobs.count} blob(s) (${formatBytes(r.removed.blobs.bytes)}), ` +
    `${r.removed.temp.count} temp file(s) (${formatBytes(r.removed.temp.bytes)}), ` +
    `${r.removed.uploads.count} multipart upload(s): ${r.removed.count} item(s), ` +
    `${formatBytes(r.removed.bytes)} ${r.dryRun ? "to free" : "freed"}`,
  ];
  if (r.young.count) {
    lines.push(
      `kept ${r.young.count} unreferenced blob(s) (${formatBytes(r.young.bytes)}) younger ` +
        `than the grace period (${formatAge(r.graceMs)})`,
    );
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  if (r.dryRun) {
    for (const i of r.items) {
      lines.push(
        `  ${i.kind.padEnd(6)} ${i.key}${i.uploadId ? ` (upload ${i.uploadId})` : ""}  ` +
          `${formatBytes(i.size)}, ${formatAge(i.ageMs)} old`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** 90061000 → "1d1h1m1s"; under a second → "0s". */
function formatAge(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const parts: string[] = [];
  for (const [unit, n] of [["d", 86400], ["h", 3600], ["m", 60]] as const) {
    if (s >= n) {
      parts.push(`${Math.floor(s / n)}${unit}`);
      s %= n;
    }
  }
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.join("");
}
