/**
 * @module
 * Signatures and attestations travel with images (issue 12 item 6), end to end with real
 * parts: a two-platform image in Debian's `docker-registry` (CNCF distribution 2.8, which
 * has NO referrers API), signed there by the real cosign with a key pair made here:
 *  - the index digest: `cosign sign` (tag `sha256-<index>.sig`), `cosign attest`
 *    (`.att`) and `cosign attach sbom` (`.sbom`);
 *  - platform child 0: `cosign sign` (`sha256-<child0>.sig`: tools that sign each child);
 *  - platform child 1: `cosign sign --registry-referrers-mode=oci-1-1`, an OCI 1.1
 *    referrer with `subject`, which distribution 2.8 can only list through the referrers
 *    tag schema (the index tagged `sha256-<child1>` that cosign maintains).
 * Then the COMPILED binary publishes `docker://` into a directory store and serves it, and
 * cosign verifies against static-registry; the referrers API answers what the upstream's
 * tag schema lists. Export → import into a fresh store → serve → verify again. Last, the
 * served store is itself the upstream: a registry WITH a referrers API and no tag-schema
 * index, so the referrer can only arrive through the API.
 */
import assert from "node:assert/strict";
import { makeOciLayout } from "../helpers/image.ts";
import { distributionAvailable, pushLayout, startDistribution } from "../helpers/distribution.ts";
import { binaryExists, runBinary, type RunningRegistry, startRegistry } from "../helpers/binary.ts";
import { runOk } from "../helpers/process.ts";
import { digestOf } from "../../lib/oci/digest.ts";
import { cosignPath, makeCosign } from "./cosign.ts";

const COSIGN = cosignPath();
if (COSIGN === null) {
  console.error(
    "\n*** SKIPPED tests/signatures: cosign not found (run scripts/install-cosign, which " +
      "fetches Debian trixie's package into .tools/cosign/, or set COSIGN_BIN) ***\n",
  );
}
const INDEX = "application/vnd.oci.image.index.v1+json";

/** `static-registry <args>`, asserted to exit 0; returns stdout. */
async function sr(args: string[]): Promise<string> {
  const r = await runBinary(args);
  assert.equal(r.code, 0, `static-registry ${args.join(" ")} exited ${r.code}:\n${r.stderr}`);
  return r.stdout;
}

/** GET a JSON document (an index) from a registry. */
async function getJson(url: string): Promise<{ manifests: Record<string, unknown>[] }> {
  const res = await fetch(url, { headers: { accept: INDEX } });
  assert.equal(res.status, 200, `GET ${url}: ${res.status}`);
  return await res.json();
}

/**
 * A referrers list as a comparable set (the fields a descriptor of the referrers API carries,
 * distribution-spec §"Listing Referrers"), sorted by digest.
 */
function normal(list: Record<string, unknown>[]) {
  return list.map((d) => ({
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    artifactType: d.artifactType,
    annotations: d.annotations,
  })).sort((a, b) => String(a.digest).localeCompare(String(b.digest)));
}

async function tagsOf(base: string, repo: string): Promise<string[]> {
  const res = await fetch(`${base}/v2/${repo}/tags/list`);
  assert.equal(res.status, 200);
  return ((await res.json()).tags as string[]).sort();
}

Deno.test({
  name: "signatures: cosign signatures, attestations and referrers survive publish docker://, " +
    "export and import",
  ignore: COSIGN === null || !distributionAvailable() || !binaryExists(),
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-signatures-" });
    const upstream = await startDistribution();
    const served: RunningRegistry[] = [];
    const serve = async (store: string) => {
      const r = await startRegistry({ config: { store } });
      served.push(r);
      return r;
    };
    try {
      const image = await makeOciLayout(`${tmp}/src`, {
        tag: "v1",
        platforms: [{ os: "linux", architecture: "amd64" }, {
          os: "linux",
          architecture: "arm64",
        }],
        layers: 1,
        seed: "signatures",
      });
      await pushLayout(`${tmp}/src`, "v1", upstream.addr, "sig/app:v1");
      const index = image.rootDigest;
      const [child0, child1] = image.manifests.map((m) => m.digest);
      const cosign = await makeCosign(COSIGN!, tmp);
      const up = `${upstream.addr}/sig/app`;
      const noTlog = ["--key", "cosign.key", "--tlog-upload=false"];
      await cosign.ok(["sign", ...noTlog, `${up}@${index}`]);
      await Deno.writeTextFile(`${tmp}/pred.json`, '{"buildType":"test","builder":{"id":"t"}}');
      await cosign.ok([
        "attest",
        ...noTlog,
        "--type",
        "slsaprovenance",
        "--predicate",
        "pred.json",
        `${up}@${index}`,
      ]);
      await Deno.writeTextFile(`${tmp}/sbom.json`, '{"spdxVersion":"SPDX-2.3","name":"app"}');
      await cosign.ok([
        "attach",
        "sbom",
        "--sbom",
        "sbom.json",
        "--type",
        "spdx",
        `${up}@${index}`,
      ]);
      await cosign.ok(["sign", ...noTlog, `${up}@${child0}`]);
      await cosign.ok(
        ["sign", ...noTlog, "--registry-referrers-mode=oci-1-1", `${up}@${child1}`],
        true,
      );
      const hex = (d: string) => d.slice("sha256:".length);
      const cosignTags = [
        `sha256-${hex(index)}.att`,
        `sha256-${hex(index)}.sbom`,
        `sha256-${hex(index)}.sig`,
        `sha256-${hex(child0)}.sig`,
      ].sort();
      // What the upstream lists for child 1: its tag-schema index (no API: 404).
      const noApi = await fetch(`${upstream.url}/v2/sig/app/referrers/${child1}`);
      await noApi.body?.cancel();
      assert.equal(noApi.status, 404, "distribution 2.8 has no referrers API");
      const upstreamReferrers = normal(
        (await getJson(`${upstream.url}/v2/sig/app/manifests/sha256-${hex(child1)}`)).manifests,
      );
      assert.equal(upstreamReferrers.length, 1);

      /** Every check a consumer makes against a registry serving `repo:v1`. */
      const verifyAll = async (reg: RunningRegistry, repo: string) => {
        const at = `${reg.addr}/${repo}`;
        const verify = ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog"];
        const v = await cosign.ok([...verify, `${at}:v1`]);
        assert.match(v.stdout, new RegExp(index), "the signature names the index digest");
        await cosign.ok([...verify, `${at}@${child0}`]);
        await cosign.ok([...verify, "--experimental-oci11", `${at}@${child1}`], true);
        const att = await cosign.ok([
          "verify-attestation",
          "--key",
          "cosign.pub",
          "--insecure-ignore-tlog",
          "--type",
          "slsaprovenance",
          `${at}:v1`,
        ]);
        assert.match(att.stdout, /payloadType/);
        // The referrers API answers what the upstream's tag schema lists.
        assert.deepEqual(
          normal((await getJson(`${reg.url}/v2/${repo}/referrers/${child1}`)).manifests),
          upstreamReferrers,
        );
        assert.deepEqual((await getJson(`${reg.url}/v2/${repo}/referrers/${index}`)).manifests, []);
        assert.deepEqual(await tagsOf(reg.url, repo), [...cosignTags, "v1"].sort());
      };

      const store1 = `${tmp}/store1`;
      let reg1!: RunningRegistry;
      await t.step("publish docker:// from a registry without a referrers API", async () => {
        const out = JSON.parse(
          await sr(["publish", `docker://${up}:v1`, "mirror/app:v1", "--to", store1, "--json"]),
        );
        assert.deepEqual(out.attachedTags, cosignTags);
        assert.equal(out.referrers, 1);
        reg1 = await serve(store1);
        await verifyAll(reg1, "mirror/app");
      });

      await t.step("a wrong key is refused (the verification is real)", async () => {
        const other = await makeCosign(COSIGN!, await Deno.makeTempDir({ dir: tmp }));
        const r = await other.run(
          ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", `${reg1.addr}/mirror/app:v1`],
        );
        assert.notEqual(r.code, 0, "verify with another key must fail");
      });

      await t.step("--no-signatures copies the image alone", async () => {
        const bare = `${tmp}/bare`;
        const out = JSON.parse(
          await sr([
            "publish",
            `docker://${up}:v1`,
            "mirror/app:v1",
            "--to",
            bare,
            "--json",
            "--no-signatures",
          ]),
        );
        assert.deepEqual([out.attachedTags, out.referrers], [[], 0]);
        const reg = await serve(bare);
        const r = await cosign.run(
          ["verify", "--key", "cosign.pub", "--insecure-ignore-tlog", `${reg.addr}/mirror/app:v1`],
        );
        assert.notEqual(r.code, 0, "no signature was copied");
        assert.match(r.stderr, /no signatures found/);
        assert.deepEqual(await tagsOf(reg.url, "mirror/app"), ["v1"]);
      });

      await t.step("export (REPO:TAG) → import into a fresh store → verify again", async () => {
        const bundle = `${tmp}/bundle.tar`;
        await sr(["export", "--from", store1, "mirror/app:v1", `oci-archive:${bundle}`]);
        const store2 = `${tmp}/store2`;
        await sr(["import", `oci-archive:${bundle}`, "--to", store2]);
        await verifyAll(await serve(store2), "mirror/app");
        // The layout holds the referrer as an unnamed entry (oras-go's convention).
        const dir = `${tmp}/bundle-dir`;
        await sr(["export", "--from", store1, "mirror/app:v1", `oci:${dir}`]);
        const entries = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)).manifests;
        const unnamed = entries.filter((e: { annotations?: unknown }) => !e.annotations);
        assert.deepEqual(normal(unnamed), upstreamReferrers);
        // skopeo still finds the image and a cosign tag by name beside the unnamed entries.
        for (const [tag, want] of [["v1", index], [`sha256-${hex(index)}.sig`, undefined]]) {
          const raw = await runOk("skopeo", ["inspect", "--raw", `oci:${dir}:${tag}`]);
          const got = digestOf(new TextEncoder().encode(raw.stdout));
          if (want) assert.equal(got, want, `skopeo reads oci:${dir}:${tag}`);
        }
      });

      await t.step("publish docker:// from a registry WITH a referrers API", async () => {
        // static-registry serving store1 answers the API and holds no `sha256-<child1>`
        // tag-schema index, so the referrer can only come through the API.
        assert.ok(!(await tagsOf(reg1.url, "mirror/app")).includes(`sha256-${hex(child1)}`));
        const store3 = `${tmp}/store3`;
        const out = JSON.parse(
          await sr([
            "publish",
            `docker://${reg1.addr}/mirror/app:v1`,
            "again/app:v1",
            "--to",
            store3,
            "--json",
          ]),
        );
        assert.deepEqual([out.attachedTags, out.referrers], [cosignTags, 1]);
        await verifyAll(await serve(store3), "again/app");
      });
    } finally {
      for (const r of served) await r.stop();
      await upstream.stop();
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  },
});
