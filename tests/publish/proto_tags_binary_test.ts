/**
 * @module
 * Issue 9, defect 10, at the binary level: the tags `__proto__` and `constructor` are
 * names like any other. The compiled binary publishes them, and the compiled server
 * serves the manifest by each of them (and answers 404 for `toString`, never published).
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { runBinary, startRegistry } from "../helpers/binary.ts";
import { withTemp } from "./helpers.ts";

const ACCEPT =
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

Deno.test({
  name: "binary: publish x:__proto__ and x:constructor, then pull the manifests by those tags",
  sanitizeResources: false,
  fn: () =>
    withTemp(async (tmp) => {
      const img = await makeOciLayout(`${tmp}/src`, { tag: "v1" });
      const store = `${tmp}/store`;
      for (const tag of ["__proto__", "constructor"]) {
        const r = await runBinary(["publish", `oci:${tmp}/src:v1`, `x:${tag}`, "--to", store]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, new RegExp(`published x:${tag} `));
      }
      const reg = await startRegistry({ config: { store } });
      try {
        for (const tag of ["__proto__", "constructor"]) {
          const res = await fetch(`${reg.url}/v2/x/manifests/${tag}`, {
            headers: { accept: ACCEPT },
          });
          await res.body?.cancel();
          assert.equal(res.status, 200, `GET manifests/${tag}`);
          assert.equal(res.headers.get("docker-content-digest"), img.rootDigest);
        }
        const tags = await (await fetch(`${reg.url}/v2/x/tags/list`)).json();
        assert.deepEqual(tags.tags, ["__proto__", "constructor"]);
        const missing = await fetch(`${reg.url}/v2/x/manifests/toString`);
        await missing.body?.cancel();
        assert.equal(missing.status, 404);
      } finally {
        await reg.stop();
      }
    }),
});
