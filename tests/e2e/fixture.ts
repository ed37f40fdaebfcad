/**
 * @module
 * The end-to-end fixture: real generated images (tests/helpers/image.ts) published with
 * the COMPILED binary into a fresh directory store (or pushed into a reference
 * registry, to validate the harness) — a several-layer OCI image, a
 * two-platform OCI index and a two-platform Docker manifest list that share a base layer
 * with the first (blobs are content-addressed and shared across repositories).
 */
import assert from "node:assert/strict";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { runBinary } from "../helpers/binary.ts";

/** One published image: where it lives in the registry and what it is. */
export interface PublishedImage {
  /** `repo` as clients name it, without the registry address. */
  repo: string;
  tag: string;
  image: BuiltImage;
  /** The OCI layout it was published from. */
  layout: string;
}

/** The three images of the fixture. */
export interface Fixture {
  single: PublishedImage;
  ociIndex: PublishedImage;
  dockerList: PublishedImage;
}

const PLATFORMS = [
  { os: "linux", architecture: "amd64" },
  { os: "linux", architecture: "arm64" },
];

/** `static-registry publish oci:LAYOUT:TAG REPO:TAG --to STORE`, asserted to succeed. */
export async function publish(layout: string, tag: string, ref: string, store: string) {
  const r = await runBinary(["publish", `oci:${layout}:${tag}`, ref, "--to", store]);
  assert.equal(
    r.code,
    0,
    `publish oci:${layout}:${tag} ${ref} exited ${r.code}:\n${r.stderr}\n${r.stdout}`,
  );
  return r;
}

/** Puts the image tagged `tag` in the OCI layout `layout` into a registry as `ref` (repo:tag). */
export type Put = (layout: string, tag: string, ref: string) => Promise<unknown>;

/**
 * Generates the three images under `tmp` and puts each one with `put`: for our product
 * `(l, t, ref) => publish(l, t, ref, store)`; for the reference registry a push.
 */
export async function makeFixture(tmp: string, put: Put): Promise<Fixture> {
  const make = async (
    name: string,
    opts: Parameters<typeof makeOciLayout>[1] & { tag: string },
  ): Promise<PublishedImage> => {
    const layout = `${tmp}/src-${name}`;
    const image = await makeOciLayout(layout, opts);
    const repo = `e2e/${name}`;
    await put(layout, opts.tag, `${repo}:${opts.tag}`);
    return { repo, tag: opts.tag, image, layout };
  };
  return {
    single: await make("single", {
      tag: "v1",
      layers: 4,
      layerSize: 128 * 1024,
      seed: "e2e-single",
      baseSeed: "e2e-base",
    }),
    ociIndex: await make("multi-oci", {
      tag: "v1",
      platforms: PLATFORMS,
      layers: 2,
      layerSize: 128 * 1024,
      seed: "e2e-oci-index",
      baseSeed: "e2e-base",
    }),
    dockerList: await make("multi-docker", {
      tag: "2.0",
      format: "docker",
      platforms: PLATFORMS,
      layers: 2,
      seed: "e2e-docker-list",
    }),
  };
}

/** The amd64 child of an index (what single-platform pulls on this machine resolve to). */
export function amd64(p: PublishedImage) {
  const m = p.image.manifests.find((m) => m.platform.architecture === "amd64");
  if (!m) throw new Error(`${p.repo}: no linux/amd64 manifest`);
  return m;
}

/** A new store directory `tmp/store` with the three fixture images published into it. */
export async function publishedStore(tmp: string): Promise<{ store: string; fx: Fixture }> {
  const store = `${tmp}/store`;
  await Deno.mkdir(store);
  const fx = await makeFixture(tmp, (l, tag, ref) => publish(l, tag, ref, store));
  return { store, fx };
}

/** For a failing e2e test: the tail of each registry's log and the clients' daemon logs. */
export function printFailureLogs(
  regs: ({ logs(): string } | undefined)[],
  clients?: { daemonLogs(): string },
): void {
  for (const r of regs) {
    if (r) console.error(`--- static-registry logs ---\n${r.logs().slice(-6000)}`);
  }
  if (clients) console.error(clients.daemonLogs());
}
