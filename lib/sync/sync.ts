/**
 * @module
 * `sync()`: mirrors the images of a sync file (file.ts) into a store with the publisher
 * (lib/publish/publish.ts) and its `docker://` source, and says what it did.
 *
 * 1. Each entry without a tag or digest is expanded into its upstream's tags (tags/list,
 *    paged: upstream.ts), filtered (tags.ts). An entry whose listing fails is one failure.
 * 2. Each image costs ONE manifest GET when it is unchanged: the digest of the upstream
 *    manifest is compared with the target's tag index (read once per repository before
 *    anything is copied), and so are the children the entry wants (platforms.ts). Equal:
 *    skipped, nothing else fetched. Different: published from `REPO@DIGEST` — the digest
 *    just seen, so what is copied is what was compared, even if the tag moves meanwhile.
 * 3. Images run `concurrency` at a time (p-map); each one's failure is recorded and the
 *    others go on. Requests to each upstream host are spaced by `rate` (rate.ts); the
 *    registry client retries 429/5xx and dropped or stalled connections, and resumes
 *    bodies with Range (lib/sources/registry_client.ts).
 */
import pMap from "p-map";
import { type PublishProgress, shared } from "../publish/progress.ts";
import { repoIndexKey } from "../layout/keys.ts";
import { readDocument } from "../layout/documents.ts";
import { validateRepoIndex } from "../layout/rules.ts";
import type { RepoIndex } from "../layout/schema.ts";
import type { Descriptor } from "../oci/mediatypes.ts";
import { type Logger, silentLogger } from "../log.ts";
import { publish, type PublishOptions } from "../publish/publish.ts";
import { DockerRegistrySource } from "../sources/docker_registry.ts";
import type { CredentialLookup } from "../sources/registry_auth.ts";
import type { RetryPolicy } from "../sources/registry_retry.ts";
import type { WriteStore } from "../store/store.ts";
import type { SyncImage } from "./file.ts";
import { selectChildren } from "./platforms.ts";
import { HostFetches } from "./rate.ts";
import { selectTags } from "./tags.ts";
import { publishUntagged } from "./untagged.ts";
import { Upstream } from "./upstream.ts";

export interface SyncOptions {
  images: SyncImage[];
  store: WriteStore;
  /** Images copied at once (default 4). */
  concurrency?: number;
  /** Requests a second to each upstream host (default: unlimited). */
  rate?: number;
  /** Compare only: say what would be copied, write nothing. */
  dryRun?: boolean;
  credentials?: CredentialLookup;
  /** Response-start and body-idle timeout of upstream requests (ms). */
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** The fetch every upstream request goes through (tests count them). */
  fetch?: typeof fetch;
  log?: Logger;
  /** Stops starting images; publishes in flight stop as publish() says. */
  signal?: AbortSignal;
  /** Called as each image finishes (progress lines). */
  onImage?: (r: ImageResult) => void;
  /**
   * One display for the whole run (lib/cli/progress.ts): every image's copy reports to it
   * (`shared`: an image's end does not stop it); the caller stops it.
   */
  progress?: PublishProgress;
}

export type ImageStatus = "copied" | "skipped" | "failed" | "would-copy";

export interface ImageResult {
  status: ImageStatus;
  /** The upstream image: `HOST/REPO:TAG` or `HOST/REPO@DIGEST` (or the entry's source). */
  source: string;
  /** In the store: `NAME:TAG` or `NAME@DIGEST`. */
  target: string;
  /** Where the entry is in the sync file. */
  where: string;
  digest?: string;
  /** The digest the target tag pointed at before, when the copy moved it. */
  previous?: string;
  bytes: number;
  blobs: number;
  error?: string;
}

export interface SyncSummary {
  copied: number;
  skipped: number;
  failed: number;
  /** With dryRun: images that would be copied. */
  wouldCopy: number;
  bytes: number;
  seconds: number;
  /** Bytes copied per second of the whole run, in MB (10^6). */
  mbPerSecond: number;
  images: ImageResult[];
}

interface Task {
  image: SyncImage;
  /** Tag or digest. */
  reference: string;
}

/** Runs the sync; see the module doc. Never throws for one image: see the results. */
export async function sync(opts: SyncOptions): Promise<SyncSummary> {
  const t0 = performance.now();
  const log = opts.log ?? silentLogger;
  const concurrency = opts.concurrency ?? 4;
  const fetches = new HostFetches(opts.rate, opts.fetch);
  const upstreams = new Map<string, Upstream>();
  const upstream = (img: SyncImage) => {
    const key = `${img.ref.host}/${img.ref.repository}`;
    let u = upstreams.get(key);
    if (!u) {
      u = new Upstream(img.ref, {
        credentials: opts.credentials,
        timeoutMs: opts.timeoutMs,
        retry: opts.retry,
        fetch: fetches.for(img.ref.host),
      });
      upstreams.set(key, u);
    }
    return u;
  };
  const results: ImageResult[] = [];
  const record = (r: ImageResult) => {
    results.push(r);
    opts.onImage?.(r);
  };

  // 1. Entries → images.
  const tasks: Task[] = [];
  await pMap(opts.images, async (image) => {
    if (image.pinned) {
      tasks.push({ image, reference: image.ref.digest ?? image.ref.tag! });
      return;
    }
    try {
      const tags = selectTags(await upstream(image).tags(), image.tags);
      if (!tags.length) log.warn({ source: image.source }, "no tag selected");
      for (const tag of tags) tasks.push({ image, reference: tag });
    } catch (e) {
      record(failure(image, image.source, image.target, e));
    }
  }, { concurrency });

  // 2. Images → copies.
  const indexes = new Map<string, Promise<RepoIndex | null>>();
  const targetIndex = (name: string) => {
    let p = indexes.get(name);
    if (!p) {
      p = readDocument(opts.store, repoIndexKey(name), (v) => validateRepoIndex(v, name));
      indexes.set(name, p);
    }
    return p;
  };
  await pMap(tasks, async (task) => {
    if (opts.signal?.aborted) return;
    const r = await syncOne(task, opts, upstream(task.image), targetIndex, fetches);
    record(r);
  }, { concurrency });
  opts.signal?.throwIfAborted();

  const seconds = (performance.now() - t0) / 1000;
  const count = (s: ImageStatus) => results.filter((r) => r.status === s).length;
  const bytes = results.reduce((n, r) => n + (r.status === "copied" ? r.bytes : 0), 0);
  return {
    copied: count("copied"),
    skipped: count("skipped"),
    failed: count("failed"),
    wouldCopy: count("would-copy"),
    bytes,
    seconds: Math.round(seconds * 1000) / 1000,
    mbPerSecond: seconds > 0 ? Math.round(bytes / 1e6 / seconds * 100) / 100 : 0,
    images: results,
  };
}

function failure(image: SyncImage, source: string, target: string, e: unknown): ImageResult {
  return {
    status: "failed",
    source,
    target,
    where: image.where,
    bytes: 0,
    blobs: 0,
    error: (e as Error).message ?? String(e),
  };
}

async function syncOne(
  task: Task,
  opts: SyncOptions,
  up: Upstream,
  targetIndex: (name: string) => Promise<RepoIndex | null>,
  fetches: HostFetches,
): Promise<ImageResult> {
  const { image, reference } = task;
  const byDigest = reference.includes(":");
  const sep = byDigest ? "@" : ":";
  const source = `${image.ref.host}/${image.ref.repository}${sep}${reference}`;
  const target = `${image.target}${sep}${reference}`;
  try {
    const m = await up.manifest(reference);
    const select = image.platforms &&
      ((children: Descriptor[]) => selectChildren(children, image.platforms!));
    const wanted = m.info.manifests.length && select ? select(m.info.manifests) : m.info.manifests;
    const index = await targetIndex(image.target);
    const stored = index && (byDigest ? index.manifests[m.digest] : index.tags[reference]);
    const has = (d: string) => index?.manifests[d] !== undefined;
    const same = byDigest ? stored !== undefined : stored === m.digest;
    const base = { source, target, where: image.where, digest: m.digest, bytes: 0, blobs: 0 };
    const previous = !byDigest && typeof stored === "string" && stored !== m.digest
      ? { previous: stored }
      : {};
    if (same && has(m.digest) && wanted.every((c) => has(c.digest))) {
      return { ...base, status: "skipped" };
    }
    if (opts.dryRun) return { ...base, ...previous, status: "would-copy" };
    const src = new DockerRegistrySource(
      {
        host: image.ref.host,
        base: image.ref.base,
        repository: image.ref.repository,
        digest: m.digest,
      },
      `docker://${image.ref.host}/${image.ref.repository}@${m.digest}`,
      {
        credentials: opts.credentials,
        timeoutMs: opts.timeoutMs,
        idleTimeoutMs: opts.timeoutMs,
        retry: opts.retry,
        fetch: fetches.for(image.ref.host),
      },
    );
    try {
      if (byDigest) {
        const r = await publishUntagged({
          source: src,
          store: opts.store,
          name: image.target,
          selectChildren: select,
          signal: opts.signal,
          log: opts.log,
        });
        return { ...base, status: "copied", bytes: r.bytesCopied, blobs: r.blobsCopied };
      }
      const publishOptions: PublishOptions = {
        source: src,
        store: opts.store,
        name: image.target,
        tag: reference,
        log: opts.log,
        signal: opts.signal,
        selectChildren: select,
        signatures: image.signatures,
        ...(opts.progress ? { progress: shared(opts.progress) } : {}),
      };
      const r = await publish(publishOptions);
      return { ...base, ...previous, status: "copied", bytes: r.bytesCopied, blobs: r.blobsCopied };
    } finally {
      await src.close();
    }
  } catch (e) {
    return failure(image, source, target, e);
  }
}
