/**
 * @module
 * Import an OCI image layout (a directory or a tar of one) into a store: the other half
 * of the air-gapped bundle made by `export`, and a way in for layouts written by skopeo,
 * oras, crane or buildkit. Each entry of `index.json` is published with the ordinary,
 * verified, ordered publisher (lib/publish), so an interrupted import leaves no tag
 * pointing at missing content.
 *
 * An entry's destination is `io.containerd.image.name` (`repo:tag`, as written by export
 * and by containerd) when present; otherwise `--repo NAME` plus the entry's
 * `org.opencontainers.image.ref.name` as the tag. Untagged entries are not images of their
 * own: the publisher copies those whose `subject` is an imported manifest (referrers).
 */
import { UsageError } from "../cli/usage.ts";
import type { Descriptor } from "../oci/mediatypes.ts";
import { splitRepoTag } from "../oci/reference.ts";
import type { WriteStore } from "../store/store.ts";
import type { Logger } from "../log.ts";
import { REF_NAME } from "../sources/oci_layout.ts";
import { openLayout } from "../sources/open.ts";
import { parseSourceSpec } from "../sources/spec.ts";
import { publish, type PublishResult } from "../publish/publish.ts";
import type { Source } from "../sources/source.ts";
import { ANNOTATION_IMAGE_NAME } from "./export.ts";

export interface ImportOptions {
  /** `oci:DIR` or `oci-archive:FILE`. */
  source: string;
  store: WriteStore;
  /** Repository for entries that carry only a tag (ref.name). */
  repo?: string;
  log?: Logger;
  onImage?: (r: PublishResult) => void;
  /** Stops the import like a publish (lib/publish/interrupt.ts). */
  signal?: AbortSignal;
}

/** Imports every named image of the layout; resolves to one result per image. */
export async function importLayout(opts: ImportOptions): Promise<PublishResult[]> {
  const spec = /^(oci|oci-archive):/.test(opts.source) ? parseSourceSpec(opts.source) : undefined;
  if (spec?.transport !== "oci" && spec?.transport !== "oci-archive") {
    throw new UsageError(`import source "${opts.source}" must be oci:DIR or oci-archive:FILE`);
  }
  if (spec.tag !== undefined) {
    throw new UsageError(
      `import source "${opts.source}": imports the whole layout; drop ":${spec.tag}"`,
    );
  }
  const layout = await openLayout(spec);
  try {
    const entries = await layout.entries();
    const targets = entries.map((d) => ({ d, dest: destination(d, opts.repo) }));
    const named = targets.filter((t) => t.dest);
    if (named.length === 0) {
      throw new UsageError(
        `import source "${opts.source}": no entry names an image (io.containerd.image.name), ` +
          "and --repo was not given to name tagged entries",
      );
    }
    const others = (d: Descriptor) => entries.filter((e) => e.digest !== d.digest);
    const results: PublishResult[] = [];
    for (const { d, dest } of named) {
      const source: Source = {
        description: `${opts.source} (${dest!.name}:${dest!.tag})`,
        tag: dest!.tag,
        resolve: () => Promise.resolve(d),
        open: (digest) => layout.open(digest),
        related: () => Promise.resolve(others(d)),
        close: () => Promise.resolve(),
      };
      const r = await publish({
        source,
        store: opts.store,
        name: dest!.name,
        tag: dest!.tag,
        log: opts.log,
        signal: opts.signal,
      });
      results.push(r);
      opts.onImage?.(r);
    }
    return results;
  } finally {
    await layout.close();
  }
}

/** Where an index.json entry goes, or undefined for entries that are not named images. */
function destination(d: Descriptor, repo?: string): { name: string; tag: string } | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) {
    const { name, tag } = splitRepoTag(full);
    return { name, tag: tag ?? "latest" };
  }
  const tag = d.annotations?.[REF_NAME];
  if (tag && repo) return { name: repo, tag };
  return undefined;
}
