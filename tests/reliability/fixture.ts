/**
 * @module
 * The store every reliability test serves: real images published with the COMPILED binary
 * into `<tmp>/store`, plus two canaries that must never be served:
 * - `<tmp>/canary.txt` OUTSIDE the store (its parent), the target of path traversal;
 * - an orphan blob INSIDE the store (`blobs/sha256/<hex>`) that no repository references,
 *   so a blob GET for it must be 404 BLOB_UNKNOWN (distribution-spec §"Pulling blobs":
 *   a blob is fetched through a repository, and only if the repository holds it).
 * Each canary holds a random token; the tests search every response body for the tokens.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { createHash, randomBytes } from "node:crypto";
import { type BuiltImage, makeOciLayout } from "../helpers/image.ts";
import { publish } from "../e2e/fixture.ts";

/** A published store and what is in it. */
export interface ReliabilityStore {
  /** Temp dir holding `store/`, `canary.txt` and the sources; removed by `cleanup()`. */
  tmp: string;
  store: string;
  /** Random token in `<tmp>/canary.txt` (outside the store). */
  outsideToken: string;
  /** Random token in the orphan blob (inside the store, referenced by no repository). */
  orphanToken: string;
  orphanDigest: string;
  /** `name → image` of the published repositories (tag `v1`). */
  repos: Record<string, BuiltImage>;
  cleanup(): Promise<void>;
}

/** A token nobody else produces: what the canary checks search for. */
function token(what: string): string {
  return `CANARY-${what}-${randomBytes(12).toString("hex")}`;
}

/**
 * Publishes two repositories (a 2-platform OCI index with a referrer, and a single image
 * sharing its base layer) and plants the canaries.
 */
export async function makeReliabilityStore(): Promise<ReliabilityStore> {
  const tmp = await Deno.makeTempDir({ prefix: "sr-reliability-" });
  try {
    const store = path.join(tmp, "store");
    const multi = await makeOciLayout(path.join(tmp, "src-multi"), {
      tag: "v1",
      platforms: [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }],
      layers: 2,
      layerSize: 8192,
      seed: "rel-multi",
      baseSeed: "rel-base",
      referrer: true,
    });
    const single = await makeOciLayout(path.join(tmp, "src-single"), {
      tag: "v1",
      layers: 3,
      layerSize: 8192,
      seed: "rel-single",
      baseSeed: "rel-base",
    });
    await publish(path.join(tmp, "src-multi"), "v1", "rel/multi:v1", store);
    await publish(path.join(tmp, "src-single"), "v1", "rel/single:v1", store);

    const outsideToken = token("outside");
    await fs.writeFile(path.join(tmp, "canary.txt"), `${outsideToken}\n`);
    const orphanToken = token("orphan");
    const orphan = new TextEncoder().encode(`${orphanToken}\n`);
    const hex = createHash("sha256").update(orphan).digest("hex");
    await fs.writeFile(path.join(store, "blobs", "sha256", hex), orphan);
    return {
      tmp,
      store,
      outsideToken,
      orphanToken,
      orphanDigest: `sha256:${hex}`,
      repos: { "rel/multi": multi, "rel/single": single },
      cleanup: () => Deno.remove(tmp, { recursive: true }),
    };
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** Every digest a fuzzer may name: manifests, blobs, the referrer, the orphan. */
export function knownDigests(s: ReliabilityStore): string[] {
  const out = new Set<string>([s.orphanDigest]);
  for (const img of Object.values(s.repos)) {
    out.add(img.rootDigest);
    for (const d of Object.keys(img.sizes)) out.add(d);
  }
  return [...out];
}
