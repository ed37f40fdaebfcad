/**
 * @module
 * End-to-end failover in CDN mode (DESIGN.md "Origins and the health checker"): a
 * directory store served by a static nginx (the "bucket"), two nginx caching edges in front
 * of it as origins A and B, the COMPILED binary redirecting blob GETs to the first healthy
 * one. Edge A is stopped by PID mid-run: after one health interval plus fall×interval every
 * redirect points at B and skopeo, podman, ctr and docker pull through B; A is started
 * again and traffic returns to it. Then `static-registry check --json` against an edge
 * whose upstream lost one layer reports exactly that layer, for that origin only, with
 * exit 1; a clean run exits 0.
 */
import assert from "node:assert/strict";
import { runBinary, startRegistry } from "../helpers/binary.ts";
import { PullClients } from "../helpers/clients.ts";
import { startNginx } from "../helpers/nginx.ts";
import { printFailureLogs, publishedStore } from "./fixture.ts";
import { blobRedirect, edgeBlobGets, poll } from "./cdn_helpers.ts";

type Nginx = Awaited<ReturnType<typeof startNginx>>;

const HEALTH = { intervalMs: 500, timeoutMs: 300, rise: 1, fall: 2 };
/** From an edge's death to its last failing probe: fall probes, each up to interval+timeout. */
const FAILOVER_MS = HEALTH.intervalMs + HEALTH.fall * HEALTH.intervalMs + HEALTH.timeoutMs;

/** The `check --json` report (lib/origins/check.ts CheckReport). */
interface Report {
  ok: boolean;
  objects: number;
  origins: { name: string; checked: number; missing: number; size: number; error: number }[];
  problems: { origin: string; digest: string; kind: string }[];
}

Deno.test({
  name: "e2e cdn: edge A dies, pulls go through B within one health interval, then back to A",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-failover-" });
    const servers: Nginx[] = [];
    let reg: Awaited<ReturnType<typeof startRegistry>> | undefined;
    let clients: PullClients | undefined;
    const nginx = async (m: Parameters<typeof startNginx>[0]) => {
      const n = await startNginx(m);
      servers.push(n);
      return n;
    };
    try {
      const { store, fx } = await publishedStore(tmp);
      const { single } = fx;
      const layer = single.image.manifests[0].layers[0].digest;
      const bucket = await nginx({ mode: "static", root: store });
      const edgeA = await nginx({ mode: "cdn", upstream: bucket.url });
      const edgeB = await nginx({ mode: "cdn", upstream: bucket.url });
      const origins = [{ name: "edge-a", url: edgeA.url }, { name: "edge-b", url: edgeB.url }];
      reg = await startRegistry({
        config: {
          store,
          origins,
          health: {
            interval: `${HEALTH.intervalMs}ms`,
            timeout: `${HEALTH.timeoutMs}ms`,
            rise: HEALTH.rise,
            fall: HEALTH.fall,
          },
        },
      });
      const url = reg.url;
      const at = (edge: Nginx) => `${edge.url}/blobs/sha256/${layer.slice(7)}`;
      const where = () => blobRedirect(url, single.repo, layer);
      clients = await PullClients.create();
      const c = clients;
      const nBlobs = single.image.blobs.length;

      /** Pulls `single` with every client; each must add >= nBlobs GETs on `edge`. */
      const pullAllThrough = async (edge: Nginx) => {
        const ref = `${single.repo}:${single.tag}`;
        const pulls: [string, () => Promise<string>][] = [
          ["skopeo", async () => (await c.skopeoCopy(reg!.addr, ref, { dest: "oci" })).digest],
          ["podman", async () => (await c.podman(reg!.addr, ref)).digest],
          ["ctr", async () => (await c.ctr(reg!.addr, ref)).digest],
          ["docker", async () => {
            const d = await c.docker(reg!.addr, ref);
            return d.repoDigests[0]?.split("@")[1] ?? "";
          }],
        ];
        for (const [name, pull] of pulls) {
          const before = await edgeBlobGets(edge);
          assert.equal(await pull(), single.image.rootDigest, `${name} pulled another digest`);
          const got = (await edgeBlobGets(edge)) - before;
          assert.ok(got >= nBlobs, `${name}: ${got} blob GETs on ${edge.url}, want >= ${nBlobs}`);
        }
      };

      await t.step("both edges up: blobs redirect to A and every client pulls via A", async () => {
        const { value } = await poll(async () => (await where()).location === at(edgeA), 5000);
        assert.ok(value, `Location ${JSON.stringify(await where())}, want ${at(edgeA)}`);
        const bBefore = await edgeBlobGets(edgeB);
        await pullAllThrough(edgeA);
        assert.equal(await edgeBlobGets(edgeB), bBefore, "edge B served blobs while A was up");
      });

      await t.step("edge A stopped: after one interval + fall×interval, B gets it", async () => {
        // Sample the redirect target from the moment A dies, to report the switch time.
        const stoppedAt = Date.now();
        await edgeA.stop();
        let switchedMs = -1;
        while (Date.now() - stoppedAt < FAILOVER_MS) {
          const r = await where();
          if (switchedMs < 0 && r.location === at(edgeB)) switchedMs = Date.now() - stoppedAt;
          await new Promise((r) => setTimeout(r, 50));
        }
        const r = await where();
        assert.equal(r.status, 307);
        assert.equal(
          r.location,
          at(edgeB),
          `${FAILOVER_MS} ms after A died\n${reg!.logs().slice(-2000)}`,
        );
        console.log(`failover: redirects moved to edge B ${switchedMs} ms after A stopped`);
        assert.match(reg!.logs(), /origin edge-a is unhealthy/);
        const ready = await (await fetch(`${url}/readyz`)).json();
        assert.equal(ready.ready, true, "B is healthy, so the registry stays ready");
        assert.deepEqual(
          ready.origins.origins.map((o: { name: string; healthy: boolean }) => o.healthy),
          [false, true],
        );
        await pullAllThrough(edgeB);
      });

      await t.step("edge A started again: traffic returns to A", async () => {
        const startedAt = Date.now();
        await edgeA.start();
        const bound = HEALTH.intervalMs + HEALTH.rise * HEALTH.intervalMs + HEALTH.timeoutMs;
        const { value, elapsedMs } = await poll(
          async () => (await where()).location === at(edgeA),
          bound + 2000,
          50,
        );
        assert.ok(value, `Location still ${(await where()).location}`);
        console.log(`recovery: redirects back on edge A ${Date.now() - startedAt} ms after start`);
        assert.ok(elapsedMs <= bound + 1000, `took ${elapsedMs} ms, bound ${bound} ms`);
        const bBefore = await edgeBlobGets(edgeB);
        await pullAllThrough(edgeA);
        assert.equal(await edgeBlobGets(edgeB), bBefore, "B still got blob GETs after A came back");
      });

      const check = async (checkOrigins: typeof origins) => {
        const cfg = `${tmp}/check-${checkOrigins.map((o) => o.name).join("-")}.json`;
        await Deno.writeTextFile(cfg, JSON.stringify({ store, origins: checkOrigins }));
        const r = await runBinary(["check", "--config", cfg, "--json"], { timeoutMs: 60_000 });
        let report: Report;
        try {
          report = JSON.parse(r.stdout);
        } catch {
          throw new Error(`check printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
        }
        return { code: r.code, report, stderr: r.stderr };
      };

      await t.step("check --json: a clean run exits 0", async () => {
        const { code, report, stderr } = await check(origins);
        assert.equal(code, 0, `${JSON.stringify(report)}\n${stderr}`);
        assert.equal(report.ok, true);
        assert.deepEqual(report.problems, []);
        assert.ok(report.objects > 0);
        for (const o of report.origins) assert.equal(o.checked, report.objects, o.name);
      });

      await t.step("check --json: a blob deleted from edge C's upstream, for C only", async () => {
        // Edge C's upstream is a copy of the store with one layer gone.
        const copy = `${tmp}/copy`;
        const cp = await new Deno.Command("cp", { args: ["-a", store, copy] }).output();
        assert.equal(cp.code, 0);
        await Deno.remove(`${copy}/blobs/sha256/${layer.slice(7)}`);
        const bucketC = await nginx({ mode: "static", root: copy });
        const edgeC = await nginx({ mode: "cdn", upstream: bucketC.url });
        const { code, report, stderr } = await check([origins[0], {
          name: "edge-c",
          url: edgeC.url,
        }]);
        assert.equal(code, 1, `${JSON.stringify(report)}\n${stderr}`);
        assert.equal(report.ok, false);
        assert.deepEqual(
          report.problems.map((p) => [p.origin, p.digest, p.kind]),
          [["edge-c", layer, "missing"]],
        );
        const byName = Object.fromEntries(report.origins.map((o) => [o.name, o]));
        assert.equal(byName["edge-a"].missing, 0);
        assert.equal(byName["edge-c"].missing, 1);
      });
    } catch (e) {
      printFailureLogs([reg], clients);
      throw e;
    } finally {
      await clients?.close();
      await reg?.stop();
      for (const s of servers) await s.close();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
