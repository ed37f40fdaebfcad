/**
 * @module
 * An in-memory publish Source for layout tests: manifests written as JSON objects (any
 * shape, including the defects the layout rules refuse), blobs as bytes. No files.
 */
import { digestOf } from "../../lib/oci/digest.ts";
import { OCI_MANIFEST } from "../../lib/oci/mediatypes.ts";
import type { Descriptor } from "../../lib/oci/mediatypes.ts";
import type { Source } from "../../lib/sources/source.ts";

const enc = new TextEncoder();

/** A source holding `objects`; `root` is resolved, `related` are offered as referrers. */
export class MemorySource implements Source {
  readonly description = "memory:test";
  readonly objects = new Map<string, Uint8Array>();
  root: Descriptor | undefined;
  related_: Descriptor[] = [];

  /** Adds bytes; returns their descriptor. */
  add(bytes: Uint8Array, mediaType = "application/octet-stream"): Descriptor {
    const digest = digestOf(bytes);
    this.objects.set(digest, bytes);
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** Adds an image manifest with one config and one layer, plus `extra` fields. */
  image(seed: string, extra: Record<string, unknown> = {}): Descriptor {
    const config = this.add(enc.encode(`{"architecture":"amd64","os":"linux","seed":"${seed}"}`));
    const layer = this.add(enc.encode(`layer ${seed}`));
    return this.add(
      enc.encode(JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: { ...config, mediaType: "application/vnd.oci.image.config.v1+json" },
        layers: [{ ...layer, mediaType: "application/vnd.oci.image.layer.v1.tar" }],
        ...extra,
      })),
      OCI_MANIFEST,
    );
  }

  resolve(): Promise<Descriptor> {
    if (!this.root) throw new Error("no root");
    return Promise.resolve(this.root);
  }
  open(digest: string) {
    const bytes = this.objects.get(digest);
    if (!bytes) return Promise.reject(new Error(`${digest}: missing`));
    return Promise.resolve({ body: new Blob([bytes as BlobPart]).stream(), size: bytes.length });
  }
  related(): Promise<Descriptor[]> {
    return Promise.resolve(this.related_);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}
