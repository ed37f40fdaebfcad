/**
 * @module
 * `static-registry export` and `import`: air-gapped bundles as standard OCI image layouts
 * (thin wrappers over lib/bundle). Exit status: 0 done, 1 failed, 2 usage/config error.
 *
 *   static-registry export --from ./data [REPO[:TAG] ...] oci-archive:bundle.tar
 *   static-registry import oci-archive:bundle.tar --to s3://bucket/prefix --config cfg.json
 */
import process from "node:process";
import { UsageError } from "./usage.ts";
import { exportLayout, parseExportTarget } from "../bundle/export.ts";
import { type ImportedImage, importLayout, type ImportPass } from "../bundle/import.ts";
import { removeUnpackedNow } from "../sources/tar.ts";
import { exit } from "../runtime/runtime.ts";
import { defaultProgress, formatBytes } from "../publish/progress.ts";
import { describeTiming, stopwatch } from "./progress_summary.ts";
import { parseFlags } from "./flags.ts";
import { readStoreArg, writeStoreArg } from "./store_arg.ts";

export const EXPORT_USAGE =
  `Usage: static-registry export --from <store> [--since BUNDLE] [REPO[:TAG] ...] <oci:DIR | oci-archive:FILE>

Writes repositories of a store (all of them when none is named) as an OCI image layout:
index.json names each image "REPO:TAG" (io.containerd.image.name) and "TAG"
(org.opencontainers.image.ref.name). Blobs shared by repositories are written once.
Signatures travel along: referrers of the exported manifests as entries without a name,
cosign's sha256-<hex>.sig/.att/.sbom tags of them as tags (also for a REPO:TAG).
Into an existing layout directory, entries are merged: others are kept, one naming the
same image (io.containerd.image.name, else the same ref.name) is replaced.

  --from STORE    a directory, s3://bucket/prefix or http(s):// URL
  --since BUNDLE  incremental: leave out every object the far side holds once it has
                  imported BUNDLE (an earlier export, oci:DIR or oci-archive:FILE); the
                  bundle records what it builds on, and import refuses it unless the
                  store holds all of that. The target must be new.
  --config FILE   S3 settings (the "s3" key) and, without --from, the store
  --json          print the result as JSON (with duration_ms and mb_per_s)
`;

export const IMPORT_USAGE =
  `Usage: static-registry import <oci:DIR | oci-archive:FILE> --to <store> [--repo NAME]

Publishes every named image of an OCI image layout into a store, all or nothing: every
blob of every image is copied and verified before any tag is written. Images are named
by io.containerd.image.name (as written by export and containerd); entries with only a
tag (org.opencontainers.image.ref.name) need --repo. A name pinned by digest
(alpine@sha256:...) is imported untagged, pullable by digest: no tag moves. Entries
without a name whose subject is an imported manifest are imported as its referrers.
An incremental bundle (export --since) is imported only when the store already holds
every object it builds on; otherwise nothing is written and the first missing object
is named.

  --to STORE      a directory (created if missing) or s3://bucket/prefix
  --repo NAME     repository for entries that carry only a tag
  --config FILE   S3 settings (the "s3" key) and, without --to, the store
  --json          print the result as JSON (with duration_ms and mb_per_s)
`;

/** export and import share their flags, so each can say which flag belongs to the other. */
function parse(argv: string[]) {
  const { flags, positionals } = parseFlags(argv, {
    from: { type: "string" },
    to: { type: "string" },
    repo: { type: "string" },
    since: { type: "string" },
    config: { type: "string" },
    json: { type: "boolean" },
  });
  return { values: flags, positionals };
}

/** `export` with the arguments after the word. */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.to || values.repo) throw new UsageError("export: --to/--repo belong to import");
  if (values.help) return print(EXPORT_USAGE);
  const target = positionals.at(-1);
  if (!target) throw new UsageError("export: name the target: oci:DIR or oci-archive:FILE");
  let parsed;
  try {
    parsed = parseExportTarget(target);
  } catch (e) {
    throw new UsageError(`export: ${(e as Error).message}`);
  }
  const from = values.from;
  const clock = stopwatch();
  const { store } = await readStoreArg({
    store: from,
    config: values.config,
    flag: "--from",
  });
  const r = await exportLayout({
    store,
    target: parsed,
    select: positionals.slice(0, -1),
    progress: values.json ? undefined : defaultProgress("export"),
    since: values.since,
  });
  const t = clock.stop(r.bytes);
  if (values.json) return json({ ...r, ...t });
  const { kept, replaced } = r.merged;
  console.log(
    `exported ${r.images.length} image(s), ${r.blobs} object(s) (${formatBytes(r.bytes)}) ` +
      `from ${store.location} to ${target}` +
      (r.omitted
        ? `, ${r.omitted.objects} object(s) (${formatBytes(r.omitted.bytes)}) left out: ` +
          `held since ${values.since}`
        : "") +
      (kept || replaced
        ? `, merged into its index.json (${kept} other entr${kept === 1 ? "y" : "ies"} kept, ` +
          `${replaced} replaced)`
        : "") +
      `, ${describeTiming(t)}`,
  );
  return 0;
}

/** `import` with the arguments after the word. */
export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.from || values.since) {
    throw new UsageError(
      `import: ${values.from ? "--from" : "--since"} belongs to export; the source is positional`,
    );
  }
  if (values.help) return print(IMPORT_USAGE);
  if (positionals.length !== 1) {
    throw new UsageError(
      `import: expected one source (oci:DIR or oci-archive:FILE), got ${positionals.length}`,
    );
  }
  const clock = stopwatch();
  const { store } = await writeStoreArg({
    store: values.to,
    config: values.config,
    flag: "--to",
  });
  const progress = { pass: undefined as ImportPass | undefined, tagged: [] as string[] };
  const display = values.json ? undefined : defaultProgress("import");
  const stop = onInterrupt((signal) => {
    display?.stop(); // ends the frame's line before the message below
    interrupted(signal, progress);
  });
  let results: ImportedImage[];
  try {
    results = await importLayout({
      source: positionals[0],
      store,
      repo: values.repo,
      onPass: (p) => (progress.pass = p),
      progress: display,
      onImage: (r) => {
        const what = r.tag === undefined
          ? `${r.name}@${r.digest} (untagged)`
          : `${r.name}:${r.tag} (${r.digest})`;
        progress.tagged.push(what);
        if (values.json) return;
        console.log(
          `imported ${what}: ${r.blobsCopied} blob(s) copied, ${r.blobsSkipped} already present`,
        );
      },
    });
  } finally {
    stop();
  }
  const t = clock.stop(results.reduce((n, r) => n + r.bytesCopied, 0));
  if (values.json) return json({ images: results, ...t });
  console.log(`imported ${results.length} image(s) into ${store.location}, ${describeTiming(t)}`);
  return 0;
}

/**
 * What an interrupted import leaves, said before exiting 128+signal: the unpacked archive
 * is removed here (the `finally` that would remove it never runs), and the pass says what
 * the store holds (lib/bundle/import.ts: tags are only written in the last pass).
 */
function interrupted(signal: "SIGINT" | "SIGTERM", at: { pass?: ImportPass; tagged: string[] }) {
  const removed = removeUnpackedNow();
  const state = at.pass === "tag"
    ? `tag indexes written for ${at.tagged.length} image(s)` +
      (at.tagged.length ? ` (${at.tagged.join(", ")})` : "") + "; the others' tags are unchanged"
    : at.pass === "stage"
    ? "no tag was changed; the blobs copied so far are verified and unreferenced (a rerun reuses them)"
    : "nothing was written to the store";
  console.error(
    `static-registry: import interrupted (${signal}): ${state}` +
      (removed ? "; the unpacked archive was removed" : ""),
  );
  exit(signal === "SIGINT" ? 130 : 143);
}

/** Runs `fn` on SIGINT/SIGTERM until the returned function is called. */
function onInterrupt(fn: (signal: "SIGINT" | "SIGTERM") => void): () => void {
  const int = () => fn("SIGINT");
  const term = () => fn("SIGTERM");
  process.on("SIGINT", int);
  process.on("SIGTERM", term);
  return () => {
    process.off("SIGINT", int);
    process.off("SIGTERM", term);
  };
}

function json(v: unknown): number {
  console.log(JSON.stringify(v));
  return 0;
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}
