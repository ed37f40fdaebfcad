/**
 * @module
 * containerd mirror mode in createApp(): `?ns=HOST` makes `name` mean `HOST/name`, so the
 * mounts `docker.io` and `quay.io` serve `library/x` each with its own image, on every
 * route that names a repository; without `ns` nothing changes; an upstream no mount
 * serves is 404 unless the root holds `HOST/name` itself (never the root's bare `name`);
 * auth rules see the prefixed name.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { silentLogger } from "../../lib/log.ts";
import { createApp } from "../../lib/server/app.ts";
import { mirrorName } from "../../lib/server/mounts.ts";
import type { Mount } from "../../lib/server/deps.ts";
import { CATALOG_KEY, MARKER, MARKER_KEY, repoIndexKey } from "../../lib/layout/layout.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { OCI_INDEX } from "../../lib/oci/mediatypes.ts";
import { authMiddleware, type AuthState } from "../../lib/auth/middleware.ts";
import { AccessRules } from "../../lib/auth/rules.ts";
import { Users } from "../../lib/auth/htpasswd.ts";
import { Tokens } from "../../lib/auth/token.ts";
import { bytesOf, makeFixture, putDoc, putImage, SIG_TYPE } from "./fixture.ts";
import { FakeOrigins, runCases } from "./harness.ts";
import { putRepo } from "./mounts_fixture.ts";
import { Registry } from "../../lib/index/registry.ts";

async function mirrorFixture() {
  const root = await makeFixture();
  const tmp = path.dirname(root.root);
  // The root also holds a repository under an upstream's name, with no mount for it.
  const tool = await putRepo(root.store, "ghcr.io/org/tool", "v1", 61);
  await putDoc(root.store, CATALOG_KEY, {
    version: 1,
    repositories: ["ghcr.io/org/tool", "library/alpine", "many", "other/repo"],
  });
  const store = async (dir: string) => {
    const s = new DirStore(path.join(tmp, dir));
    await putDoc(s, MARKER_KEY, MARKER);
    return s;
  };
  const docker = await store("docker.io");
  const dAlpine = await putRepo(docker, "library/alpine", "latest", 41);
  const dX = await putRepo(docker, "library/x", "v1", 42);
  const sig = await putImage(docker, dX.idx, {
    layers: [bytesOf(43, 10)],
    subject: dX.image,
    artifactType: SIG_TYPE,
  });
  dX.idx.tags.v2 = dX.image.digest;
  await putDoc(docker, repoIndexKey("library/x"), dX.idx);
  await putDoc(docker, CATALOG_KEY, { version: 1, repositories: ["library/alpine", "library/x"] });
  const quay = await store("quay.io");
  const qX = await putRepo(quay, "library/x", "v1", 51);
  await putDoc(quay, CATALOG_KEY, { version: 1, repositories: ["library/x"] });
  return { root, tool, docker, dAlpine, dX, sig, quay, qX };
}

async function mirrorApp(
  f: Awaited<ReturnType<typeof mirrorFixture>>,
  middleware?: AuthState,
) {
  const registry = async (store: DirStore) => {
    const r = new Registry(store, { log: silentLogger });
    await r.load();
    return r;
  };
  const quayOrigins = new FakeOrigins("cdn-quay", "http://quay-cdn.test/q");
  const mounts: Mount[] = [
    { prefix: "docker.io", registry: await registry(f.docker), store: f.docker },
    { prefix: "quay.io", registry: await registry(f.quay), store: f.quay, origins: quayOrigins },
  ];
  const app = createApp({
    registry: await registry(f.root.store),
    store: f.root.store,
    mounts,
    middleware: middleware ? [authMiddleware(() => middleware)] : undefined,
    log: silentLogger,
  });
  return { app, quayOrigins };
}

Deno.test("mirrorName(): ns prefixes the name, decoded; other parameters do not", () => {
  assert.equal(mirrorName("library/alpine", "ns=docker.io"), "docker.io/library/alpine");
  assert.equal(mirrorName("a", "n=1&ns=quay.io&last=x"), "quay.io/a");
  assert.equal(mirrorName("a", "ns=docker%2Eio"), "docker.io/a");
  assert.equal(mirrorName("a", "ns=reg%3A5000"), "reg:5000/a");
  assert.equal(mirrorName("a", "ns=docker.io&ns=quay.io"), "docker.io/a", "the first ns wins");
  assert.equal(mirrorName("a", "dns=docker.io"), "a");
  assert.equal(mirrorName("a", "xns=docker.io&ns="), "a", "an empty ns is no ns");
});

Deno.test("ns: containerd mirror mode selects the mount named by the upstream host", async (t) => {
  const f = await mirrorFixture();
  try {
    const { app, quayOrigins } = await mirrorApp(f);
    const dX = f.dX.image.digest;
    const qX = f.qX.image.digest;
    assert.notEqual(dX, qX);
    await runCases(t, app, [
      {
        description: "without ns nothing changes: the root's library/alpine",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
        wantHeaders: { "docker-content-digest": f.root.alpine.digest },
      },
      {
        description: "ns=docker.io: the docker.io mount's library/alpine",
        url: "/v2/library/alpine/manifests/latest?ns=docker.io",
        status: 200,
        wantHeaders: { "docker-content-digest": f.dAlpine.image.digest },
        wantBody: f.dAlpine.image.bytes,
      },
      {
        description: "the same name under two upstreams: docker.io's library/x",
        method: "HEAD",
        url: "/v2/library/x/manifests/v1?ns=docker.io",
        status: 200,
        wantHeaders: { "docker-content-digest": dX },
      },
      {
        description: "…and quay.io's library/x",
        method: "HEAD",
        url: "/v2/library/x/manifests/v1?ns=quay.io",
        status: 200,
        wantHeaders: { "docker-content-digest": qX },
      },
      {
        description: "by digest under its upstream",
        url: `/v2/library/x/manifests/${qX}?ns=quay.io`,
        status: 200,
        wantBody: f.qX.image.bytes,
      },
      {
        description: "another upstream's digest is unknown",
        url: `/v2/library/x/manifests/${dX}?ns=quay.io`,
        status: 404,
        wantCode: "MANIFEST_UNKNOWN",
      },
      {
        description: "the full name without ns is the same repository",
        url: "/v2/docker.io/library/x/manifests/v1",
        status: 200,
        wantHeaders: { "docker-content-digest": dX },
      },
      {
        description: "library/x without ns: the root has none",
        url: "/v2/library/x/manifests/v1",
        status: 404,
        wantCode: "NAME_UNKNOWN",
      },
      {
        description: "an upstream no mount serves is not the root's bare name",
        url: "/v2/library/alpine/manifests/latest?ns=ghcr.io",
        status: 404,
        wantBody: {
          errors: [{
            code: "NAME_UNKNOWN",
            message: "repository name not known to registry",
            detail: { name: "ghcr.io/library/alpine" },
          }],
        },
      },
      {
        description: "…but the root's own HOST/name is served",
        url: "/v2/org/tool/manifests/v1?ns=ghcr.io",
        status: 200,
        wantHeaders: { "docker-content-digest": f.tool.image.digest },
      },
      {
        description: "a percent-encoded ns is decoded",
        method: "HEAD",
        url: "/v2/library/x/manifests/v1?ns=quay%2Eio",
        status: 200,
        wantHeaders: { "docker-content-digest": qX },
      },
      {
        description: "ns among other parameters",
        method: "HEAD",
        url: "/v2/library/x/manifests/v1?x=1&ns=quay.io&y=2",
        status: 200,
        wantHeaders: { "docker-content-digest": qX },
      },
      {
        description: "a parameter ending in ns is not ns",
        url: "/v2/library/alpine/manifests/latest?dns=docker.io",
        status: 200,
        wantHeaders: { "docker-content-digest": f.root.alpine.digest },
      },
      {
        description: "an empty ns is no ns",
        url: "/v2/library/alpine/manifests/latest?ns=",
        status: 200,
        wantHeaders: { "docker-content-digest": f.root.alpine.digest },
      },
      {
        description: "an upstream with a port can be no mount: NAME_INVALID naming it",
        url: "/v2/library/x/manifests/v1?ns=quay.io%3A443",
        status: 400,
        wantBody: {
          errors: [{
            code: "NAME_INVALID",
            message: 'invalid repository name: may contain only a-z, 0-9, ".", "_", "-" ' +
              'and "/", not ":"',
            detail: { name: "quay.io:443/library/x" },
          }],
        },
      },
      {
        description: "an ns that would climb out is refused by the name grammar",
        url: "/v2/library/x/manifests/v1?ns=..",
        status: 400,
        wantCode: "NAME_INVALID",
      },
      {
        description: "blobs: streamed from the docker.io mount's store",
        url: `/v2/library/x/blobs/${f.dX.layer.digest}?ns=docker.io`,
        status: 200,
        wantBody: f.dX.layer.bytes,
      },
      {
        description: "blobs: 307 to the quay.io mount's origin",
        url: `/v2/library/x/blobs/${f.qX.layer.digest}?ns=quay.io`,
        status: 307,
        wantHeaders: {
          location: `http://quay-cdn.test/q/blobs/${f.qX.layer.digest.replace(":", "/")}`,
        },
      },
      {
        description: "blobs: another upstream's blob is unknown",
        url: `/v2/library/x/blobs/${f.qX.layer.digest}?ns=docker.io`,
        status: 404,
        wantCode: "BLOB_UNKNOWN",
      },
      {
        description: "tags: the mount's tags, under the full name",
        url: "/v2/library/x/tags/list?ns=docker.io",
        status: 200,
        wantBody: { name: "docker.io/library/x", tags: ["v1", "v2"] },
      },
      {
        description: "tags: the Link names the full name, which works without ns",
        url: "/v2/library/x/tags/list?n=1&ns=docker.io",
        status: 200,
        wantBody: { name: "docker.io/library/x", tags: ["v1"] },
        wantHeaders: { link: '</v2/docker.io/library/x/tags/list?n=1&last=v1>; rel="next"' },
      },
      {
        description: "referrers: from the mount's index, with artifactType",
        url: `/v2/library/x/referrers/${dX}?ns=docker.io&artifactType=${
          encodeURIComponent(SIG_TYPE)
        }`,
        status: 200,
        wantHeaders: { "oci-filters-applied": "artifactType" },
        wantBody: {
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [{
            mediaType: f.sig.mediaType,
            digest: f.sig.digest,
            size: f.sig.size,
            artifactType: SIG_TYPE,
          }],
        },
      },
      {
        description: "referrers: the same subject under another upstream has none",
        url: `/v2/library/x/referrers/${dX}?ns=quay.io`,
        status: 200,
        wantBody: { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] },
      },
      {
        description: "_catalog names nothing: ns is ignored, full names listed",
        url: "/v2/_catalog?ns=docker.io",
        status: 200,
        wantBody: {
          repositories: [
            "docker.io/library/alpine",
            "docker.io/library/x",
            "ghcr.io/org/tool",
            "library/alpine",
            "many",
            "other/repo",
            "quay.io/library/x",
          ],
        },
      },
      {
        description: "/v2/ with ns",
        url: "/v2/?ns=docker.io",
        status: 200,
      },
      {
        description: "writes stay 405 under ns",
        method: "PUT",
        url: "/v2/library/x/manifests/v1?ns=docker.io",
        status: 405,
        wantCode: "UNSUPPORTED",
      },
    ]);
    assert.deepEqual(quayOrigins.calls, [[f.qX.layer.digest, f.qX.layer.size]]);
  } finally {
    await f.root.cleanup();
  }
});

Deno.test("ns: auth rules decide on the prefixed name", async (t) => {
  const f = await mirrorFixture();
  try {
    const state: AuthState = {
      scheme: "bearer",
      users: new Users(new Map()),
      rules: new AccessRules([
        { prefix: "", pull: "anyone" },
        { prefix: "docker.io", pull: ["alice"] },
      ]),
      tokens: await Tokens.create({ ttlMs: 60_000 }),
    };
    const { app } = await mirrorApp(f, state);
    await runCases(t, app, [
      {
        description: "the root's library/alpine is open",
        url: "/v2/library/alpine/manifests/latest",
        status: 200,
      },
      {
        description: "with ns=docker.io it is docker.io/library/alpine: alice only",
        url: "/v2/library/alpine/manifests/latest?ns=docker.io",
        status: 401,
        wantCode: "UNAUTHORIZED",
        // The token a client fetches is scoped to the name the rules and the route use.
        wantHeaders: {
          "www-authenticate": /scope="repository:docker\.io\/library\/alpine:pull"/,
        },
      },
    ]);
  } finally {
    await f.root.cleanup();
  }
});
