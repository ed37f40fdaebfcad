/**
 * @module
 * End-to-end: the original static-registry's Docker Registry v1 endpoint, kept in the
 * COMPILED binary for old clients. `/v1/_ping` is answered by the registry with the headers
 * v1 clients read (`X-Docker-Registry-Version`, `X-Docker-Registry-Standalone`); every
 * other `/v1/...` GET is a 307 to the configured `v1.origin` plus the rest of the path and
 * the query — here a static nginx serving a v1 tree — and following it yields the file.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { startNginx } from "../helpers/nginx.ts";
import { publish } from "./fixture.ts";

type Started<T extends (...a: never[]) => unknown> = Awaited<ReturnType<T>>;

/** A static v1 tree: the documents a v1 pull of `x:latest` reads. */
async function writeV1Tree(root: string): Promise<Record<string, string>> {
  const id = "a".repeat(64);
  const files: Record<string, string> = {
    "v1/repositories/x/tags": JSON.stringify({ latest: id }),
    "v1/repositories/x/images": JSON.stringify([{ id }]),
    [`v1/images/${id}/json`]: JSON.stringify({ id, created: "2014-06-01T00:00:00Z" }),
    [`v1/images/${id}/ancestry`]: JSON.stringify([id]),
  };
  for (const [rel, text] of Object.entries(files)) {
    const file = `${root}/${rel}`;
    await Deno.mkdir(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(file, text);
  }
  return files;
}

Deno.test({
  name: "e2e v1: /v1/_ping answered, other /v1 paths redirected to the static v1 tree",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-v1-" });
    let web: Started<typeof startNginx> | undefined;
    const regs: Started<typeof startRegistry>[] = [];
    try {
      const store = `${tmp}/store`;
      await Deno.mkdir(store);
      await makeOciLayout(`${tmp}/src`, { tag: "v1", layers: 1, seed: "e2e-v1" });
      await publish(`${tmp}/src`, "v1", "x:latest", store);
      const files = await writeV1Tree(`${tmp}/web`);
      web = await startNginx({ mode: "static", root: `${tmp}/web` });
      const origin = `${web.url}/v1`;
      const reg = await startRegistry({ config: { store, v1: { origin } } });
      regs.push(reg);

      await t.step("/v1/_ping: 200 with the v1 headers, GET and HEAD", async () => {
        for (const method of ["GET", "HEAD"]) {
          const res = await fetch(`${reg.url}/v1/_ping`, { method, redirect: "manual" });
          const body = await res.text();
          assert.equal(res.status, 200, `${method} /v1/_ping: ${body}`);
          assert.ok(res.headers.get("x-docker-registry-version"), "X-Docker-Registry-Version");
          assert.equal(res.headers.get("x-docker-registry-standalone"), "true");
          if (method === "GET") assert.equal(JSON.parse(body), true);
        }
      });

      await t.step(
        "/v1/repositories/x/tags: 307 to origin + path, which serves the file",
        async () => {
          const res = await fetch(`${reg.url}/v1/repositories/x/tags`, { redirect: "manual" });
          await res.body?.cancel();
          assert.equal(res.status, 307);
          const location = res.headers.get("location");
          assert.equal(location, `${origin}/repositories/x/tags`);
          const file = await fetch(location!);
          assert.equal(file.status, 200);
          assert.deepEqual(await file.json(), JSON.parse(files["v1/repositories/x/tags"]));
          // A client that follows redirects (every v1 client did) gets the same document.
          const followed = await fetch(`${reg.url}/v1/repositories/x/tags`);
          assert.equal(followed.status, 200);
          assert.equal(await followed.text(), files["v1/repositories/x/tags"]);
        },
      );

      await t.step("every v1 document of the tree, and the query kept", async () => {
        for (const [rel, text] of Object.entries(files)) {
          const res = await fetch(`${reg.url}/${rel}?from=test`, { redirect: "manual" });
          await res.body?.cancel();
          assert.equal(res.status, 307, rel);
          assert.equal(res.headers.get("location"), `${web!.url}/${rel}?from=test`);
          const got = await fetch(`${reg.url}/${rel}`);
          assert.equal(await got.text(), text, rel);
        }
      });

      await t.step("writes are refused (405), never redirected", async () => {
        const res = await fetch(`${reg.url}/v1/repositories/x/tags/latest`, {
          method: "PUT",
          body: '"x"',
          redirect: "manual",
        });
        const body = await res.text();
        assert.equal(res.status, 405, body);
        assert.equal(res.headers.get("location"), null);
      });

      await t.step("without v1.origin: _ping still 200, other /v1 paths 404", async () => {
        const bare = await startRegistry({ config: { store } });
        regs.push(bare);
        const ping = await fetch(`${bare.url}/v1/_ping`);
        await ping.body?.cancel();
        assert.equal(ping.status, 200);
        const res = await fetch(`${bare.url}/v1/repositories/x/tags`, { redirect: "manual" });
        const body = await res.text();
        assert.equal(res.status, 404, body);
        assert.equal(res.headers.get("location"), null);
      });
    } finally {
      for (const r of regs) await r.stop();
      await web?.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
