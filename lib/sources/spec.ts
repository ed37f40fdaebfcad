/**
 * @module
 * Source specs in skopeo's transport syntax (containers-transports(5)), parsed once into a
 * {@link SourceSpec} that `openSource()` opens and the CLI takes the default tag from:
 *
 * | spec                          | path / reference               | tag                  |
 * | ----------------------------- | ------------------------------ | -------------------- |
 * | `oci:DIR[:TAG]`               | DIR (up to the first `:`)      | TAG                  |
 * | `oci-archive:FILE[:TAG]`      | FILE (up to the first `:`)     | TAG                  |
 * | `docker-archive:FILE[:REF]`   | FILE; REF `name:tag` or `@N`   | the tag of REF       |
 * | `docker://HOST/REPO[:TAG]`    | docker_reference.ts            | TAG, else `latest`   |
 */
import { UsageError } from "../cli/usage.ts";
import { type ArchiveRef, parseArchiveRef } from "./archive_ref.ts";
import { type DockerReference, parseDockerReference } from "./docker_reference.ts";

/** The transports `openSource()` understands. */
export const TRANSPORTS = ["oci:", "oci-archive:", "docker-archive:", "docker://"] as const;

/** A parsed source spec; `text` is the spec as written, for messages. */
export type SourceSpec =
  | { transport: "oci" | "oci-archive"; text: string; path: string; tag?: string }
  | {
    transport: "docker-archive";
    text: string;
    path: string;
    ref?: ArchiveRef;
    tag?: string;
  }
  | { transport: "docker"; text: string; ref: DockerReference; tag?: string };

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
 * Parses a source spec (table in the module doc). Throws UsageError naming the spec for an
 * unknown transport, an empty path or a malformed reference.
 *
 * @example
 * ```ts
 * parseSourceSpec("oci:./hello:v1"); // { transport: "oci", path: "./hello", tag: "v1", … }
 * ```
 */
export function parseSourceSpec(text: string): SourceSpec {
  const colon = text.indexOf(":");
  const transport = colon < 0 ? "" : text.slice(0, colon);
  const rest = text.slice(colon + 1);
  if (transport === "docker") {
    const ref = parseDockerReference(rest, text);
    return { transport, text, ref, tag: ref.tag };
  }
  if (transport === "oci" || transport === "oci-archive" || transport === "docker-archive") {
    const { path, tag } = splitPathTag(rest);
    if (!path) throw new UsageError(`source "${text}": missing path after "${transport}:"`);
    if (transport !== "docker-archive") return { transport, text, path, tag };
    const ref = tag === undefined ? undefined : parseArchiveRef(tag, text);
    return { transport, text, path, ref, tag: ref?.kind === "tag" ? ref.tag : undefined };
  }
  const known = TRANSPORTS.join(", ");
  throw new UsageError(
    `source "${text}": unknown transport${transport ? ` "${transport}:"` : ""} (use ${known})`,
  );
}
