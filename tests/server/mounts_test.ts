/**
 * @module
 * Federation in createApp(): a root store and two mounts (`team-a` without origins,
 * `org/b` with its own), each route resolving the name to the right store; root
 * repositories under a mount prefix hidden; `_catalog` merged, paged and refreshed;
 * `/readyz` and `/metrics` per mount.
 */
import assert from "node:assert/strict";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { createApp, type Origins } from "../../lib/server/app.ts";
import { OCI_INDEX } from "../../lib/oci/mediatypes.ts";
import type { Mount } from "../../lib/server/deps.ts";
import { CATALOG_KEY } from "../../lib/layout/layout.ts";
import { putDoc } from "./fixture.ts";
import { FakeOrigins, memoryLogger, runCases } from "./harness.ts";
import { makeMountsFixture, type MountsFixture, putRepo } from "./mounts_fixture.ts";

const CATALOG = [
  "library/alpine",
  "many",
  "org/b/svc",
  "other/repo",
  "team-a/app",
  "team-a/tools/x",
];

async function federatedApp(
  f: MountsFixture,
  opts: { rootOrigins?: Origins; bOrigins?: Origins; log?: typeof silentLogger } = {},
) {
  const root = await f.registry(f.root.store);
  const mounts: Mount[] = [
    { prefix: "team-a", registry: await f.registry(f.teamA.store), store: f.teamA.store },
    {
      prefix: "org/b",
      registry: await f.registry(f.orgB.store),
      store: f.orgB.store,
      origins: opts.bOrigins,
    },
  ];
  const app = createApp({
    registry: root,
    store: f.root.store,
    origins: opts.rootOrigins,
    mounts,
    log: opts.log ?? silentLogger,
  });
  return { app, root, mounts };
}

Deno.test("mounts: every route resolves the name to the right store", async (t) => {
  const f = await makeMountsFixture();
  try {
    const rootOrigins = new FakeOrigins("cdn-root", "http://root.test/r");
    const bOrigins = new FakeOrigins("cdn-b", "http://b.test/b");
    const { app } = await federatedApp(f, { rootOrigins, bOrigins });
    const { app: appDigest, appLayer, sig, tool } = f.teamA;
    await runCases(t, app, [
      {
        description: "team-a/app:v1 is the mount's app, not the root's hidden team-a/app",
        url: "/v2/team-a/app/manifests/v1",
        status: 200,
        wantHeaders: { "docker-content-digest": appDigest.digest },
        wantBody: appDigest.bytes,
      },
      {
        description: "HEAD by digest in the mount",
        method: "HEAD",
        url: `/v2/team-a/app/manifests/${appDigest.digest}`,
        status: 200,
        wantHeaders: { "content-length": String(appDigest.size) },
      },
      {
        description: "a nested repository name inside the mount",
        url: "/v2/team-a/tools/x/manifests/latest",
        status: 200,
        wantHeaders: { "docker-content-digest": tool.digest },
      },
      {
        description: "the hidden root manifest is unknown under the mount",
        url: `/v2/team-a/app/manifests/${f.shadowed.app.digest}`,
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "a hidden root repository is not reachable at all",
        url: "/v2/team-a/legacy/manifests/v1",
        status: 404,
        wantCode: "NAME_UNKNOWN",
        wantBody: {
          errors: [{
            code: "NAME_UNKNOWN",
            message: "repository name not known to registry",
            detail: { name: "team-a/legacy" },
          }],
        },
      },
      {
        description: "a bad name under a mount: NAME_INVALID with the client's full name",
        url: "/v2/team-a/App/manifests/v1",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "the prefix alone is a root name (unknown here)",
        url: "/v2/team-a/manifests/v1",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "a prefix look-alike is not under the mount",
        url: "/v2/team-ab/app/manifests/v1",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "root repositories still resolve to the root",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
        wantHeaders: { "docker-content-digest": f.root.alpine.digest },
      },
      {
        description: "mount without origins streams the blob from its own store",
        url: `/v2/team-a/app/blobs/${appLayer.digest}`,
        status: 200,
        wantBody: appLayer.bytes,
      },
      {
        description: "HEAD blob in the mount",
        method: "HEAD",
        url: `/v2/team-a/app/blobs/${appLayer.digest}`,
        status: 200,
        wantHeaders: { "content-length": String(appLayer.size) },
      },
      {
        description: "a root blob is unknown to a mount repository",
        url: `/v2/team-a/app/blobs/${f.root.layer.digest}`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
      {
        description: "mount with origins: 307 to the mount's origin",
        url: `/v2/org/b/svc/blobs/${f.orgB.svcLayer.digest}`,
        status: 307,
        wantHeaders: {
          location: `http://b.test/b/blobs/${f.orgB.svcLayer.digest.replace(":", "/")}`,
        },
      },
      {
        description: "root blob: 307 to the root's origin",
        url: `/v2/library/alpine/blobs/${f.root.layer.digest}`,
        status: 307,
        wantHeaders: { location: /^http:\/\/root\.test\/r\/blobs\/sha256\// },
      },
      {
        description: "tags of a mounted repository carry the full name",
        url: "/v2/team-a/app/tags/list",
        status: 200,
        wantBody: { name: "team-a/app", tags: ["v1", "v2"] },
      },
      {
        description: "tags paging links with the full name",
        url: "/v2/team-a/app/tags/list?n=1",
        status: 200,
        wantBody: { name: "team-a/app", tags: ["v1"] },
        wantHeaders: { link: '</v2/team-a/app/tags/list?n=1&last=v1>; rel="next"' },
      },
      {
        description: "referrers come from the mount's index",
        url: `/v2/team-a/app/referrers/${appDigest.digest}`,
        status: 200,
        wantBody: {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{
            mediaType: sig.mediaType,
            digest: sig.digest,
            size: sig.size,
            artifactType: "application/vnd.example.signature",
          }],
        },
      },
      {
        description: "unknown name under a mount: tags 404",
        url: "/v2/org/b/nope/tags/list",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
    ]);
    assert.deepEqual(bOrigins.calls, [[f.orgB.svcLayer.digest, f.orgB.svcLayer.size]]);
    assert.deepEqual(rootOrigins.calls, [[f.root.layer.digest, f.root.layer.size]]);
  } finally {
    await f.cleanup();
  }
});

Deno.test("mounts: _catalog merges the root and every mount, hides shadowed names, pages", async (t) => {
  const f = await makeMountsFixture();
  try {
    const { log, lines } = memoryLogger();
    const { app, mounts } = await federatedApp(f, { log });
    const warnings = () => lines.filter((l) => String(l.msg).includes("hidden by the mount"));
    // Logged when the app is built (after the indexes are loaded), once.
    assert.equal(warnings().length, 1);
    assert.deepEqual(warnings()[0].repositories, ["team-a/app", "team-a/legacy"]);
    await runCases(t, app, [
      {
        description: "the merged, sorted catalog",
        url: "/v2/_catalog",
        status: 200,
        wantBody: { repositories: CATALOG },
      },
      {
        description: "a page across the mounts",
        url: "/v2/_catalog?n=2&last=many",
        status: 200,
        wantBody: { repositories: ["org/b/svc", "other/repo"] },
        wantHeaders: { link: '</v2/_catalog?n=2&last=other%2Frepo>; rel="next"' },
      },
      {
        description: "the last page has no Link",
        url: "/v2/_catalog?n=5&last=other/repo",
        status: 200,
        wantBody: { repositories: ["team-a/app", "team-a/tools/x"] },
        wantHeaders: { link: null },
      },
    ]);
    await t.step("following Link walks the merged list exactly once", async () => {
      const got: string[] = [];
      let url: string | undefined = "/v2/_catalog?n=1";
      while (url) {
        const res: Response = await app.request(url);
        got.push(...(await res.json()).repositories);
        url = /^<([^>]+)>/.exec(res.headers.get("link") ?? "")?.[1];
        assert.ok(got.length <= CATALOG.length, "paging does not end");
      }
      assert.deepEqual(got, CATALOG);
    });
    await t.step("a repository published to a mount shows after its refresh", async () => {
      await putRepo(f.orgB.store, "api", "v1", 41);
      await putDoc(f.orgB.store, CATALOG_KEY, { version: 1, repositories: ["api", "svc"] });
      const before = await (await app.request("/v2/_catalog")).json();
      assert.deepEqual(before.repositories, CATALOG, "cached until the index changes");
      assert.equal(await mounts[1].registry.refresh(), true);
      const after = await (await app.request("/v2/_catalog")).json();
      assert.deepEqual(after.repositories, [...CATALOG, "org/b/api"].sort());
      const m = await app.request("/v2/org/b/api/manifests/v1");
      await m.body?.cancel();
      assert.equal(m.status, 200);
    });
    assert.equal(warnings().length, 1, "the hidden names are warned about once");
  } finally {
    await f.cleanup();
  }
});

Deno.test("mounts: /readyz needs every store; a mount not loaded is 503 for it alone", async (t) => {
  const f = await makeMountsFixture();
  try {
    const root = await f.registry(f.root.store);
    const aRegistry = new Registry(f.teamA.store, { log: silentLogger }); // not loaded
    const bOrigins = new FakeOrigins("cdn-b", "http://b.test/b");
    const app = createApp({
      registry: root,
      store: f.root.store,
      mounts: [
        { prefix: "team-a", registry: aRegistry, store: f.teamA.store },
        {
          prefix: "org/b",
          registry: await f.registry(f.orgB.store),
          store: f.orgB.store,
          origins: bOrigins,
        },
      ],
      log: silentLogger,
    });
    await runCases(t, app, [
      { description: "/readyz → 503", url: "/readyz", status: 503 },
      {
        description: "the mount's routes → 503 naming the mount",
        url: "/v2/team-a/app/manifests/v1",
        status: 503,
        wantBody: {
          errors: [{
            code: "UNAVAILABLE",
            message: 'registry not ready: the index of mount "team-a" is not loaded yet',
          }],
        },
      },
      { description: "the other stores serve", url: "/v2/org/b/svc/manifests/v1", status: 200 },
      { description: "root serves", url: "/v2/many/tags/list", status: 200 },
      {
        description: "_catalog → 503 naming the mount",
        url: "/v2/_catalog",
        status: 503,
        wantBody: {
          errors: [{
            code: "UNAVAILABLE",
            message: 'registry not ready: the index of "team-a" is not loaded yet',
          }],
        },
      },
    ]);
    const body = await (await app.request("/readyz")).json();
    assert.equal(body.ready, false);
    assert.equal(body.index.ready, true, "the root's own detail stays at the top level");
    assert.deepEqual(
      body.mounts.map((m: { prefix: string; ready: boolean }) => [m.prefix, m.ready]),
      [["team-a", false], ["org/b", true]],
    );
    assert.equal(body.mounts[0].origins, null);
    assert.deepEqual(body.mounts[1].origins.origins, [{ name: "cdn-b", healthy: true }]);

    await aRegistry.load();
    assert.equal((await app.request("/readyz")).status, 200);
    assert.equal((await app.request("/v2/_catalog")).status, 200);
    bOrigins.ready = false;
    const res = await app.request("/readyz");
    assert.equal(res.status, 503, "a mount whose origins are all down is not ready");
    assert.equal((await res.json()).mounts[1].ready, false);
  } finally {
    await f.cleanup();
  }
});

Deno.test("mounts: /metrics labels index gauges and origins lines by mount", async () => {
  const f = await makeMountsFixture();
  try {
    const { app } = await federatedApp(f, {
      rootOrigins: new FakeOrigins("cdn-root", "http://root.test/r"),
      bOrigins: new FakeOrigins("cdn-b", "http://b.test/b"),
    });
    const text = await (await app.request("/metrics")).text();
    assert.match(text, /^static_registry_index_repositories\{mount=""\} 5$/m);
    assert.match(text, /^static_registry_index_repositories\{mount="team-a"\} 2$/m);
    assert.match(text, /^static_registry_index_repositories\{mount="org\/b"\} 1$/m);
    assert.match(text, /^static_registry_index_ready\{mount="team-a"\} 1$/m);
    assert.match(text, /^static_registry_origin_up\{mount="",origin="cdn-root"\} 1$/m);
    assert.match(text, /^static_registry_origin_up\{mount="org\/b",origin="cdn-b"\} 1$/m);
    // The text format describes each family once, its samples contiguous.
    for (const family of ["static_registry_origin_up", "static_registry_index_tags"]) {
      assert.equal(text.split(`# TYPE ${family} `).length, 2, `${family}: one TYPE line`);
      const at = text.split("\n").flatMap((l, i) => l.startsWith(`${family}{`) ? [i] : []);
      assert.equal(at[at.length - 1] - at[0], at.length - 1, `${family}: contiguous samples`);
    }
    assert.ok(text.endsWith("\n"));
  } finally {
    await f.cleanup();
  }
});
