/**
 * @module
 * The `platforms:` filter of a sync entry: which children of an index are copied. A child
 * is kept when its descriptor's `platform` matches one of the wanted `os/arch[/variant]`
 * (image-spec §"Image Index" `platform`), plus Docker buildx attestation manifests
 * (`vnd.docker.reference.type: attestation-manifest`) whose
 * `vnd.docker.reference.digest` is a kept child: they describe that child and are
 * useless without it, and it is useless to keep them for a child left out.
 *
 * arm64 without a variant is `arm64/v8`, as containerd's platforms package normalises it.
 */
import type { Descriptor, Platform } from "../oci/mediatypes.ts";

export interface PlatformWanted {
  os: string;
  architecture: string;
  variant?: string;
}

/** `linux/arm64/v8` → `{ os, architecture, variant }` (the schema checked the grammar). */
export function parsePlatform(text: string): PlatformWanted {
  const [os, architecture, variant] = text.split("/");
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

export function formatPlatform(p: PlatformWanted | Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

function variantOf(architecture: string, variant: string | undefined): string | undefined {
  return variant ?? (architecture === "arm64" ? "v8" : undefined);
}

/** Whether `p` is one of `wanted`; a wanted platform without a variant takes any variant. */
export function platformMatches(p: Platform | undefined, wanted: PlatformWanted[]): boolean {
  if (!p) return false;
  return wanted.some((w) =>
    w.os === p.os && w.architecture === p.architecture &&
    (w.variant === undefined ||
      variantOf(w.architecture, w.variant) === variantOf(p.architecture, p.variant))
  );
}

const REF_TYPE = "vnd.docker.reference.type";
const REF_DIGEST = "vnd.docker.reference.digest";

/**
 * The children of an index to copy for `wanted` (see the module doc). An index whose
 * children carry no platform at all (not a multi-platform image) is kept whole; one where
 * none matches is an error listing what the index has.
 */
export function selectChildren(children: Descriptor[], wanted: PlatformWanted[]): Descriptor[] {
  if (!children.some((c) => c.platform)) return children;
  const kept = new Set(
    children.filter((c) => platformMatches(c.platform, wanted)).map((c) => c.digest),
  );
  if (!kept.size) {
    const has = children.filter((c) => c.platform).map((c) => formatPlatform(c.platform!));
    throw new Error(
      `platforms ${wanted.map(formatPlatform).join(", ")}: none in the index (it has ${
        [...new Set(has)].join(", ")
      })`,
    );
  }
  return children.filter((c) =>
    kept.has(c.digest) ||
    (c.annotations?.[REF_TYPE] === "attestation-manifest" &&
      kept.has(c.annotations?.[REF_DIGEST] ?? ""))
  );
}
