/**
 * @module
 * `static-registry publish <source> <repo>[:<tag>] --to <store> [--config FILE]`: a thin
 * wrapper over lib/publish. Sources use skopeo's transports (`oci:DIR[:TAG]`,
 * `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]`, `docker://HOST/REPO[:TAG]`). Without `:<tag>` on the repository, the source's tag is used,
 * else "latest". A `--to` directory is created if missing; any other store (`s3://…`) is
 * opened like `serve` opens it (lib/config/open_store.ts), with S3 settings from
 * `--config`.
 * Exit status: 0 published, 1 failed, 2 usage error (the message names the argument),
 * 130/143 interrupted by SIGINT/SIGTERM (the message says what the store was left holding;
 * lib/publish/interrupt.ts).
 */
import process from "node:process";
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "./usage.ts";
import { isTag, splitRepoTag } from "../oci/reference.ts";
import { openSource } from "../sources/open.ts";
import { parseSourceSpec, type SourceSpec } from "../sources/spec.ts";
import { authFile, fileCredentials } from "../sources/registry_auth.ts";
import { parseFlags } from "./flags.ts";
import { parseDuration } from "../config/duration.ts";
import { DirStore } from "../store/dir.ts";
import type { WriteStore } from "../store/store.ts";
import { checkDestination, publish, type PublishResult } from "../publish/publish.ts";
import { defaultProgress, formatBytes } from "../publish/progress.ts";
import { describeTiming, stopwatch, type Timing } from "./progress_summary.ts";
import { Interrupted, type InterruptHandle, onInterrupt } from "../publish/interrupt.ts";

export const PUBLISH_USAGE =
  `Usage: static-registry publish <source> <repo>[:<tag>] --to <dir> [--no-clobber] [--json]

Copies an image (all platforms, and referrers found beside it) into a static layout.

  <source>   oci:DIR[:TAG]             an OCI image layout
             oci-archive:FILE[:TAG]    a tar of one
             docker-archive:FILE[:REF] \`docker save\` output; REF is name:tag or @N
             docker://HOST/REPO[:TAG]  another registry (HTTPS; plain HTTP for loopback
                                       hosts); credentials from REGISTRY_AUTH_FILE,
                                       else $DOCKER_CONFIG/config.json or ~/.docker/config.json
  --to DIR   the store (a directory; created if missing)
  --timeout DURATION
             docker:// only: give up on a response that starts, or a body that sends
             nothing, for this long ("30s", "2m"; default 30s for headers, 60s for
             body bytes); failed GETs are retried with backoff, 5 attempts in all
  --no-signatures
             copy the image alone: without it, referrers found beside the image and,
             from docker://, its referrers (API, else the sha256-<hex> tag schema) and
             cosign's sha256-<hex>.sig/.att/.sbom tags are copied too
  --no-clobber
             refuse to move an existing tag to another manifest (exit 1; publishing
             the digest the tag already has is fine)
  --json     print the result as JSON instead of a summary line (with duration_ms,
             and mb_per_s: MB of blobs copied per second)

On a terminal, stderr shows a line per blob (Waiting, Copying, Exists, Done) while they
fit, and a total line: bytes, blobs, MB/s, ETA. Elsewhere, a line every 5 s.

A tag that pointed at another manifest is moved, and publish says so:
  moved tag REPO:TAG sha256:OLD → sha256:NEW
The old manifest then leaves the tag index (unless another tag, index or referrer still
needs it), so "static-registry gc" can reclaim it.
`;

interface Parsed {
  source: SourceSpec;
  name: string;
  tag: string;
  to: string;
  config?: string;
  json: boolean;
  /** False with `--no-signatures`. */
  signatures: boolean;
  noClobber: boolean;
  /** `--timeout` in ms. */
  timeoutMs?: number;
}

/** Parses the arguments after `publish`; throws UsageError naming the bad one. */
export function parsePublishArgs(argv: string[]): Parsed | "help" {
  const { flags: values, positionals } = parseFlags(argv, {
    to: { type: "string" },
    config: { type: "string", short: "c" },
    json: { type: "boolean" },
    timeout: { type: "string" },
    "no-signatures": { type: "boolean" },
    "no-clobber": { type: "boolean" },
  });
  if (values.help) return "help";
  if (positionals.length !== 2) {
    throw new UsageError(
      `expected <source> <repo>[:<tag>], got ${positionals.length} argument(s)` +
        (positionals.length ? `: ${positionals.map((p) => JSON.stringify(p)).join(" ")}` : ""),
    );
  }
  if (!values.to) throw new UsageError("--to <store> is required");
  const source = parseSourceSpec(positionals[0]);
  const dest = positionals[1];
  const { name, tag, digest } = splitRepoTag(dest);
  if (digest !== undefined) {
    throw new UsageError(`destination "${dest}": give a tag, not a digest`);
  }
  let finalTag = tag;
  if (finalTag === undefined) {
    const fromSource = source.tag;
    if (fromSource !== undefined && !isTag(fromSource)) {
      throw new UsageError(
        `source tag "${fromSource}" is not a valid tag; name one: ${name}:<tag>`,
      );
    }
    finalTag = fromSource ?? "latest";
  }
  checkDestination(name, finalTag);
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    timeoutMs = parseDuration(values.timeout) ?? undefined;
    if (!timeoutMs || timeoutMs > MAX_TIMEOUT_MS) {
      throw new UsageError(
        `--timeout "${values.timeout}": must be a duration from 1ms to 24h, like "30s" or "2m"`,
      );
    }
  }
  return {
    source,
    name,
    tag: finalTag,
    to: values.to,
    config: values.config,
    json: values.json,
    signatures: !values["no-signatures"],
    noClobber: values["no-clobber"],
    timeoutMs,
  };
}

/** A `--to` that can only be a directory: no scheme (`s3://`, `https://`) nor a mistyped one. */
const PLAIN_DIR = /^(?![A-Za-z][A-Za-z0-9+.-]*:)(?!(?:s3|https?)\/\/)/i;

/**
 * The `--to` store. A plain directory, with no `--config` and no `STATIC_REGISTRY_*`
 * variable that the config loader would read, is opened here as `openStore` opens one
 * (created if missing, then it must be a directory): the config loader and the logger
 * it brings (TypeBox config schema, jsonc-parser, pino) were ~15 ms of a 0.55 s
 * `publish docker://` on Bun, spent before the first request (issue 13). Anything else,
 * and a directory that cannot be made, goes through writeStoreArg, whose errors name the
 * flag or the config key.
 */
export async function openTarget(
  args: { to: string; config?: string },
  env: Record<string, string | undefined> = process.env,
): Promise<WriteStore> {
  const configured = Object.keys(env).some((k) =>
    k.startsWith("STATIC_REGISTRY_") && k !== "STATIC_REGISTRY_DEBUG"
  );
  if (args.config === undefined && !configured && args.to !== "" && PLAIN_DIR.test(args.to)) {
    const dir = path.resolve(args.to);
    try {
      fs.mkdirSync(dir, { recursive: true });
      if (fs.statSync(dir).isDirectory()) return new DirStore(dir);
    } catch { /* writeStoreArg says what is wrong with it */ }
  }
  const { writeStoreArg } = await import("./store_arg.ts");
  return (await writeStoreArg({ store: args.to, config: args.config, flag: "--to" })).store;
}

/** Timers take at most 2^31-1 ms; a day is far past any useful wait anyway. */
const MAX_TIMEOUT_MS = 24 * 3_600_000;

function summary(r: PublishResult, t: Timing, source: string, to: string): string {
  return `published ${r.name}:${r.tag} (${r.digest}) from ${source} to ${to}: ` +
    `${r.blobsCopied} blob(s) copied (${formatBytes(r.bytesCopied)}), ` +
    `${r.blobsSkipped} already present (${formatBytes(r.bytesSkipped)}), ` +
    `${r.manifestsWritten}/${r.manifests} manifest(s) written` +
    (r.referrers || r.attachedTags.length
      ? `, with ${r.referrers} referrer(s) and ${r.attachedTags.length} cosign tag(s)`
      : "") +
    `, ${describeTiming(t)}`;
}

/** `moved tag app:1.0 sha256:old → sha256:new` (the JSON result has `moved` instead). */
export function movedLine(r: PublishResult): string {
  return `moved tag ${r.name}:${r.tag} ${r.moved!.from} → ${r.moved!.to}`;
}

/**
 * Runs `publish` with the arguments after the word `publish`; resolves to 0, throws what
 * went wrong (main.ts reports it: exit 2 for a UsageError, else 1).
 */
export async function publishCommand(argv: string[]): Promise<number> {
  const args = parsePublishArgs(argv);
  if (args === "help") {
    process.stdout.write(PUBLISH_USAGE);
    return 0;
  }
  const interrupt = onInterrupt();
  try {
    return await publishWith(args, interrupt);
  } finally {
    interrupt.dispose();
  }
}

async function publishWith(args: Parsed, interrupt: InterruptHandle): Promise<number> {
  const clock = stopwatch();
  const store = await openTarget(args);
  const auth = authFile(process.env);
  const source = await openSource(args.source, {
    credentials: auth && fileCredentials(auth.file, auth.required),
    timeoutMs: args.timeoutMs,
    idleTimeoutMs: args.timeoutMs,
  });
  try {
    const result = await publish({
      source,
      store,
      name: args.name,
      tag: args.tag,
      progress: args.json ? undefined : defaultProgress(`${args.name}:${args.tag}`),
      signal: interrupt.signal,
      signatures: args.signatures,
      noClobber: args.noClobber,
    });
    const t = clock.stop(result.bytesCopied);
    if (result.moved && !args.json) console.log(movedLine(result));
    console.log(
      args.json
        ? JSON.stringify({ ...result, ...t })
        : summary(result, t, args.source.text, store.location),
    );
    if (interrupt.received) {
      // The signal came while the tag was being written: that step completes.
      throw new Interrupted(
        interrupt.received,
        `interrupted by ${interrupt.received} after the tag was written: ` +
          `${result.name}:${result.tag} is published`,
      );
    }
  } finally {
    await source.close();
  }
  return 0;
}
