/**
 * @module
 * `static-registry sync FILE --to STORE [--json] [--concurrency N] [--rate R] [--dry-run]
 * [--timeout D] [--config FILE]`: a thin wrapper over lib/sync. FILE is read and checked
 * whole before the first request (a bad file: exit 2, naming the line and the field).
 * One line per image as it finishes, then a summary (or one JSON document with `--json`).
 * Exit status: 0 when every image was copied or already there, 1 when any failed (the
 * others are still synced), 2 for usage errors, 130/143 when interrupted.
 */
import * as fs from "node:fs/promises";
import process from "node:process";
import { UsageError } from "./usage.ts";
import { duration, integer, parseFlags } from "./flags.ts";
import { writeStoreArg } from "./store_arg.ts";
import { authFile, fileCredentials } from "../sources/registry_auth.ts";
import { defaultProgress, formatBytes } from "../publish/progress.ts";
import { onInterrupt } from "../publish/interrupt.ts";
import { parseSyncFile, type SyncFile } from "../sync/file.ts";
import { parseRate } from "../sync/rate.ts";
import { type ImageResult, sync, type SyncSummary } from "../sync/sync.ts";

export const SYNC_USAGE = `Usage: static-registry sync FILE --to STORE [--json] [--concurrency N]
                            [--rate R] [--dry-run] [--timeout DURATION] [--config FILE]

Mirrors images from other registries into a store; run it again to keep the store
current (an unchanged image costs one manifest request).

  FILE       lines "docker://HOST/REPO[:TAG|@DIGEST] [TARGET-REPO]" (# comments), or a
             YAML/JSON document:
               rate: 10/s
               concurrency: 4
               images:
                 - source: docker://HOST/REPO      # no tag: every tag, after the filters
                   target: mirror/repo             # default: REPO
                   tags: { regex: "^v", semver: ">=1 <2", newest: 3 }
                   platforms: [linux/amd64, linux/arm64/v8]   # default: all
                   signatures: true
             A digest-pinned image is stored untagged (pulled by digest).
  --to STORE           a directory (created if missing) or s3://bucket/prefix
  --concurrency N      images copied at once (1-64; default: the file's, else 4)
  --rate R             requests to each upstream host, like "10/s" or "600/m"
                       (default: the file's, else unlimited)
  --dry-run            compare only: list what would be copied, write nothing
  --timeout DURATION   give up on a response that does not start, or a body that sends
                       nothing, for this long (default 30s / 60s); failed GETs are
                       retried with backoff, 5 attempts in all
  --json               one JSON document: totals and every image
  -c, --config FILE    S3 settings for --to (the "s3" key)
Credentials come from REGISTRY_AUTH_FILE, else $DOCKER_CONFIG/config.json or
~/.docker/config.json (Basic and token auth).
`;

interface Parsed {
  file: string;
  to?: string;
  config?: string;
  json: boolean;
  dryRun: boolean;
  concurrency?: number;
  rate?: number;
  timeoutMs?: number;
}

/** Parses the arguments after `sync`; throws UsageError naming the bad one. */
export function parseSyncArgs(argv: string[]): Parsed | "help" {
  const { flags, positionals } = parseFlags(argv, {
    to: { type: "string" },
    config: { type: "string", short: "c" },
    json: { type: "boolean" },
    "dry-run": { type: "boolean" },
    concurrency: { type: "string", parse: integer(1, 64) },
    rate: { type: "string", parse: parseRateFlag },
    timeout: { type: "string", parse: duration },
  });
  if (flags.help) return "help";
  if (positionals.length !== 1) {
    throw new UsageError(
      `expected one FILE, got ${positionals.length} argument(s)` +
        (positionals.length ? `: ${positionals.map((p) => JSON.stringify(p)).join(" ")}` : ""),
    );
  }
  if (flags.to === undefined && flags.config === undefined) {
    throw new UsageError("--to <store> is required (a directory, s3://bucket/prefix)");
  }
  return {
    file: positionals[0],
    to: flags.to,
    config: flags.config,
    json: flags.json,
    dryRun: flags["dry-run"],
    concurrency: flags.concurrency,
    rate: flags.rate,
    timeoutMs: flags.timeout,
  };
}

function parseRateFlag(raw: string): number {
  try {
    return parseRate(raw);
  } catch {
    throw new Error('expected a rate like "10/s", "600/m" or "1000/h"');
  }
}

async function readSyncFile(file: string): Promise<SyncFile> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      `sync file "${file}": ${code === "ENOENT" ? "not found" : (e as Error).message}`,
    );
  }
  return parseSyncFile(text, file);
}

/** Runs `sync` with the arguments after the word `sync`. */
export async function syncCommand(argv: string[]): Promise<number> {
  const args = parseSyncArgs(argv);
  if (args === "help") {
    process.stdout.write(SYNC_USAGE);
    return 0;
  }
  const file = await readSyncFile(args.file);
  const { store } = await writeStoreArg({ store: args.to, config: args.config, flag: "--to" });
  const auth = authFile(process.env);
  const interrupt = onInterrupt();
  // One display for the run (per-blob lines of every image copying, a total line; plain
  // lines every few seconds without a terminal). The per-image lines go above it when both
  // streams are the terminal, else to stdout as they are.
  const display = args.json ? undefined : defaultProgress("sync");
  const say = (line: string) =>
    display?.print && process.stdout.isTTY ? display.print(line) : console.log(line);
  let summary: SyncSummary;
  try {
    summary = await sync({
      images: file.images,
      store,
      concurrency: args.concurrency ?? file.concurrency,
      rate: args.rate ?? file.rate,
      dryRun: args.dryRun,
      credentials: auth && fileCredentials(auth.file, auth.required),
      timeoutMs: args.timeoutMs,
      signal: interrupt.signal,
      onImage: args.json ? undefined : (r) => say(imageLine(r)),
      progress: display,
    });
  } finally {
    display?.stop();
    interrupt.dispose();
  }
  console.log(args.json ? JSON.stringify(summary) : summaryLine(summary, store.location));
  if (summary.failed) {
    throw new Error(
      `sync: ${summary.failed} of ${summary.images.length} image(s) failed (the others are synced)`,
    );
  }
  return 0;
}

function imageLine(r: ImageResult): string {
  const to = `${r.source} -> ${r.target}`;
  switch (r.status) {
    case "copied": {
      const moved = r.previous ? `, moved from ${r.previous}` : "";
      return `copied   ${to} (${r.digest}, ${r.blobs} blob(s), ${formatBytes(r.bytes)}${moved})`;
    }
    case "skipped":
      return `skipped  ${to} (unchanged, ${r.digest})`;
    case "would-copy":
      return `would copy ${to} (${r.digest}${r.previous ? `, now ${r.previous}` : ""})`;
    case "failed":
      return `failed   ${to} (${r.where}): ${r.error}`;
  }
}

function summaryLine(s: SyncSummary, to: string): string {
  const dry = s.wouldCopy ? `, ${s.wouldCopy} would be copied (dry run)` : "";
  return `sync to ${to}: ${s.copied} copied, ${s.skipped} skipped, ${s.failed} failed${dry}; ` +
    `${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s (${s.mbPerSecond.toFixed(1)} MB/s)`;
}
