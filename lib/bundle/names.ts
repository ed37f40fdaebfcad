/**
 * @module
 * Where `import` puts an entry of a layout's `index.json`: the repository and tag its
 * annotations name (image-spec §"Pre-Defined Annotation Keys"), or nothing for entries
 * that are not images of their own (referrers, found through their `subject`).
 *
 * - `io.containerd.image.name` (export and containerd write it) is a full reference:
 *   `NAME[:TAG][@DIGEST]`. containerd names an image pulled by digest
 *   `docker.io/library/alpine@sha256:…`: such a digest-pinned name has no tag, so the
 *   image is imported untagged (pullable by digest) unless the entry's
 *   `org.opencontainers.image.ref.name` is a tag. A bare `NAME` means `NAME:latest`, as a
 *   pull of `NAME` does; a digest-pinned name never does.
 * - Otherwise `--repo` names the repository and `org.opencontainers.image.ref.name` the
 *   tag. containerd writes that annotation as the reference's object (`3.19`,
 *   `3.19@sha256:…`, `@sha256:…`), older tools a full reference (`docker.io/x/y:3.19`):
 *   the tag is what stands before the `@` and after the name, and a digest alone is
 *   untagged.
 *
 * The digest in a pinned name is not compared with the entry's: containerd's is the one
 * it pulled, which for a platform-filtered export may be the index the entry points at or
 * not; the entry's descriptor is what is imported, and is verified.
 */
import type { Descriptor } from "../oci/mediatypes.ts";
import { isTag } from "../oci/reference.ts";
import { REF_NAME } from "../sources/oci_layout.ts";

/** containerd's image name annotation (also what export writes: `<repo>:<tag>`). */
export const ANNOTATION_IMAGE_NAME = "io.containerd.image.name";

/** A destination: `tag` undefined means untagged (the image is reachable by digest). */
export interface Destination {
  name: string;
  tag?: string;
}

/** Splits a reference `NAME[:TAG][@DIGEST]`; the `:` of a registry port is not a tag. */
export function parseImageName(ref: string): { name: string; tag?: string; digest?: string } {
  const at = ref.indexOf("@");
  const digest = at >= 0 ? ref.slice(at + 1) : undefined;
  const named = at >= 0 ? ref.slice(0, at) : ref;
  const colon = named.lastIndexOf(":");
  const out: { name: string; tag?: string; digest?: string } = colon > named.lastIndexOf("/")
    ? { name: named.slice(0, colon), tag: named.slice(colon + 1) }
    : { name: named };
  if (digest !== undefined) out.digest = digest;
  return out;
}

/**
 * Where entry `d` goes (see the module doc), or undefined when it names no image.
 *
 * @example
 * ```ts
 * destination({ ...d, annotations: { "io.containerd.image.name": "alpine@sha256:…" } });
 * // { name: "alpine", tag: undefined }: imported untagged, `latest` is left alone
 * ```
 */
export function destination(d: Descriptor, repo?: string): Destination | undefined {
  const full = d.annotations?.[ANNOTATION_IMAGE_NAME];
  const refName = d.annotations?.[REF_NAME];
  if (full) {
    const { name, tag, digest } = parseImageName(full);
    if (tag !== undefined) return { name, tag };
    if (digest === undefined) return { name, tag: "latest" };
    return { name, tag: refName !== undefined && isTag(refName) ? refName : undefined };
  }
  if (refName === undefined || !repo) return undefined;
  if (!refName.includes("@") && !refName.includes("/") && !refName.includes(":")) {
    return { name: repo, tag: refName }; // the common case; an invalid tag is refused later
  }
  const { name, tag, digest } = parseImageName(refName);
  // `3.19@sha256:…` parses as a name "3.19" with no tag: the object's tag is that name.
  if (tag !== undefined) return { name: repo, tag };
  if (digest !== undefined && name !== "" && !name.includes("/")) return { name: repo, tag: name };
  return { name: repo, tag: digest !== undefined ? undefined : refName };
}

/** `name:tag`, or `name@digest (untagged)`, for messages. */
export function describeDestination(dest: Destination, digest: string): string {
  return dest.tag === undefined ? `${dest.name}@${digest} (untagged)` : `${dest.name}:${dest.tag}`;
}
