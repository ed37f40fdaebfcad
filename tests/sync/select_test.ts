/**
 * @module
 * The pure parts of sync: tag selection (regex, semver, newest), platform selection of an
 * index's children, rates, tags/list Link paging.
 */
import assert from "node:assert/strict";
import { newestFirst, selectTags } from "../../lib/sync/tags.ts";
import { platformMatches, selectChildren } from "../../lib/sync/platforms.ts";
import { HostFetches, parseRate } from "../../lib/sync/rate.ts";
import { nextPage } from "../../lib/sync/upstream.ts";
import type { Descriptor } from "../../lib/oci/mediatypes.ts";

const TAGS = [
  "latest",
  "v1.0.0",
  "1.2.0",
  "v1.10.0",
  "v1.9.3",
  "2.0.0-rc.1",
  "2.0.0",
  "nightly",
  "b9",
  "b10",
];

Deno.test("selectTags(): regex, then semver range, then the newest N", () => {
  assert.deepEqual(selectTags(TAGS, undefined), TAGS);
  assert.deepEqual(selectTags(TAGS, { regex: /^v/ }), ["v1.0.0", "v1.10.0", "v1.9.3"]);
  assert.deepEqual(selectTags(TAGS, { semver: ">=1.2 <2" }), ["1.2.0", "v1.10.0", "v1.9.3"]);
  assert.deepEqual(selectTags(TAGS, { semver: "^1", newest: 2 }), ["v1.10.0", "v1.9.3"]);
  assert.deepEqual(selectTags(TAGS, { regex: /^v/, semver: "<1.5", newest: 5 }), ["v1.0.0"]);
  assert.deepEqual(selectTags(TAGS, { newest: 3 }), ["2.0.0", "2.0.0-rc.1", "v1.10.0"]);
  assert.deepEqual(selectTags(["a", "a"], {}), ["a"]);
});

Deno.test("newestFirst(): versions highest first, then the rest in natural order", () => {
  assert.deepEqual(newestFirst(["b9", "v1.9.3", "b10", "v1.10.0", "20241130", "20241201"]), [
    "v1.10.0",
    "v1.9.3",
    "b10",
    "b9",
    "20241201",
    "20241130",
  ]);
});

const d = (
  digest: string,
  platform?: Descriptor["platform"],
  annotations?: Record<string, string>,
) => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest,
  size: 1,
  ...(platform ? { platform } : {}),
  ...(annotations ? { annotations } : {}),
});

Deno.test("selectChildren(): chosen platforms, their attestations; variants; errors", () => {
  const children = [
    d("sha256:amd", { os: "linux", architecture: "amd64" }),
    d("sha256:arm", { os: "linux", architecture: "arm64", variant: "v8" }),
    d("sha256:armv7", { os: "linux", architecture: "arm", variant: "v7" }),
    d("sha256:att-amd", { os: "unknown", architecture: "unknown" }, {
      "vnd.docker.reference.type": "attestation-manifest",
      "vnd.docker.reference.digest": "sha256:amd",
    }),
    d("sha256:att-arm", { os: "unknown", architecture: "unknown" }, {
      "vnd.docker.reference.type": "attestation-manifest",
      "vnd.docker.reference.digest": "sha256:arm",
    }),
  ];
  const pick = (...w: string[]) =>
    selectChildren(
      children,
      w.map((p) => {
        const [os, architecture, variant] = p.split("/");
        return variant ? { os, architecture, variant } : { os, architecture };
      }),
    ).map((c) => c.digest);
  assert.deepEqual(pick("linux/amd64"), ["sha256:amd", "sha256:att-amd"]);
  assert.deepEqual(pick("linux/arm64"), ["sha256:arm", "sha256:att-arm"]);
  assert.deepEqual(pick("linux/arm/v7", "linux/amd64"), [
    "sha256:amd",
    "sha256:armv7",
    "sha256:att-amd",
  ]);
  assert.throws(
    () => pick("linux/s390x"),
    /linux\/s390x: none in the index \(it has linux\/amd64, linux\/arm64\/v8, linux\/arm\/v7, unknown\/unknown\)/,
  );
  assert.throws(() => pick("linux/arm/v6"), /none in the index/);
  // An index whose children have no platform (not multi-platform) is kept whole.
  const plain = [d("sha256:x"), d("sha256:y")];
  assert.deepEqual(selectChildren(plain, [{ os: "linux", architecture: "amd64" }]), plain);
  // arm64 without a variant is arm64/v8.
  assert.ok(
    platformMatches({ os: "linux", architecture: "arm64" }, [{
      os: "linux",
      architecture: "arm64",
      variant: "v8",
    }]),
  );
  assert.ok(!platformMatches(undefined, [{ os: "linux", architecture: "amd64" }]));
});

Deno.test("parseRate() reads N/s, N/m, N/h and refuses the rest", () => {
  assert.equal(parseRate("10/s"), 10);
  assert.equal(parseRate("600/m"), 10);
  assert.equal(parseRate("1800/h"), 0.5);
  assert.equal(parseRate("2.5/s"), 2.5);
  for (const bad of ["0/s", "10", "10/d", "-1/s", "ten/s"]) {
    assert.throws(() => parseRate(bad), new RegExp(`rate "${bad}": expected`), bad);
  }
});

Deno.test("HostFetches: requests to one host are spaced by the rate; hosts are independent", async () => {
  const at: Record<string, number[]> = { a: [], b: [] };
  const t0 = performance.now();
  const base = ((url: string) => {
    at[url].push(performance.now() - t0);
    return Promise.resolve(new Response("ok"));
  }) as unknown as typeof fetch;
  const f = new HostFetches(10, base); // 100 ms apart
  await Promise.all([
    ...Array.from({ length: 4 }, () => f.for("a")("a")),
    ...Array.from({ length: 2 }, () => f.for("b")("b")),
  ]);
  const a = at.a.sort((x, y) => x - y);
  assert.equal(a.length, 4);
  // The i-th request goes out no sooner than i/rate after the first (a busy event loop may
  // delay one, and the next then follows it sooner: the rate still holds over the run).
  for (let i = 1; i < a.length; i++) assert.ok(a[i] - a[0] >= i * 100 - 10, `${a}`);
  const b = at.b.sort((x, y) => x - y);
  assert.ok(b[1] >= 90, `host b is spaced too: ${b}`);
  // b's second request does not queue behind a's four (it would come at ≥ 400 ms).
  assert.ok(b[1] < a[3], `host b waits for its own queue only: a ${a}, b ${b}`);
  const free = new HostFetches(undefined, base);
  assert.equal(free.for("a"), base, "no rate: the fetch itself");
});

Deno.test("nextPage() follows rel=next on the same origin only", () => {
  const base = "http://127.0.0.1:5000";
  assert.equal(
    nextPage('</v2/a/tags/list?last=b&n=2>; rel="next"', base),
    "/v2/a/tags/list?last=b&n=2",
  );
  assert.equal(nextPage(null, base), undefined);
  assert.equal(nextPage('</x>; rel="prev"', base), undefined);
  assert.throws(
    () => nextPage('<http://evil.example/v2/a/tags/list>; rel="next"', base),
    /another origin/,
  );
});
