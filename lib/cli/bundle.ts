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
import { importLayout } from "../bundle/import.ts";
import { formatBytes } from "../publish/progress.ts";
import { parseFlags } from "./flags.ts";
import { onInterrupt } from "../publish/interrupt.ts";
import { readStoreArg, writeStoreArg } from "./store_arg.ts";

export const EXPORT_USAGE =
  `Usage: static-registry export --from <store> [REPO[:TAG] ...] <oci:DIR | oci-archive:FILE>

Writes repositories of a store (all of them when none is named) as an OCI image layout:
index.json names each image "REPO:TAG" (io.containerd.image.name) and "TAG"
(org.opencontainers.image.ref.name). Blobs shared by repositories are written once.

  --from STORE    a directory, s3://bucket/prefix or http(s):// URL
  --config FILE   S3 settings (the "s3" key) and, without --from, the store
`;

export const IMPORT_USAGE =
  `Usage: static-registry import <oci:DIR | oci-archive:FILE> --to <store> [--repo NAME]

Publishes every named image of an OCI image layout into a store (verified, in the
layout's safe write order). Images are named by io.containerd.image.name (as written by
export); entries with only a tag (org.opencontainers.image.ref.name) need --repo.

  --to STORE      a directory (created if missing) or s3://bucket/prefix
  --repo NAME     repository for entries that carry only a tag
  --config FILE   S3 settings (the "s3" key) and, without --to, the store
`;

/** export and import share their flags, so each can say which flag belongs to the other. */
function parse(argv: string[]) {
  const { flags, positionals } = parseFlags(argv, {
    from: { type: "string" },
    to: { type: "string" },
    repo: { type: "string" },
    config: { type: "string" },
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
  const { store } = await readStoreArg({
    store: from,
    config: values.config,
    flag: "--from",
  });
  const r = await exportLayout({ store, target: parsed, select: positionals.slice(0, -1) });
  console.log(
    `exported ${r.images.length} image(s), ${r.blobs} object(s) (${formatBytes(r.bytes)}) ` +
      `from ${store.location} to ${target}`,
  );
  return 0;
}

/** `import` with the arguments after the word. */
export async function importCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.from) {
    throw new UsageError("import: --from belongs to export; the source is positional");
  }
  if (values.help) return print(IMPORT_USAGE);
  if (positionals.length !== 1) {
    throw new UsageError(
      `import: expected one source (oci:DIR or oci-archive:FILE), got ${positionals.length}`,
    );
  }
  const { store } = await writeStoreArg({
    store: values.to,
    config: values.config,
    flag: "--to",
  });
  const interrupt = onInterrupt();
  const results = await importLayout({
    source: positionals[0],
    store,
    repo: values.repo,
    signal: interrupt.signal,
    onImage: (r) =>
      console.log(
        `imported ${r.name}:${r.tag} (${r.digest}): ${r.blobsCopied} blob(s) copied, ` +
          `${r.blobsSkipped} already present`,
      ),
  }).finally(() => interrupt.dispose());
  console.log(`imported ${results.length} image(s) into ${store.location}`);
  return 0;
}

function print(text: string): number {
  process.stdout.write(text);
  return 0;
}
