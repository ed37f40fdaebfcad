/**
 * @module
 * Federation fixture: the standard root store (fixture.ts) plus two repositories the
 * root holds under the prefix `team-a` (hidden once `team-a` is mounted), and two more
 * temp-dir stores to mount — `team-a` (app with a referrer, tools/x) and `org/b` (svc).
 */
import * as path from "node:path";
import { DirStore } from "../../lib/store/dir.ts";
import {
  CATALOG_KEY,
  emptyRepoIndex,
  MARKER,
  MARKER_KEY,
  repoIndexKey,
} from "../../lib/layout/layout.ts";
import { Registry } from "../../lib/index/registry.ts";
import { silentLogger } from "../../lib/log.ts";
import {
  type Blob,
  bytesOf,
  type Fixture,
  makeFixture,
  putDoc,
  putImage,
  SIG_TYPE,
} from "./fixture.ts";

type Image = Blob & { mediaType: string };

export interface MountsFixture {
  root: Fixture;
  /** Root-store repositories hidden by the `team-a` mount. */
  shadowed: { app: Image; legacy: Image };
  teamA: { store: DirStore; app: Image; appLayer: Blob; sig: Image; tool: Image };
  orgB: { store: DirStore; svc: Image; svcLayer: Blob };
  /** A loaded Registry over `store`. */
  registry(store: DirStore): Promise<Registry>;
  cleanup(): Promise<void>;
}

async function newStore(dir: string): Promise<DirStore> {
  const store = new DirStore(dir);
  await putDoc(store, MARKER_KEY, MARKER);
  return store;
}

/** Writes repository `name` with tag `tag` → one image of one layer from `seed`. */
export async function putRepo(store: DirStore, name: string, tag: string, seed: number) {
  const idx = emptyRepoIndex(name);
  const layerBytes = bytesOf(seed, 700 + seed);
  const image = await putImage(store, idx, { layers: [layerBytes] });
  idx.tags[tag] = image.digest;
  await putDoc(store, repoIndexKey(name), idx);
  const layer = idx.manifests[image.digest].blobs![1];
  return { image, idx, layer: { digest: layer, size: layerBytes.byteLength, bytes: layerBytes } };
}

export async function makeMountsFixture(): Promise<MountsFixture> {
  const root = await makeFixture();
  const tmp = path.dirname(root.root);
  const app = (await putRepo(root.store, "team-a/app", "v1", 11)).image;
  const legacy = (await putRepo(root.store, "team-a/legacy", "v1", 12)).image;
  await putDoc(root.store, CATALOG_KEY, {
    version: 1,
    repositories: ["library/alpine", "many", "other/repo", "team-a/app", "team-a/legacy"],
  });

  const a = await newStore(path.join(tmp, "team-a"));
  const aApp = await putRepo(a, "app", "v1", 21);
  const sig = await putImage(a, aApp.idx, {
    layers: [bytesOf(22, 10)],
    subject: aApp.image,
    artifactType: SIG_TYPE,
  });
  aApp.idx.tags.v2 = aApp.image.digest;
  await putDoc(a, repoIndexKey("app"), aApp.idx);
  const tool = (await putRepo(a, "tools/x", "latest", 23)).image;
  await putDoc(a, CATALOG_KEY, { version: 1, repositories: ["app", "tools/x"] });

  const b = await newStore(path.join(tmp, "org-b"));
  const svc = await putRepo(b, "svc", "v1", 31);
  await putDoc(b, CATALOG_KEY, { version: 1, repositories: ["svc"] });

  return {
    root,
    shadowed: { app, legacy },
    teamA: { store: a, app: aApp.image, appLayer: aApp.layer, sig, tool },
    orgB: { store: b, svc: svc.image, svcLayer: svc.layer },
    async registry(store) {
      const r = new Registry(store, { log: silentLogger });
      await r.load();
      return r;
    },
    cleanup: root.cleanup,
  };
}
