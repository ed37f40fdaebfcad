/**
 * @module
 * REF of `docker-archive:FILE[:REF]` (docker_archive.ts), parsed when the spec is
 * (spec.ts). A file of its own so that parsing a spec does not load the archive reader
 * (tar-stream, node:zlib, node:stream): `publish docker://` never needs them, and on Bun
 * evaluating them was several ms of its start (issue 13).
 */
import { UsageError } from "../cli/usage.ts";

/** REF of `docker-archive:FILE:REF`: a `name:tag` or `@N`. */
export type ArchiveRef = { kind: "tag"; ref: string; tag?: string } | {
  kind: "index";
  index: number;
};

/** Parses REF; throws UsageError for a digest reference or a bad `@N`. */
export function parseArchiveRef(ref: string, spec: string): ArchiveRef {
  if (ref.startsWith("@")) {
    if (!/^@(0|[1-9][0-9]*)$/.test(ref)) {
      throw new UsageError(`source "${spec}": "${ref}" is not @N (an image index, from 0)`);
    }
    return { kind: "index", index: Number(ref.slice(1)) };
  }
  if (ref.includes("@")) {
    throw new UsageError(`source "${spec}": "${ref}": name:tag or @N, not a digest reference`);
  }
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  return colon > slash ? { kind: "tag", ref, tag: ref.slice(colon + 1) } : { kind: "tag", ref };
}
