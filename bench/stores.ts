/**
 * @module
 * Synthetic stores for the start-up, memory and tag-count rows: a directory store with N
 * tags, written as the static layout v1 documents (lib/layout/layout.ts: marker, catalog,
 * one `repositories/<name>/_index.json` per repository) instead of publishing N times.
 * A few real images (tests/helpers/image.ts) supply the manifests and blobs, reused by
 * every tag, so each tag still resolves to real, servable bytes.
 *
 * Shape: N ≤ 100 → one repository with N tags; otherwise N/100 repositories of 100 tags
 * (10k tags = 100 repositories, 100k tags = 1,000), the spread of a busy real registry
 * rather than one pathological repository.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { buildImage } from "../tests/helpers/image.ts";
import {
  blobKey,
  type Catalog,
  CATALOG_KEY,
  encodeDocument,
  LAYOUT_VERSION,
  MARKER,
  MARKER_KEY,
  type RepoIndex,
  repoIndexKey,
  TAG_INDEX_VERSION,
  tagIndexDigest,
} from "../lib/layout/layout.ts";

export const TAGS_PER_REPO = 100;

/** Where to aim requests in a synthetic store (a tag in the middle of it). */
export interface SyntheticStore {
  dir: string;
  tags: number;
  repositories: number;
  /** A repository and tag in the middle of the store. */
  probe: { repo: string; tag: string; digest: string };
  /** The last repository and tag written (its presence proves the whole index loaded). */
  last: { repo: string; tag: string };
}

const repoName = (i: number) => `bench/r${String(i).padStart(5, "0")}`;
const tagName = (i: number) => `v1.${i}.0`;

async function write(dir: string, key: string, bytes: Uint8Array) {
  const file = path.join(dir, ...key.split("/"));
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, bytes);
}

/** Writes a store with `tags` tags under `dir` (which should be empty or absent). */
export async function makeSyntheticStore(dir: string, tags: number): Promise<SyntheticStore> {
  // Four small distinct images: the manifests every tag points at, in turn.
  const images = [];
  for (let i = 0; i < 4; i++) {
    const { blobs, image } = await buildImage({
      seed: `synthetic-${i}`,
      layers: 2,
      layerSize: 512,
    });
    for (const [digest, bytes] of blobs) await write(dir, blobKey(digest), bytes);
    images.push(image);
  }
  const manifests: RepoIndex["manifests"] = {};
  const blobSizes: RepoIndex["blobs"] = {};
  for (const im of images) {
    const m = im.manifests[0];
    manifests[m.digest] = { mediaType: m.mediaType, size: m.size, blobs: m.blobs };
    for (const b of m.blobs) blobSizes[b] = im.sizes[b];
  }
  const perRepo = Math.min(tags, TAGS_PER_REPO);
  const nRepos = Math.ceil(tags / perRepo);
  const names: Record<string, string> = {};
  let written = 0;
  for (let r = 0; r < nRepos; r++) {
    const name = repoName(r);
    const index: RepoIndex = {
      version: TAG_INDEX_VERSION,
      name,
      tags: {},
      manifests,
      blobs: blobSizes,
    };
    for (let t = 0; t < perRepo && written < tags; t++, written++) {
      index.tags[tagName(t)] = images[(r + t) % images.length].manifests[0].digest;
    }
    const bytes = encodeDocument(index);
    await write(dir, repoIndexKey(name), bytes);
    names[name] = tagIndexDigest(bytes);
  }
  // Layout version 2 (what publish writes): the catalog records each tag index's digest.
  const repositories = Object.fromEntries(Object.entries(names).sort(([a], [b]) => a < b ? -1 : 1));
  const catalog: Catalog = { version: LAYOUT_VERSION, repositories };
  await write(dir, CATALOG_KEY, encodeDocument(catalog));
  await write(dir, MARKER_KEY, encodeDocument(MARKER));
  const mid = Math.floor(nRepos / 2);
  const midTag = Math.floor(perRepo / 2);
  const lastRepo = nRepos - 1;
  const lastTags = tags - lastRepo * perRepo;
  return {
    dir,
    tags,
    repositories: nRepos,
    probe: {
      repo: repoName(mid),
      tag: tagName(midTag),
      digest: images[(mid + midTag) % images.length].manifests[0].digest,
    },
    last: { repo: repoName(lastRepo), tag: tagName(lastTags - 1) },
  };
}
