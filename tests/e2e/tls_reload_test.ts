/**
 * @module
 * End-to-end, the COMPILED binary serving HTTPS: TLS 1.1 refused; a certificate swap on
 * SIGHUP seen by a new connection while an old one keeps downloading a large blob that
 * the directory store streams itself (no origins) — curl reads it at a bounded rate and
 * must get every byte; a bad pair on SIGHUP is refused, naming the key and the file, and
 * the running certificate keeps being served; bad pairs at start exit 2 naming key and
 * file; an expiring certificate is warned about and exported on /metrics.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { runBinary } from "../helpers/binary.ts";
import { makeOciLayout } from "../helpers/image.ts";
import { handshakes, makeCa, makeLeaf, servedSerial, type TestLeaf } from "../helpers/pki.ts";
import { run } from "../helpers/process.ts";
import { logLines, startTlsRegistry, type TlsRegistry } from "../helpers/tls_registry.ts";
import { publish } from "./fixture.ts";

const DAY = 24 * 3600_000;
const BLOB_BYTES = 24 * 1024 * 1024;
const RATE = "4M"; // curl --limit-rate: the download lasts ~6 s

/** Copies a leaf's files to the names the config uses, as a renewal tool would. */
async function install(leaf: { certFile: string; keyFile: string }, dir: string) {
  await Deno.copyFile(leaf.certFile, `${dir}/fullchain.pem`);
  await Deno.copyFile(leaf.keyFile, `${dir}/key.pem`);
}

Deno.test({
  name: "e2e tls: SIGHUP swaps the certificate for new connections; open downloads finish",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-tls-reload-" });
    let reg: TlsRegistry | undefined;
    try {
      const ca = await makeCa(`${tmp}/ca`);
      const hosts = { hosts: ["registry.test"] };
      const one = await makeLeaf(ca, `${tmp}/one`, hosts);
      const two = await makeLeaf(ca, `${tmp}/two`, hosts);
      const expired = await makeLeaf(ca, `${tmp}/expired`, {
        ...hosts,
        notBefore: Date.now() - 10 * DAY,
        notAfter: Date.now() - DAY,
      });
      assert.notEqual(one.serial, two.serial);
      const store = `${tmp}/store`;
      const image = await makeOciLayout(`${tmp}/src`, {
        tag: "v1",
        layers: 1,
        layerSize: BLOB_BYTES,
        seed: "tls-reload",
      });
      await publish(`${tmp}/src`, "v1", "tls/big:v1", store);
      const layer = image.manifests[0].layers[0];
      assert.ok(layer.size > 20 * 1024 * 1024, `layer is ${layer.size} bytes`);

      const dir = `${tmp}/srv`;
      await Deno.mkdir(dir);
      await install(one, dir);
      reg = await startTlsRegistry(
        dir,
        { store, tls: { cert: "fullchain.pem", key: "key.pem" } },
        ca.caPem,
      );
      const port = reg.port;

      await t.step("TLS 1.0 and 1.1 are refused, 1.2 and 1.3 accepted", async () => {
        for (const v of ["tls1", "tls1_1"] as const) {
          const r = await handshakes("::1", port, v);
          assert.equal(r.ok, false, `${v} was accepted:\n${r.output}`);
        }
        for (const v of ["tls1_2", "tls1_3"] as const) {
          const r = await handshakes("::1", port, v);
          assert.equal(r.ok, true, `${v} was refused:\n${r.output}`);
        }
      });

      await t.step(
        "a new pair on SIGHUP: new connections get it, an open download finishes",
        async () => {
          assert.equal(await servedSerial("::1", port), one.serial);
          const out = `${tmp}/download`;
          const curl = new Deno.Command("curl", {
            args: [
              "-sS",
              "--fail",
              "--cacert",
              ca.caPem,
              "--limit-rate",
              RATE,
              "-o",
              out,
              "-w",
              "%{http_code} %{size_download}",
              `https://[::1]:${port}/v2/tls/big/blobs/${layer.digest}`,
            ],
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          let finished = false;
          const done = curl.output().finally(() => finished = true);
          await new Promise((r) => setTimeout(r, 1000));
          assert.equal(finished, false, "the download ended before the swap");

          await install(two, dir);
          assert.equal(await reg!.reload(), "config reloaded", reg!.logs());
          assert.equal(await servedSerial("::1", port), two.serial, "a new connection");
          assert.equal(finished, false, "the download must still be running after the swap");
          const replaced = logLines(reg!.logs()).find((l) =>
            String(l.msg).startsWith("TLS certificate replaced")
          );
          assert.equal(replaced?.serial, two.serial);
          assert.equal(replaced?.previous, one.serial);

          const r = await done;
          const dec = new TextDecoder();
          assert.equal(r.code, 0, `curl: ${dec.decode(r.stderr)}`);
          assert.equal(dec.decode(r.stdout), `200 ${layer.size}`);
          const got = createHash("sha256").update(await Deno.readFile(out)).digest("hex");
          assert.equal(`sha256:${got}`, layer.digest, "the old connection got every byte");
        },
      );

      await t.step("a bad pair on SIGHUP is refused, the running certificate stays", async () => {
        const rows: { name: string; leaf: { certFile: string; keyFile: string }; want: RegExp }[] =
          [
            {
              name: "mismatched key",
              leaf: { certFile: one.certFile, keyFile: two.keyFile },
              want:
                /tls\.key: ".*\/srv\/key\.pem" does not match the certificate in tls\.cert ".*\/srv\/fullchain\.pem"/,
            },
            {
              name: "expired",
              leaf: expired,
              want: /tls\.cert: ".*\/srv\/fullchain\.pem" expired on /,
            },
          ];
        for (const row of rows) {
          await install(row.leaf, dir);
          assert.equal(await reg!.reload(), "reload failed; keeping the running config", row.name);
          const failed = logLines(reg!.logs()).filter((l) =>
            l.msg === "reload failed; keeping the running config"
          );
          assert.match(String(failed[failed.length - 1].reason), row.want, row.name);
          assert.equal(await servedSerial("::1", port), two.serial, `${row.name}: old serial`);
        }
        await Deno.remove(`${dir}/key.pem`);
        assert.equal(await reg!.reload(), "reload failed; keeping the running config");
        assert.match(
          reg!.logs(),
          /tls\.key: \\".*\/srv\/key\.pem\\" cannot be read: file not found/,
        );
        assert.equal(await servedSerial("::1", port), two.serial, "unreadable: old serial");
        // And a good pair is taken again after refusals.
        await install(one, dir);
        assert.equal(await reg!.reload(), "config reloaded");
        assert.equal(await servedSerial("::1", port), one.serial);
      });
    } catch (e) {
      if (reg) console.error(`--- static-registry logs ---\n${reg.logs().slice(-6000)}`);
      throw e;
    } finally {
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test({
  name: "e2e tls: bad pairs at start exit 2 naming key and file; expiry warned and exported",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const tmp = await Deno.makeTempDir({ prefix: "sr-e2e-tls-start-" });
    let reg: TlsRegistry | undefined;
    try {
      const ca = await makeCa(`${tmp}/ca`);
      const hosts = { hosts: ["registry.test"] };
      const now = Date.now();
      const good = await makeLeaf(ca, `${tmp}/good`, hosts);
      const other = await makeLeaf(ca, `${tmp}/other`, hosts);
      const expired = await makeLeaf(ca, `${tmp}/expired`, {
        ...hosts,
        notBefore: now - 10 * DAY,
        notAfter: now - DAY,
      });
      const future = await makeLeaf(ca, `${tmp}/future`, {
        ...hosts,
        notBefore: now + DAY,
        notAfter: now + 10 * DAY,
      });
      const soon: TestLeaf = await makeLeaf(ca, `${tmp}/soon`, {
        ...hosts,
        notAfter: now + 3 * DAY,
      });

      await t.step("unreadable, mismatched, expired, not yet valid: exit 2", async () => {
        const rows = [
          {
            name: "missing cert",
            cert: `${tmp}/nope.pem`,
            key: good.keyFile,
            want: /tls\.cert: ".*\/nope\.pem" cannot be read: file not found/,
          },
          {
            name: "missing key",
            cert: good.certFile,
            key: `${tmp}/nope.key`,
            want: /tls\.key: ".*\/nope\.key" cannot be read: file not found/,
          },
          {
            name: "directory",
            cert: tmp,
            key: good.keyFile,
            want: /tls\.cert: ".*" cannot be read: is a directory/,
          },
          {
            name: "mismatched",
            cert: good.certFile,
            key: other.keyFile,
            want:
              /tls\.key: ".*\/other\/key\.pem" does not match the certificate in tls\.cert ".*\/good\/fullchain\.pem"/,
          },
          {
            name: "expired",
            cert: expired.certFile,
            key: expired.keyFile,
            want: /tls\.cert: ".*\/expired\/fullchain\.pem" expired on /,
          },
          {
            name: "not yet valid",
            cert: future.certFile,
            key: future.keyFile,
            want: /tls\.cert: ".*\/future\/fullchain\.pem" is not valid before /,
          },
        ];
        for (const row of rows) {
          const cfg = `${tmp}/bad.json`;
          await Deno.writeTextFile(
            cfg,
            JSON.stringify({
              listen: "[::1]:0",
              store: `${tmp}/store`,
              tls: { cert: row.cert, key: row.key },
            }),
          );
          const r = await runBinary(["serve", "--config", cfg], { timeoutMs: 20_000 });
          assert.equal(r.code, 2, `${row.name}: exit ${r.code}\n${r.stderr}`);
          assert.match(r.stderr, new RegExp(`^static-registry: config ".*bad\\.json": `), row.name);
          assert.match(r.stderr, row.want, row.name);
          assert.doesNotMatch(r.stderr, /listening/, row.name);
        }
      });

      await t.step("a certificate expiring within 14 days: a warning, and the metric", async () => {
        const dir = `${tmp}/srv`;
        await Deno.mkdir(dir);
        await Deno.mkdir(`${tmp}/store`);
        await install(soon, dir);
        reg = await startTlsRegistry(
          dir,
          { store: `${tmp}/store`, tls: { cert: "fullchain.pem", key: "key.pem" } },
          ca.caPem,
        );
        const warn = logLines(reg.logs()).find((l) => String(l.msg).includes("expires in"));
        assert.equal(warn?.level, 40, reg.logs());
        assert.match(String(warn?.msg), /srv\/fullchain\.pem" expires in 2 days/);
        const m = await run("curl", [
          "-sS",
          "--cacert",
          ca.caPem,
          `https://[::1]:${reg.port}/metrics`,
        ]);
        const line = /^static_registry_tls_cert_expiry_seconds (\d+)$/m.exec(m.stdout);
        const notAfter =
          (await run("openssl", ["x509", "-in", soon.certFile, "-noout", "-enddate"])).stdout;
        const want = Math.floor(Date.parse(notAfter.trim().replace(/^notAfter=/, "")) / 1000);
        assert.equal(Number(line?.[1]), want, m.stdout.slice(0, 2000));
      });
    } finally {
      await reg?.stop();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
