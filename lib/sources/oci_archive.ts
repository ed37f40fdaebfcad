/**
 * @module
 * `oci-archive:FILE[:TAG]`: a tar of an OCI image layout, as `skopeo copy … oci-archive:`
 * and `buildctl --output type=oci` write, and as `static-registry export` writes bundles.
 * The tar is unpacked by the one extractor (tar.ts) into a private temporary directory,
 * then read as an `oci:` layout through it (links inside the archive are followed, messages
 * name archive members); `close()` always removes it.
 */
import { OciLayoutSource } from "./oci_layout.ts";
import { unpackArchive } from "./tar.ts";

/** Unpacks `file` and returns a layout over it that deletes the unpacked copy on close. */
export async function openOciArchive(
  file: string,
  tag: string | undefined,
  spec: string,
): Promise<OciLayoutSource> {
  const files = await unpackArchive(file, `oci-archive ${JSON.stringify(file)}`);
  return new OciLayoutSource(files.dir, tag, spec, files.remove, files);
}
