/**
 * @module
 * End-to-end federation through the COMPILED binary: two directory stores, the second
 * mounted under `team-a` (DESIGN.md, issue 3 item 9), each with an image published by
 * `static-registry publish`. The root store also holds a stale `team-a/app`, which the
 * mount hides. `_catalog` lists both stores' repositories, `/readyz` reports the mount,
 * and skopeo pulls both images by the names the clients see, digests intact. The mount
 * has its own origin (a stand-in CDN over its store's files): the mount's layers are
 * fetched from it through 307s, the root's (no origins) are streamed by the server.
 */
import assert from "node:assert/strict";
import { requestCount } from "../helpers/metrics.ts";
import { runBinary, startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";

/** A stand-in CDN: serves the files under `root` (GET/HEAD), records the paths it served. */
function fileOrigin(root: string) {
  const served: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const p = decodeURIComponent(new URL(req.url).pathname);
    if (p.includes("..")) return new Response(null, { status: 400 });
    try {
      const bytes = await Deno.readFile(`${root}${p}`);
      served.push(`${req.method} ${p}`);
      return new Response(req.method === "HEAD" ? null : bytes, {
        headers: { "content-length": String(bytes.byteLength) },
      });
    } catch {
      return new Response(null, { status: 404 });
    }
  });
  return { url: `http://127.0.0.1:${server.addr.port}/`, served, stop: () => server.shutdown() };
}

async function publish(layout: string, ref: string, store: string): Promise<void> {
  const r = await runBinary(["publish", `oci:${layout}:v1`, ref, "--to", store]);
  assert.equal(r.code, 0, `publish ${ref} → ${store} exited ${r.code}:\n${r.stderr}`);
}

Deno.test({
  name: "e2e: federation — a mounted store is served under its prefix and pulled by skopeo",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-fed-" });
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    let cdn: ReturnType<typeof fileOrigin> | undefined;
    try {
      const rootStore = `${tmp}/root`;
      const teamStore = `${tmp}/team-a`;
      await Deno.mkdir(rootStore);
      await Deno.mkdir(teamStore);
      const rootImage = await makeOciLayout(`${tmp}/src-root`, { tag: "v1", seed: "fed-root" });
      const teamImage = await makeOciLayout(`${tmp}/src-team`, { tag: "v1", seed: "fed-team" });
      const staleImage = await makeOciLayout(`${tmp}/src-stale`, { tag: "v1", seed: "fed-old" });
      // The same repository name `app` in both stores: only the prefix tells them apart.
      await publish(`${tmp}/src-root`, "app:v1", rootStore);
      await publish(`${tmp}/src-team`, "app:v1", teamStore);
      await publish(`${tmp}/src-stale`, "team-a/app:v1", rootStore);

      cdn = fileOrigin(teamStore);
      reg = await startRegistry({
        config: {
          store: rootStore,
          mounts: [{
            prefix: "team-a",
            store: teamStore,
            origins: [{ name: "team-cdn", url: cdn.url }],
          }],
          health: { interval: "1s", timeout: "500ms", rise: 1, fall: 1 },
        },
      });
      const url = reg.url;

      await t.step("_catalog lists both stores, the hidden root repository once", async () => {
        const res = await fetch(`${url}/v2/_catalog`);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), { repositories: ["app", "team-a/app"] });
        const paged = await fetch(`${url}/v2/_catalog?n=1`);
        assert.deepEqual(await paged.json(), { repositories: ["app"] });
        assert.equal(paged.headers.get("link"), '</v2/_catalog?n=1&last=app>; rel="next"');
        assert.match(reg!.logs(), /hidden by the mount/, "the shadowed name is logged");
      });

      await t.step("/readyz reports the mount", async () => {
        const res = await fetch(`${url}/readyz`);
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.equal(body.mounts[0].prefix, "team-a");
        assert.equal(body.mounts[0].index.repositories, 1);
        assert.equal(body.mounts[0].origins.origins[0].name, "team-cdn");
        assert.equal(body.origins, null, "the root has no origins");
      });

      await t.step("manifests resolve to the right store", async () => {
        for (
          const [name, image] of [["app", rootImage], ["team-a/app", teamImage]] as const
        ) {
          const res = await fetch(`${url}/v2/${name}/manifests/v1`, {
            method: "HEAD",
            headers: { accept: image.rootMediaType },
          });
          assert.equal(res.status, 200, name);
          assert.equal(res.headers.get("docker-content-digest"), image.rootDigest, name);
        }
        assert.notEqual(teamImage.rootDigest, staleImage.rootDigest);
      });

      clients = await PullClients.create({ budgetMs: 120_000 });
      for (const [name, image] of [["app", rootImage], ["team-a/app", teamImage]] as const) {
        await t.step(`skopeo copy ${name}:v1`, async () => {
          const got = await clients!.skopeoCopy(reg!.addr, `${name}:v1`);
          assert.equal(got.digest, image.rootDigest);
          for (const b of image.blobs) assert.ok(got.blobs.includes(b), `${name}: blob ${b}`);
        });
      }
      await t.step(
        "the mount's blobs came from its origin, the root's from the server",
        async () => {
          const metrics = await (await fetch(`${url}/metrics`)).text();
          const count = (status: number) => requestCount(metrics, "blobs", status);
          assert.equal(count(200), rootImage.blobs.length, "root blobs streamed by the server");
          assert.equal(count(307), teamImage.blobs.length, "team blobs redirected");
          const fromCdn = cdn!.served.filter((l) => l.startsWith("GET /blobs/"));
          for (const b of teamImage.blobs) {
            assert.ok(fromCdn.includes(`GET /blobs/${b.replace(":", "/")}`), `team blob ${b}`);
          }
          for (const b of rootImage.blobs) {
            assert.ok(!fromCdn.includes(`GET /blobs/${b.replace(":", "/")}`), `root blob ${b}`);
          }
        },
      );
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      await cdn?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
