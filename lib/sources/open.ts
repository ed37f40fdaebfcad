/**
 * @module
 * `openSource(spec)`: a {@link Source} from a spec parsed once (spec.ts), one transport
 * file each. Archives (`oci-archive:`, `docker-archive:`) are unpacked into a temporary
 * directory that {@link Source.close} removes; `openLayout` is the `oci:`/`oci-archive:`
 * half that `import` uses to walk a whole layout.
 */
import * as fs from "node:fs/promises";
import { UsageError } from "../cli/usage.ts";
import { openDockerArchive } from "./docker_archive.ts";
import { type DockerRegistryOptions, DockerRegistrySource } from "./docker_registry.ts";
import { openOciArchive } from "./oci_archive.ts";
import { OciLayoutSource } from "./oci_layout.ts";
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
      return await openDockerArchive(s.path, s.ref, s.text);
    case "docker":
      return new DockerRegistrySource(s.ref, s.text, opts);
  }
}

/** An `oci:` or `oci-archive:` spec as a layout: every entry of its index.json readable. */
export async function openLayout(
  s: SourceSpec & { transport: "oci" | "oci-archive" },
): Promise<OciLayoutSource> {
  if (s.transport === "oci") return new OciLayoutSource(s.path, s.tag, s.text);
  await requireFile(s.path, s.text);
  return await openOciArchive(s.path, s.tag, s.text);
}

/** A missing archive is the user's mistake (exit 2), not an unpacking failure. */
async function requireFile(file: string, spec: string): Promise<void> {
  try {
    await fs.access(file);
  } catch {
    throw new UsageError(`source "${spec}": archive ${file} not found`);
  }
}
