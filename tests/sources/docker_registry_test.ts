/**
 * @module
 * `docker://` sources: reference parsing, publishing from a real CNCF distribution
 * (`docker-registry`, started here) holding a generated image and a two-platform index,
 * and — against a fake registry (fake_registry.ts) — token and Basic auth, blob redirects
 * to another origin, corrupt blobs and lying digests.
 */
import assert from "node:assert/strict";
import { buildImage, makeOciLayout } from "../helpers/image.ts";
import { distributionAvailable, pushLayout, startDistribution } from "../helpers/distribution.ts";
import { DirStore } from "../../lib/store/dir.ts";
import { blobKey, type RepoIndex } from "../../lib/layout/layout.ts";
import { UsageError } from "../../lib/cli/usage.ts";
import { parseDockerReference } from "../../lib/sources/docker_reference.ts";
import { fileCredentials } from "../../lib/sources/registry_auth.ts";
import { parseChallenge } from "../../lib/sources/registry_client.ts";
import { openSource } from "../../lib/sources/open.ts";
import { publish } from "../../lib/publish/publish.ts";
import { verifyStore } from "../../lib/publish/verify.ts";
import { publishCommand } from "../../lib/cli/publish.ts";
import { publishFrom, readDoc, snapshot, tmpLeftovers, withTemp } from "../publish/helpers.ts";
import { type FakeRegistryOptions, startFakeRegistry } from "./fake_registry.ts";

Deno.test("parseDockerReference() splits host, repository, tag or digest", () => {
  const p = (s: string) => parseDockerReference(s, `docker:${s}`);
  assert.deepEqual(p("//127.0.0.1:5000/demo/app:v1"), {
    host: "127.0.0.1:5000",
    base: "http://127.0.0.1:5000",
    repository: "demo/app",
    tag: "v1",
  });
  const digest = `sha256:${"a".repeat(64)}`;
  assert.deepEqual(p(`//localhost/app@${digest}`), {
    host: "localhost",
    base: "http://localhost",
    repository: "app",
    digest,
  });
  assert.equal(p("//ghcr.io/org/app").base, "https://ghcr.io");
  assert.equal(p("//ghcr.io/org/app").tag, "latest");
  assert.deepEqual(p("//busybox:1.36"), {
    host: "docker.io",
    base: "https://registry-1.docker.io",
    repository: "library/busybox",
    tag: "1.36",
  });
  assert.equal(p("//bitnami/redis").repository, "bitnami/redis");
  for (
    const [s, needle] of [
      ["/127.0.0.1/x", "docker://HOST"],
      ["//127.0.0.1:5000/Upper", '"Upper"'],
      ["//127.0.0.1:5000/x:-bad", 'tag "-bad"'],
      ["//127.0.0.1:5000/x@sha256:00", 'digest "sha256:00"'],
      ["//ho_st.example/x", 'host "ho_st.example"'],
    ]
  ) {
    assert.throws(
      () => p(s),
      (e: Error) => e instanceof UsageError && e.message.includes(needle),
      s,
    );
  }
});

/** A parsed challenge with its (null-prototype) params as a plain object, for deepEqual. */
const plain = (c: ReturnType<typeof parseChallenge>) => ({ ...c, params: { ...c.params } });

Deno.test("parseChallenge() reads Bearer and Basic challenges", () => {
  assert.deepEqual(
    plain(parseChallenge(
      'Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull"',
    )),
    {
      scheme: "bearer",
      params: { realm: "https://auth.example/token", service: "reg", scope: "repository:a/b:pull" },
    },
  );
  assert.deepEqual(plain(parseChallenge('Basic realm="x \\"y\\""')), {
    scheme: "basic",
    params: { realm: 'x "y"' },
  });
});

Deno.test("parseChallenge(): a parameter named __proto__ is a key, not a prototype", () => {
  const c = parseChallenge('Bearer __proto__="x",realm="https://a.example/t"');
  assert.equal(c.params["__proto__"], "x");
  assert.deepEqual(Object.keys(c.params), ["__proto__", "realm"]);
  assert.equal(c.params.constructor, undefined);
});

Deno.test({
  name: "publish() from docker:// on CNCF distribution: an image and a 2-platform index",
  ignore: !distributionAvailable(),
  fn: () =>
    withTemp(async (tmp) => {
      const reg = await startDistribution();
      try {
        const single = await makeOciLayout(`${tmp}/single`, { tag: "v1", seed: "reg1", layers: 3 });
        await pushLayout(`${tmp}/single`, "v1", reg.addr, "src/single:v1");
        const platforms = [{ os: "linux", architecture: "amd64" }, {
          os: "linux",
          architecture: "arm64",
        }];
        const multi = await makeOciLayout(`${tmp}/multi`, {
          tag: "v2",
          seed: "reg2",
          platforms,
          format: "docker",
        });
        await pushLayout(`${tmp}/multi`, "v2", reg.addr, "src/multi:v2");

        const store = new DirStore(`${tmp}/store`);
        const a = await publishFrom(
          `docker://${reg.addr}/src/single:v1`,
          store,
          "demo/single",
          "v1",
        );
        assert.equal(a.digest, single.rootDigest);
        assert.equal(a.blobsCopied, single.blobs.length);
        const b = await publishFrom(`docker://${reg.addr}/src/multi:v2`, store, "demo/multi", "v2");
        assert.equal(b.digest, multi.rootDigest);
        assert.equal(b.mediaType, multi.rootMediaType);
        assert.equal(b.manifests, 3);
        assert.equal(b.blobsCopied, multi.blobs.length);
        // By digest, through the CLI (the tag defaults to "latest" for a digest reference).
        const log = console.log;
        const out: string[] = [];
        console.log = (...a: unknown[]) => out.push(a.join(" "));
        let cli: number;
        try {
          cli = await publishCommand([
            `docker://${reg.addr}/src/multi@${multi.rootDigest}`,
            "demo/multi",
            "--json",
            "--to",
            `${tmp}/store`,
          ]);
        } finally {
          console.log = log;
        }
        assert.equal(JSON.parse(out.join("")).digest, multi.rootDigest);
        assert.equal(cli, 0);
        const index = await readDoc<RepoIndex>(
          `${tmp}/store`,
          "repositories/demo/multi/_index.json",
        );
        assert.deepEqual(index.tags, { v2: multi.rootDigest, latest: multi.rootDigest });
        assert.deepEqual(await verifyStore(store, { deep: true }), []);
        for (const m of multi.manifests) assert.ok(await store.stat(blobKey(m.digest)));

        await assert.rejects(
          publishFrom(`docker://${reg.addr}/src/single:nope`, store, "demo/single", "x"),
          (e: Error) =>
            e instanceof UsageError && e.message.includes('manifest "nope" not found') &&
            e.message.includes(`${reg.addr}/src/single`) && e.message.includes("MANIFEST_UNKNOWN"),
        );
      } finally {
        await reg.stop();
      }
    }),
});

/** Runs `fn` against a fake registry serving a 2-layer image as tag v1. */
async function withFake(
  opts: Partial<FakeRegistryOptions>,
  fn: (
    fake: ReturnType<typeof startFakeRegistry>,
    rootDigest: string,
    tmp: string,
  ) => Promise<void>,
) {
  const { blobs, root } = await buildImage({ seed: "fake", layers: 2 });
  const fake = startFakeRegistry({ blobs, tags: { v1: root }, ...opts });
  try {
    await withTemp((tmp) => fn(fake, root.digest, tmp));
  } finally {
    await fake.close();
  }
}

Deno.test("docker://: a corrupt blob fails naming it, and the store is unchanged", async () => {
  const { image } = await buildImage({ seed: "fake", layers: 2 });
  const bad = image.manifests[0].layers[1].digest;
  await withFake({ corrupt: bad }, async (fake, rootDigest, tmp) => {
    const store = new DirStore(`${tmp}/store`);
    await makeOciLayout(`${tmp}/good`, { tag: "v1", seed: "good" });
    await publishFrom(`oci:${tmp}/good:v1`, store, "demo/x", "good");
    const before = await snapshot(`${tmp}/store`);
    await assert.rejects(
      publishFrom(`docker://${fake.addr}/src/x:v1`, store, "demo/x", "v1"),
      (e: Error) => e.message.includes(bad) && /content digest is sha256:/.test(e.message),
    );
    const after = await snapshot(`${tmp}/store`);
    for (const key of Object.keys(after)) {
      if (!(key in before)) assert.ok(key.startsWith("blobs/"), `${key} appeared`);
      else assert.equal(after[key], before[key], `${key} changed`);
    }
    assert.ok(!(blobKey(bad) in after), "the corrupt blob is not stored");
    assert.ok(!(blobKey(rootDigest) in after), "the manifest is not stored");
    assert.deepEqual(await tmpLeftovers(`${tmp}/store`), []);
    assert.deepEqual(await verifyStore(store), []);
  });
});

Deno.test("docker://: a Docker-Content-Digest that does not match the bytes is refused", () =>
  withFake({ lyingDigest: `sha256:${"0".repeat(64)}` }, async (fake, _root, tmp) => {
    await assert.rejects(
      publishFrom(`docker://${fake.addr}/src/x:v1`, new DirStore(`${tmp}/s`), "demo/x", "v1"),
      /manifest "v1": Docker-Content-Digest is sha256:0{64}, the content hashes to sha256:[0-9a-f]{64}/,
    );
  }));

Deno.test("docker://: Bearer token with credentials; redirected blobs get no Authorization", () =>
  withFake(
    { auth: { scheme: "bearer", username: "alice", password: "s3cret" }, redirectBlobs: true },
    async (fake, rootDigest, tmp) => {
      await Deno.writeTextFile(
        `${tmp}/auth.json`,
        JSON.stringify({ auths: { [`http://${fake.addr}`]: { auth: btoa("alice:s3cret") } } }),
      );
      const source = await openSource(`docker://${fake.addr}/src/x:v1`, {
        credentials: fileCredentials(`${tmp}/auth.json`),
      });
      const store = new DirStore(`${tmp}/store`);
      const r = await publish({ source, store, name: "demo/x", tag: "v1" });
      assert.equal(r.digest, rootDigest);
      assert.deepEqual(await verifyStore(store, { deep: true }), []);
      const token = fake.requests.find((q) => q.path.startsWith("/token"))!;
      assert.equal(token.authorization, `Basic ${btoa("alice:s3cret")}`);
      assert.match(token.path, /service=fake&scope=repository%3Ax%3Apull/);
      const cdn = fake.requests.filter((q) => q.server === "cdn");
      assert.equal(cdn.length, 3, "config + 2 layers fetched from the CDN");
      assert.ok(cdn.every((q) => q.authorization === null), "no credentials to another origin");
      // Anonymous (no credentials known for the host): the token endpoint refuses.
      const anon = await openSource(`docker://${fake.addr}/src/x:v1`, {
        credentials: fileCredentials(`${tmp}/missing.json`, false),
      });
      await assert.rejects(anon.resolve(), /token from .*: HTTP 401 UNAUTHORIZED/);
    },
  ));

Deno.test("docker://: an expired Bearer token is renewed mid-publish", () =>
  withFake({ auth: { scheme: "bearer" }, tokenUses: 2 }, async (fake, rootDigest, tmp) => {
    const store = new DirStore(`${tmp}/store`);
    const r = await publishFrom(`docker://${fake.addr}/src/x:v1`, store, "demo/x", "v1");
    assert.equal(r.digest, rootDigest);
    assert.equal(r.blobsCopied, 3);
    const tokens = fake.requests.filter((q) => q.path.startsWith("/token"));
    assert.ok(tokens.length >= 2, `${tokens.length} token request(s)`);
    assert.ok(tokens.every((q) => q.authorization === null), "anonymous token requests");
    assert.deepEqual(await verifyStore(store, { deep: true }), []);
  }));

Deno.test("docker://: Basic auth, and a clear error without credentials", () =>
  withFake({ auth: { scheme: "basic", username: "bob", password: "pw:with:colons" } }, async (
    fake,
    rootDigest,
    tmp,
  ) => {
    await Deno.writeTextFile(
      `${tmp}/config.json`,
      JSON.stringify({ auths: { [fake.addr]: { username: "bob", password: "pw:with:colons" } } }),
    );
    const source = await openSource(`docker://${fake.addr}/src/x:v1`, {
      credentials: fileCredentials(`${tmp}/config.json`),
    });
    const r = await publish({ source, store: new DirStore(`${tmp}/s`), name: "demo/x", tag: "v1" });
    assert.equal(r.digest, rootDigest);
    const none = await openSource(`docker://${fake.addr}/src/x:v1`);
    await assert.rejects(none.resolve(), /asks for Basic auth and no credentials are set/);
    const wrong = await openSource(`docker://${fake.addr}/src/x:v1`, {
      credentials: () => Promise.resolve({ username: "bob", password: "nope" }),
    });
    await assert.rejects(
      wrong.resolve(),
      /manifest "v1" from .*: HTTP 401 UNAUTHORIZED.*REGISTRY_AUTH_FILE/,
    );
    await Deno.writeTextFile(
      `${tmp}/bad.json`,
      JSON.stringify({ auths: { [fake.addr]: { auth: "!!" } } }),
    );
    const bad = await openSource(`docker://${fake.addr}/src/x:v1`, {
      credentials: fileCredentials(`${tmp}/bad.json`),
    });
    await assert.rejects(
      bad.resolve(),
      new RegExp(`auths\\["${fake.addr}"\\]\\.auth is not base64`),
    );
  }));

Deno.test("docker://: an unreachable registry is an error naming the URL", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const source = await openSource(`docker://127.0.0.1:${port}/x:v1`, { retry: { baseMs: 10 } });
  await assert.rejects(
    source.resolve(),
    new RegExp(`GET http://127\\.0\\.0\\.1:${port}/v2/x/manifests/v1: `),
  );
});
