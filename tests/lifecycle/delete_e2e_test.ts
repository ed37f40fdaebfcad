/**
 * @module
 * End to end: the COMPILED binary publishes three tags, serves the directory store, and
 * `delete` takes one tag and one manifest out while it runs. After SIGHUP (a refresh),
 * skopeo still copies the surviving tag byte for byte — including the base layer the
 * deleted image shared with it — docker pulls it, and skopeo gets "manifest unknown" for
 * what went.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { runBinary, startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { run } from "../helpers/process.ts";

Deno.test({
  name: "e2e: skopeo and docker pull the surviving tag after delete, and not the deleted ones",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-delete-" });
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    try {
      const store = `${tmp}/store`;
      const keep = await makeOciLayout(`${tmp}/keep`, {
        tag: "v1",
        seed: "e2e-del-keep",
        baseSeed: "e2e-del-base",
      });
      const gone = await makeOciLayout(`${tmp}/gone`, {
        tag: "v1",
        seed: "e2e-del-gone",
        baseSeed: "e2e-del-base",
      });
      assert.ok(keep.blobs.some((d) => gone.blobs.includes(d)), "the images share a base layer");
      const ok = async (args: string[]) => {
        const r = await runBinary(args);
        assert.equal(r.code, 0, `${args.join(" ")}:\n${r.stderr}`);
        return r;
      };
      await ok(["publish", `oci:${tmp}/keep:v1`, "e2e/app:stable", "--to", store]);
      await ok(["publish", `oci:${tmp}/gone:v1`, "e2e/app:old", "--to", store]);
      await ok(["publish", `oci:${tmp}/gone:v1`, "e2e/other:old", "--to", store]);
      reg = await startRegistry({ config: { store } });
      const head = async (path: string) => {
        const res = await fetch(`${reg!.url}${path}`, { method: "HEAD" });
        await res.body?.cancel();
        return res.status;
      };
      assert.equal(await head("/v2/e2e/app/manifests/old"), 200);

      await ok(["delete", `e2e/app@${gone.rootDigest}`, "e2e/other:old", "--from", store]);
      Deno.kill(reg.pid, "SIGHUP");
      const until = Date.now() + 15_000;
      while ((await head("/v2/e2e/app/manifests/old")) !== 404) {
        assert.ok(Date.now() < until, "the server still serves the deleted tag after SIGHUP");
        await new Promise((r) => setTimeout(r, 100));
      }
      const catalog = await (await fetch(`${reg.url}/v2/_catalog`)).json();
      assert.deepEqual(catalog.repositories, ["e2e/app"]);

      clients = await PullClients.create({ budgetMs: 120_000 });
      const got = await clients.skopeoCopy(reg.addr, "e2e/app:stable", { dest: "oci" });
      assert.equal(got.digest, keep.rootDigest);
      for (const d of keep.blobs) assert.ok(got.blobs.includes(d), `skopeo lacks ${d}`);
      // docker (a private dockerd) pulls the surviving tag too, and its digest is the kept one.
      const pulled = await clients.docker(reg.addr, "e2e/app:stable");
      assert.ok(
        pulled.repoDigests.some((d) => d.endsWith(`@${keep.rootDigest}`)),
        `docker RepoDigests ${pulled.repoDigests.join(", ")}`,
      );
      for (const ref of ["e2e/app:old", `e2e/app@${gone.rootDigest}`, "e2e/other:old"]) {
        const r = await run("skopeo", [
          "inspect",
          "--raw",
          "--tls-verify=false",
          `docker://${reg.addr}/${ref}`,
        ], {
          timeoutMs: 60_000,
        });
        assert.notEqual(r.code, 0, `skopeo inspect ${ref} succeeded after delete`);
        assert.match(r.stderr, /manifest unknown|name unknown|not found|unknown/i, ref);
      }
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-4000)}`);
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
