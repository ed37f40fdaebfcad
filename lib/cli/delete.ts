/**
 * @module
 * `static-registry delete REPO:TAG|REPO@DIGEST... --from STORE [--dry-run] [--json]` and
 * its retention form `delete REPO...|--all --from STORE --keep-newest N --keep-tags REGEX
 * --keep-younger DUR`: a thin wrapper over lib/lifecycle/delete.ts. Exit status: 0 done
 * (or planned, with --dry-run), 1 when a repository, tag or digest is unknown or still
 * referenced (nothing is written then), 2 for usage errors (the message names the
 * argument or flag).
 */
import { UsageError } from "./usage.ts";
import { integer, parseFlags } from "./flags.ts";
import { writeStoreArg } from "./store_arg.ts";
import { digestProblem } from "../oci/digest.ts";
import { isTag, nameProblem, splitRepoTag } from "../oci/reference.ts";
import { parseDuration } from "../config/duration.ts";
import { deleteImages, type DeleteTarget, type RepoDeletion } from "../lifecycle/delete.ts";
import { hasRule, type RetentionPolicy } from "../lifecycle/retention.ts";

export const DELETE_USAGE =
  `Usage: static-registry delete REPO:TAG|REPO@DIGEST... --from STORE [--dry-run] [--json]
       static-registry delete REPO...|--all --from STORE [--keep-newest N]
                              [--keep-tags REGEX] [--keep-younger DURATION] [--dry-run] [--json]

Takes tags, or manifests by digest, out of repositories' tag indexes. A manifest goes with
everything only it references in that repository (platform children, referrers such as
signatures, blob entries); content another tag still uses stays. Deleting a digest also
removes the tags pointing at it; a digest a remaining tag still needs (a platform of a
tagged index) is refused unless that tag is deleted too. A repository left with nothing
leaves the catalog. Objects stay in the store: "static-registry gc" reclaims them.

Retention (per repository; a tag stays when ANY rule keeps it; tags published before
set times were recorded count as the oldest):
  --keep-newest N          keep the N tags set most recently
  --keep-tags REGEX        keep tags matching REGEX (anywhere; anchor with ^...$)
  --keep-younger DURATION  keep tags set less than DURATION ago ("72h", "30m")
  --all                    apply to every repository of the catalog

Options:
  --from STORE    the store (a directory, or s3://bucket/prefix with --config's s3 settings)
  -c, --config FILE
                  config file for S3 settings (and the store when --from is absent)
  --dry-run       print what would go; change nothing
  --json          print the result as JSON
  -h, --help      this text
`;

export interface ParsedDelete {
  targets: DeleteTarget[];
  retention?: { repositories: string[] | "all"; policy: RetentionPolicy };
  from?: string;
  config?: string;
  dryRun: boolean;
  json: boolean;
}

/** Parses the arguments after `delete`; throws UsageError naming the bad one. */
export function parseDeleteArgs(argv: string[]): ParsedDelete | "help" {
  const { flags, positionals } = parseFlags(argv, {
    from: { type: "string" },
    config: { type: "string", short: "c" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
    all: { type: "boolean" },
    "keep-newest": { type: "string", parse: integer(0, 1_000_000) },
    "keep-tags": { type: "string", parse: regex },
    "keep-younger": { type: "string", parse: age },
  });
  if (flags.help) return "help";
  if (flags.from === undefined && flags.config === undefined) {
    throw new UsageError("--from <store> is required (a directory, s3://bucket/prefix)");
  }
  const policy: RetentionPolicy = {
    keepNewest: flags["keep-newest"],
    keepTags: flags["keep-tags"],
    keepYoungerMs: flags["keep-younger"],
  };
  const base = {
    from: flags.from,
    config: flags.config,
    dryRun: flags["dry-run"],
    json: flags.json,
  };
  if (!hasRule(policy)) {
    if (flags.all) {
      throw new UsageError(
        "--all needs a retention rule (--keep-newest, --keep-tags, --keep-younger)",
      );
    }
    if (positionals.length === 0) {
      throw new UsageError("expected REPO:TAG or REPO@DIGEST to delete");
    }
    return { ...base, targets: positionals.map(target) };
  }
  if (flags.all && positionals.length) {
    throw new UsageError(`--all takes no repositories, got ${JSON.stringify(positionals[0])}`);
  }
  if (!flags.all && positionals.length === 0) {
    throw new UsageError("retention needs the repositories to apply to, or --all");
  }
  for (const p of positionals) {
    const why = nameProblem(p);
    if (why) {
      throw new UsageError(
        `repository "${p}": ${why}` +
          (/[:@]/.test(p) ? " (with --keep-* rules, name repositories, not tags or digests)" : ""),
      );
    }
  }
  return {
    ...base,
    targets: [],
    retention: { repositories: flags.all ? "all" : positionals, policy },
  };
}

/** `REPO:TAG` or `REPO@DIGEST`, checked with the distribution-spec grammars. */
function target(arg: string): DeleteTarget {
  const { name, tag, digest } = splitRepoTag(arg);
  const why = nameProblem(name);
  if (why) throw new UsageError(`"${arg}": repository name "${name}": ${why}`);
  if (digest !== undefined) {
    const bad = digestProblem(digest);
    if (bad) throw new UsageError(`"${arg}": digest "${digest}": ${bad}`);
    return { name, digest };
  }
  if (tag === undefined) {
    throw new UsageError(
      `"${arg}": name a tag (${name}:TAG) or a digest (${name}@sha256:...); ` +
        "to thin out whole repositories use --keep-newest, --keep-tags or --keep-younger",
    );
  }
  if (!isTag(tag)) {
    throw new UsageError(`"${arg}": tag "${tag}" must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  return { name, tag };
}

function regex(raw: string): RegExp {
  try {
    return new RegExp(raw);
  } catch (e) {
    throw new Error(`not a regular expression (${(e as Error).message})`);
  }
}

/** A retention age: any positive duration of lib/config/duration.ts (not bounded by timers). */
function age(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new Error('expected a duration like "72h" or "30m"');
  return ms;
}

/** Runs `delete` with the arguments after the word; resolves to 0, throws what failed. */
export async function deleteCommand(argv: string[]): Promise<number> {
  const args = parseDeleteArgs(argv);
  if (args === "help") {
    console.log(DELETE_USAGE);
    return 0;
  }
  // Never created: deleting from a directory that is not a store is an error, not a new store.
  const { store } = await writeStoreArg(
    { store: args.from, config: args.config, flag: "--from" },
    undefined,
    { create: false, action: "delete from" },
  );
  const result = await deleteImages({
    store,
    targets: args.targets,
    retention: args.retention,
    dryRun: args.dryRun,
  });
  if (args.json) {
    console.log(JSON.stringify({ dryRun: args.dryRun, repositories: result }));
  } else {
    console.log(formatDeletions(result, args.dryRun));
  }
  return 0;
}

/** One line per tag and manifest that goes, one summary line per repository. */
export function formatDeletions(result: readonly RepoDeletion[], dryRun: boolean): string {
  const verb = dryRun ? "would delete" : "deleted";
  const lines: string[] = [];
  for (const r of result) {
    for (const t of r.tags) lines.push(`${verb} tag ${r.name}:${t.tag} (${t.digest})`);
    for (const d of r.manifests) lines.push(`${verb} manifest ${r.name}@${d}`);
    if (!r.tags.length && !r.manifests.length) {
      lines.push(`${r.name}: nothing to delete`);
      continue;
    }
    lines.push(
      `${r.name}: ${r.tags.length} tag(s), ${r.manifests.length} manifest(s) and ` +
        `${r.blobs.length} blob entr${r.blobs.length === 1 ? "y" : "ies"} ` +
        `${dryRun ? "would leave" : "left"} the tag index` +
        (r.emptied ? `; the repository ${dryRun ? "would leave" : "left"} the catalog` : ""),
    );
  }
  if (result.length === 0) lines.push("nothing to delete");
  lines.push(
    dryRun
      ? "dry run: nothing was changed"
      : 'objects stay in the store until "static-registry gc" reclaims them',
  );
  return lines.join("\n");
}
