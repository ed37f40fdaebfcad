/**
 * @module
 * `openSource(spec)`: a {@link Source} from a spec parsed once (spec.ts), one transport
 * file each. Archives (`oci-archive:`, `docker-archive:`) are unpacked into a temporary
 * directory that {@link Source.close} removes; `openLayout` is the `oci:`/`oci-archive:`
 * half that `import` uses to walk a whole layout.
 *
 * Each transport's module is imported when a spec names it: the archive reader (tar-stream,
 * node:zlib) and the layout reader (node:stream) cost a `publish docker://` several ms of
 * its start on Bun and are never used by it (issue 13: as fast as skopeo).
 */
import * as fs from "node:fs/promises";
import { UsageError } from "../cli/usage.ts";
import type { DockerRegistryOptions } from "./docker_registry.ts";
import type { OciLayoutSource } from "./oci_layout.ts";
import type { Source } from "./source.ts";
import { parseSourceSpec, type SourceSpec } from "./spec.ts";

/** Options for sources that need them (`docker://`: credentials, timeout). */
export type OpenSourceOptions = DockerRegistryOptions;

/**
 * Opens a source from its spec (text, or as parseSourceSpec returned it). Throws
 * UsageError for a bad spec or a missing archive file.
 *
 * @example
 * ```ts
 * const source = await openSource("oci-archive:./hello.tar:v1");
 * try {
 *   console.log(await source.resolve());
 * } finally {
 *   await source.close();
 * }
 * ```
 */
export async function openSource(
  spec: string | SourceSpec,
  opts: OpenSourceOptions = {},
): Promise<Source> {
  const s = typeof spec === "string" ? parseSourceSpec(spec) : spec;
  switch (s.transport) {
    case "oci":
    case "oci-archive":
      return await openLayout(s);
    case "docker-archive":
      await requireFile(s.path, s.text);
      return await (await import("./docker_archive.ts")).openDockerArchive(s.path, s.ref, s.text);
    case "docker": {
      const { DockerRegistrySource } = await import("./docker_registry.ts");
      return new DockerRegistrySource(s.ref, s.text, opts);
    }
  }
}

/** An `oci:` or `oci-archive:` spec as a layout: every entry of its index.json readable. */
export async function openLayout(
  s: SourceSpec & { transport: "oci" | "oci-archive" },
): Promise<OciLayoutSource> {
  if (s.transport === "oci") {
    const { OciLayoutSource } = await import("./oci_layout.ts");
    return new OciLayoutSource(s.path, s.tag, s.text);
  }
  await requireFile(s.path, s.text);
  return await (await import("./oci_archive.ts")).openOciArchive(s.path, s.tag, s.text);
}

/** A missing archive is the user's mistake (exit 2), not an unpacking failure. */
async function requireFile(file: string, spec: string): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`source "${spec}": archive ${file} not found`);
  }
}
