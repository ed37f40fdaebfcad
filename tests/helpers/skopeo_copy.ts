/**
 * @module
 * Reads back what `skopeo copy` wrote, re-hashing every file, so a test compares what the
 * registry served with the source image rather than what skopeo says it copied.
 */
import { createHash } from "node:crypto";

/** What `skopeo copy` wrote: the digest of the root manifest it copied, and what else. */
export interface SkopeoPulled {
  digest: string;
  mediaType: string;
  /** Where skopeo wrote it (inside the PullClients temp dir). */
  dir: string;
  /** Digests of every object copied (blobs, and with `dir` the manifests), each re-hashed for `dir`. */
  blobs: string[];
}

/** `sha256:<hex>` of the bytes. */
export const sha256 = (b: Uint8Array | string) =>
  `sha256:${createHash("sha256").update(b).digest("hex")}`;

/** Reads what `skopeo copy ... oci:DIR:pulled` wrote: the ref's descriptor and blobs/. */
export async function readOciCopy(dir: string): Promise<SkopeoPulled> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  // deno-lint-ignore no-explicit-any
  const entry = index.manifests?.find((m: any) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === "pulled"
  );
  if (!entry) throw new Error(`skopeo wrote no "pulled" entry in ${dir}/index.json`);
  const blobs: string[] = [];
  for await (const e of Deno.readDir(`${dir}/blobs/sha256`)) blobs.push(`sha256:${e.name}`);
  return { digest: entry.digest, mediaType: entry.mediaType, dir, blobs: blobs.sort() };
}

/**
 * Reads what `skopeo copy ... dir:DIR` wrote: `manifest.json` (exact bytes of the root),
 * `<hex>.manifest.json` per instance with --all, `<hex>` per blob. Every file is re-hashed.
 */
export async function readDirCopy(dir: string): Promise<SkopeoPulled> {
  const root = await Deno.readFile(`${dir}/manifest.json`);
  const blobs: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = /^([0-9a-f]{64})(\.manifest\.json)?$/.exec(e.name);
    if (!m) continue;
    const digest = sha256(await Deno.readFile(`${dir}/${e.name}`));
    if (digest !== `sha256:${m[1]}`) {
      throw new Error(`skopeo copy ${dir}/${e.name} hashes to ${digest}`);
    }
    blobs.push(digest);
  }
  const mediaType = JSON.parse(new TextDecoder().decode(root)).mediaType ?? "";
  blobs.push(sha256(root));
  return { digest: sha256(root), mediaType, dir, blobs: [...new Set(blobs)].sort() };
}
