/**
 * @module
 * Manifest media types we serve and publish (OCI image-spec §"Media Types" and Docker
 * Image Manifest V2 Schema 2). Docker schema 1 (signed or not) is refused everywhere:
 * it is deprecated, and clients that still need it are not served by pull-only mirrors.
 */
import { errors } from "./errors.ts";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
export const DOCKER_SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
export const OCI_EMPTY_CONFIG = "application/vnd.oci.empty.v1+json";
export const OCI_LAYOUT_VERSION = "1.0.0";

/** Media types that are image manifests (have config + layers). */
export const IMAGE_MANIFEST_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);
/** Media types that are indexes (have child manifests). */
export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST]);
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  ...IMAGE_MANIFEST_TYPES,
  ...INDEX_TYPES,
]);

export function isManifestType(mt: string): boolean {
  return MANIFEST_TYPES.has(mt);
}
export function isIndexType(mt: string): boolean {
  return INDEX_TYPES.has(mt);
}

/** An OCI descriptor (image-spec §"Descriptors"). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: Platform;
  urls?: string[];
}
export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** What a parsed manifest or index tells us; enough to store and serve it. */
export interface ManifestInfo {
  mediaType: string;
  /** Config + layers for an image manifest. */
  blobs: Descriptor[];
  /** Child manifests for an index. */
  manifests: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Parses manifest bytes. `declared` is the media type from the descriptor or the HTTP
 * Content-Type, used when the document has no `mediaType` field (allowed by image-spec).
 * Throws MANIFEST_INVALID for schema1, unknown types and malformed documents.
 */
export function parseManifest(bytes: Uint8Array, declared?: string): ManifestInfo {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw errors.manifestInvalid("not JSON", { cause: String(e) });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw errors.manifestInvalid("not a JSON object");
  }
  if (doc.schemaVersion === 1 || DOCKER_SCHEMA1.includes(String(declared))) {
    throw errors.manifestInvalid("Docker schema 1 manifests are not supported");
  }
  if (doc.schemaVersion !== 2) throw errors.manifestInvalid("schemaVersion must be 2");
  const mediaType = typeof doc.mediaType === "string"
    ? doc.mediaType
    : declared ?? (Array.isArray(doc.manifests) ? OCI_INDEX : OCI_MANIFEST);
  if (declared && typeof doc.mediaType === "string" && declared !== doc.mediaType) {
    throw errors.manifestInvalid(`mediaType ${doc.mediaType} does not match ${declared}`);
  }
  if (!isManifestType(mediaType)) {
    throw errors.manifestInvalid(`unsupported media type "${mediaType}"`);
  }
  const info: ManifestInfo = { mediaType, blobs: [], manifests: [] };
  if (isIndexType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw errors.manifestInvalid("index without manifests");
    info.manifests = doc.manifests.map((d, i) => descriptor(d, `manifests[${i}]`));
  } else {
    info.blobs = [descriptor(doc.config, "config")];
    if (!Array.isArray(doc.layers)) throw errors.manifestInvalid("manifest without layers");
    info.blobs.push(...doc.layers.map((d, i) => descriptor(d, `layers[${i}]`)));
  }
  if (doc.subject !== undefined) info.subject = descriptor(doc.subject, "subject");
  if (typeof doc.artifactType === "string") info.artifactType = doc.artifactType;
  else if (IMAGE_MANIFEST_TYPES.has(mediaType) && info.blobs[0].mediaType !== OCI_EMPTY_CONFIG) {
    // image-spec §"Guidelines for Artifact Usage": without artifactType, the config's
    // media type is the artifact type (referrers API uses it for filtering).
    if (info.subject) info.artifactType = info.blobs[0].mediaType;
  }
  if (doc.annotations && typeof doc.annotations === "object") {
    info.annotations = doc.annotations as Record<string, string>;
  }
  return info;
}

const DIGEST_SHAPE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

function descriptor(d: unknown, where: string): Descriptor {
  if (!d || typeof d !== "object") throw errors.manifestInvalid(`${where} is not a descriptor`);
  const o = d as Record<string, unknown>;
  if (typeof o.mediaType !== "string") throw errors.manifestInvalid(`${where}.mediaType missing`);
  if (typeof o.digest !== "string" || !DIGEST_SHAPE.test(o.digest)) {
    throw errors.manifestInvalid(`${where}.digest invalid`);
  }
  if (typeof o.size !== "number" || !Number.isSafeInteger(o.size) || o.size < 0) {
    throw errors.manifestInvalid(`${where}.size invalid`);
  }
  return o as unknown as Descriptor;
}
