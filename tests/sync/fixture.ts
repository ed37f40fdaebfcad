/**
 * @module
 * The upstream the sync tests mirror from: a real CNCF distribution (Debian's
 * `docker-registry`, optionally with auth) holding generated images, pushed straight into
 * it, with the recording/faulting proxy (proxy.ts) in front — sync talks to the proxy, so
 * every request it sends is counted. Also: running the compiled binary's `sync`, and
 * reading what it stored.
 */
import { type BuiltImage, type ImageOptions, makeOciLayout } from "../helpers/image.ts";
import { type Distribution, pushLayoutHttp, startDistribution } from "../helpers/distribution.ts";
import { runBinary } from "../helpers/binary.ts";
import type { RunResult } from "../helpers/process.ts";
import type { RepoIndex } from "../../lib/layout/schema.ts";
import { startProxy, type UpstreamProxy } from "./proxy.ts";

export interface UpstreamImage {
  /** `src/app:v1` */
  ref: string;
  opts?: ImageOptions;
}

export interface SyncUpstream {
  reg: Distribution;
  proxy: UpstreamProxy;
  /** The proxy's `127.0.0.1:PORT`: what sync files name. */
  addr: string;
  /** By ref. */
  images: Record<string, BuiltImage>;
  stop(): Promise<void>;
}

/** Starts distribution (with `auth` if given), pushes `images` (with `authorization`). */
export async function startUpstream(
  tmp: string,
  images: UpstreamImage[],
  auth?: { config: Record<string, unknown>; authorization: (repo: string) => Promise<string> },
): Promise<SyncUpstream> {
  const reg = await startDistribution({ auth: auth?.config });
  const built: Record<string, BuiltImage> = {};
  try {
    for (const [i, img] of images.entries()) {
      const [repo, tag] = img.ref.split(":");
      const dir = `${tmp}/layout-${i}`;
      built[img.ref] = await makeOciLayout(dir, { tag, seed: img.ref, ...img.opts });
      await pushLayoutHttp(dir, tag, reg.addr, img.ref, await auth?.authorization(repo));
    }
  } catch (e) {
    await reg.stop();
    throw e;
  }
  const proxy = startProxy(reg.url);
  return {
    reg,
    proxy,
    addr: proxy.addr,
    images: built,
    async stop() {
      await proxy.close();
      await reg.stop();
    },
  };
}

/** `static-registry sync ARGS` with the compiled binary. */
export function runSync(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runBinary(["sync", ...args], { env: { NO_COLOR: "1", ...env }, timeoutMs: 90_000 });
}

/** The tag index of `name` in directory store `store`, or undefined. */
export async function readIndex(store: string, name: string): Promise<RepoIndex | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${store}/repositories/${name}/_index.json`));
  } catch {
    return undefined;
  }
}

/** The summary document `sync --json` printed (its last stdout line). */
export function summaryOf(r: RunResult) {
  const last = r.stdout.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(last);
  } catch {
    throw new Error(`sync printed no JSON summary:\n${r.stdout}\n${r.stderr}`);
  }
}
