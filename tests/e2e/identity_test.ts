/**
 * @module
 * End-to-end, the store identity (issue 11 item 4) through the COMPILED binary: two
 * stores published by the binary (each gets its own id), two nginx serving them. The
 * registry serves store A with origins ["other" (nginx serving store B), "right" (nginx
 * serving A)], "other" first: before identities "other" answered the canary and got every
 * 307, for blobs it does not have. Now `/readyz` says it serves another store, naming both
 * ids, every blob GET goes to "right", skopeo pulls the image through it, and nginx B is
 * asked for nothing but its marker. A store published before identities (its marker has
 * no id) is still served, with its own origin healthy. Every request nginx saw from the
 * registry says `User-Agent: static-registry/<version>`.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { type Nginx, startNginx } from "../helpers/nginx.ts";
import { userAgent } from "../../lib/version.ts";
import { publish } from "./fixture.ts";

const readJson = async (file: string) => JSON.parse(await Deno.readTextFile(file));

/** Polls `fn` until it returns a value, for up to 10 s. */
async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  for (const end = Date.now() + 10_000; Date.now() < end;) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within 10 s`);
}

/** The request lines and user agents of nginx's "combined" access log. */
async function accessLog(n: Nginx): Promise<{ request: string; ua: string }[]> {
  const text = await Deno.readTextFile(`${n.dir}/access.log`);
  return text.split("\n").filter(Boolean).map((l) => {
    const m = /"([^"]*)" \d+ \d+ "[^"]*" "([^"]*)"/.exec(l);
    return { request: m?.[1] ?? l, ua: m?.[2] ?? "" };
  });
}

Deno.test({
  name: "e2e: an origin serving another store is unhealthy and gets no 307; a legacy store serves",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-identity-" });
    const nginx: Nginx[] = [];
    const regs: Awaited<ReturnType<typeof startRegistry>>[] = [];
    let clients: PullClients | undefined;
    try {
      const [a, b, legacy] = [`${tmp}/a`, `${tmp}/b`, `${tmp}/legacy`];
      const img = await makeOciLayout(`${tmp}/src-a`, { tag: "v1", layers: 2, seed: "id-a" });
      await makeOciLayout(`${tmp}/src-b`, { tag: "v1", layers: 2, seed: "id-b" });
      await publish(`${tmp}/src-a`, "v1", "demo/app:v1", a);
      await publish(`${tmp}/src-b`, "v1", "demo/other:v1", b);
      await publish(`${tmp}/src-a`, "v1", "demo/app:v1", legacy);
      const idA = (await readJson(`${a}/static-registry.json`)).id;
      const idB = (await readJson(`${b}/static-registry.json`)).id;
      assert.match(idA, /^[0-9a-f-]{36}$/, "publish wrote an id");
      assert.notEqual(idA, idB, "two stores, two ids");
      // A store of before identities: its marker as older versions wrote it.
      await Deno.writeTextFile(
        `${legacy}/static-registry.json`,
        '{"layout":"static-registry","version":1}\n',
      );

      const [webA, webB, webLegacy] = await Promise.all(
        [a, b, legacy].map((root) => startNginx({ mode: "static", root })),
      );
      nginx.push(webA, webB, webLegacy);
      const health = { interval: "300ms", timeout: "250ms", rise: 1, fall: 1 };
      const reg = await startRegistry({
        config: {
          store: a,
          origins: [{ name: "other", url: webB.url }, { name: "right", url: webA.url }],
          health,
        },
      });
      regs.push(reg);
      const layer = img.manifests[0].layers[0];
      const blobUrl = `${reg.url}/v2/demo/app/blobs/${layer.digest}`;

      await t.step("/readyz names the store the wrong origin serves", async () => {
        const body = await until("readyz", async () => {
          const res = await fetch(`${reg.url}/readyz`);
          const j = await res.json();
          return res.status === 200 && j.origins?.origins?.length === 2 ? j : undefined;
        });
        assert.equal(body.index.storeId, idA);
        const [other, right] = body.origins.origins;
        assert.equal(other.name, "other");
        assert.equal(other.healthy, false);
        assert.equal(other.lastError, `serves store ${idB}, not ${idA}`);
        assert.equal(other.storeId, idB);
        assert.equal(right.healthy, true);
        assert.equal(right.storeId, idA);
        const said = reg.logs().split("\n").filter((l) => l.includes(`serves store ${idB}`));
        assert.equal(said.length, 1, `logged once, not per probe:\n${said.join("\n")}`);
      });

      await t.step("every blob GET is a 307 to the right origin", async () => {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(blobUrl, { redirect: "manual" });
          await res.body?.cancel();
          assert.equal(res.status, 307);
          assert.equal(
            res.headers.get("location"),
            `${webA.url}/blobs/sha256/${layer.digest.slice(7)}`,
          );
        }
      });

      await t.step("skopeo pulls the image through the right origin", async () => {
        clients = await PullClients.create();
        const pulled = await clients.skopeoCopy(reg.addr, "demo/app:v1");
        assert.equal(pulled.digest, img.rootDigest);
        // (`HEAD /` is the nginx helper's own start-up probe.)
        const onB = (await accessLog(webB)).filter((l) =>
          !l.request.startsWith("GET /static-registry.json ") && !l.request.startsWith("HEAD / ")
        );
        assert.deepEqual(onB, [], "the other store's origin was asked for nothing but its marker");
        const blobsOnA = (await accessLog(webA)).filter((l) => l.request.startsWith("GET /blobs/"));
        assert.ok(blobsOnA.length >= img.manifests[0].layers.length, JSON.stringify(blobsOnA));
      });

      await t.step("the registry's own requests say static-registry/<version>", async () => {
        const markers = (await accessLog(webB)).concat(await accessLog(webA))
          .filter((l) => l.request.startsWith("GET /static-registry.json"));
        assert.ok(markers.length >= 2, "probed with GET");
        assert.deepEqual([...new Set(markers.map((l) => l.ua))], [userAgent()]);
      });

      await t.step("a store without an id still serves, its origin healthy", async () => {
        const old = await startRegistry({
          config: { store: legacy, origins: [{ name: "legacy", url: webLegacy.url }], health },
        });
        regs.push(old);
        const body = await until("legacy readyz", async () => {
          const res = await fetch(`${old.url}/readyz`);
          return res.status === 200 ? await res.json() : undefined;
        });
        assert.equal(body.index.storeId, null);
        assert.equal(body.origins.origins[0].healthy, true);
        const res = await fetch(`${old.url}/v2/demo/app/blobs/${layer.digest}`, {
          redirect: "manual",
        });
        await res.body?.cancel();
        assert.equal(res.status, 307);
        assert.ok(res.headers.get("location")!.startsWith(webLegacy.url));
      });
    } catch (e) {
      for (const r of regs) console.error(`--- static-registry logs ---\n${r.logs().slice(-4000)}`);
      throw e;
    } finally {
      await clients?.close();
      for (const r of regs) await r.stop();
      for (const n of nginx) await n.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
