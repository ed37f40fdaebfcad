/**
 * @module
 * Upstream (lib/sync/upstream.ts) against a real CNCF distribution: tags/list paging with
 * Link headers, and one GET per manifest with its digest checked.
 */
import assert from "node:assert/strict";
import { distributionAvailable } from "../helpers/distribution.ts";
import { parseDockerReference } from "../../lib/sources/docker_reference.ts";
import { Upstream } from "../../lib/sync/upstream.ts";
import { startUpstream } from "./fixture.ts";

Deno.test({
  name: "Upstream.tags() pages through tags/list; manifest() is one GET with the digest",
  ignore: !distributionAvailable(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "sr-sync-upstream-" });
    const tags = ["a", "b", "c", "d", "e"];
    const up = await startUpstream(
      tmp,
      tags.map((t) => ({ ref: `src/app:${t}`, opts: { layers: 1 } })),
    );
    try {
      const ref = parseDockerReference(`//${up.addr}/src/app`, "test");
      const u = new Upstream(ref, { pageSize: 2 });
      // distribution 2.8 sends every tag in one page: page them here as a registry that
      // pages would (distribution-spec §"Listing Tags": n, last, Link rel="next").
      up.proxy.fault = ({ path }) => {
        const url = new URL(path, "http://x");
        if (url.pathname !== "/v2/src/app/tags/list") return undefined;
        const n = Number(url.searchParams.get("n"));
        const last = url.searchParams.get("last");
        const from = last ? tags.indexOf(last) + 1 : 0;
        const page = tags.slice(from, from + n);
        const more = from + n < tags.length;
        return {
          respond: () =>
            Response.json({ name: "src/app", tags: page }, {
              headers: more
                ? { link: `</v2/src/app/tags/list?n=${n}&last=${page.at(-1)}>; rel="next"` }
                : {},
            }),
        };
      };
      assert.deepEqual(await u.tags(), tags);
      assert.deepEqual(
        up.proxy.requests.map((q) => q.path),
        [
          "/v2/src/app/tags/list?n=2",
          "/v2/src/app/tags/list?n=2&last=b",
          "/v2/src/app/tags/list?n=2&last=d",
        ],
      );
      up.proxy.fault = undefined;
      assert.deepEqual((await new Upstream(ref).tags()).sort(), tags, "unpaged, from distribution");
      up.proxy.requests.length = 0;
      const m = await u.manifest("c");
      assert.equal(m.digest, up.images["src/app:c"].rootDigest);
      assert.equal(up.proxy.requests.length, 1);
      await assert.rejects(
        u.manifest("nope"),
        /manifest "nope" of 127\.0\.0\.1:\d+\/src\/app: HTTP 404/,
      );
      const none = new Upstream(parseDockerReference(`//${up.addr}/src/none`, "test"));
      await assert.rejects(none.tags(), /tags of .*src\/none: HTTP 404 NAME_UNKNOWN/);
    } finally {
      await up.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
