/**
 * @module
 * Image sources for `publish`, named with skopeo's transport syntax (containers-transports(5)):
 * `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]` (docker_archive.ts)
 * and `docker://HOST/REPO[:TAG]` (docker_registry.ts). A {@link Source} resolves to the root
 * descriptor and opens blobs by digest, so transports plug in without touching the copy.
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { UsageError } from "../oci/errors.ts";
import { OciLayoutSource } from "./oci_layout.ts";
import { openOciArchive } from "./oci_archive.ts";
import { openDockerArchive, parseArchiveRef } from "./docker_archive.ts";
import {
  type DockerRegistryOptions,
  DockerRegistrySource,
  parseDockerReference,
} from "./docker_registry.ts";

/** Where an image comes from. */
export interface Source {
  /** The source as the user wrote it, for messages: `oci:/tmp/img:v1`. */
  readonly description: string;
  /** The tag the source names, if any (used as the destination tag when none is given). */
  readonly tag?: string;
  /** The root descriptor: an image manifest or an index. */
  resolve(): Promise<Descriptor>;
  /** Streams a blob or manifest. Throws an Error naming the digest when it is missing. */
  open(digest: string): Promise<{ body: ReadableStream<Uint8Array>; size: number }>;
  /**
   * Other manifests the source holds besides the root (for an OCI layout: the rest of
   * index.json). publish copies those whose `subject` is a published manifest (referrers).
   */
  related(): Promise<Descriptor[]>;
  /** Releases what the source holds (temporary directories). */
  close(): Promise<void>;
}

/** The transports `publish` understands. */
export const TRANSPORTS = ["oci:", "oci-archive:", "docker-archive:", "docker://"] as const;

/** Options for sources that need them (`docker://`: credentials, timeout). */
export type OpenSourceOptions = DockerRegistryOptions;

/**
 * The tag a source spec names, without opening it (the default destination tag):
 * `oci:DIR:v1` → `v1`, `docker-archive:F:name:v1` → `v1`, `docker://h/r:v1` → `v1`.
 * Throws UsageError for a malformed `docker://` or `docker-archive:` reference.
 */
export function sourceTag(spec: string): string | undefined {
  const colon = spec.indexOf(":");
  const transport = colon < 0 ? "" : spec.slice(0, colon + 1);
  const rest = spec.slice(colon + 1);
  if (transport === "oci:" || transport === "oci-archive:") return splitPathTag(rest).tag;
  if (transport === "docker-archive:") {
    const ref = splitPathTag(rest).tag;
    const parsed = ref === undefined ? undefined : parseArchiveRef(ref, spec);
    return parsed?.kind === "tag" ? parsed.tag : undefined;
  }
  if (transport === "docker:") return parseDockerReference(rest, spec).tag;
  return undefined;
}

/**
 * Splits `PATH[:TAG]` the way skopeo does for `oci:` and `oci-archive:` (the first `:`
 * separates the path from the image reference).
 */
export function splitPathTag(ref: string): { path: string; tag?: string } {
  const i = ref.indexOf(":");
  if (i < 0) return { path: ref };
  const tag = ref.slice(i + 1);
  return tag === "" ? { path: ref.slice(0, i) } : { path: ref.slice(0, i), tag };
}

/**
 * Opens a source from its transport string. Throws UsageError for an unknown transport or
 * an empty path. `oci-archive:` and `docker-archive:` sources are unpacked into a temporary
 * directory that {@link Source.close} removes.
 */
export async function openSource(spec: string, opts: OpenSourceOptions = {}): Promise<Source> {
  const colon = spec.indexOf(":");
  const transport = colon < 0 ? "" : spec.slice(0, colon + 1);
  const rest = spec.slice(colon + 1);
  if (transport === "oci:" || transport === "oci-archive:") {
    const { path, tag } = splitPathTag(rest);
    if (!path) throw new UsageError(`source "${spec}": missing path after "${transport}"`);
    if (transport === "oci:") return new OciLayoutSource(path, tag, spec);
    return await openOciArchive(path, tag, spec);
  }
  if (transport === "docker-archive:") {
    const { path, tag } = splitPathTag(rest);
    if (!path) throw new UsageError(`source "${spec}": missing path after "${transport}"`);
    return await openDockerArchive(path, tag, spec);
  }
  if (transport === "docker:") return new DockerRegistrySource(spec, opts);
  const known = TRANSPORTS.join(", ");
  throw new UsageError(
    `source "${spec}": unknown transport${transport ? ` "${transport}"` : ""} (use ${known})`,
  );
}
