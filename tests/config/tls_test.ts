/**
 * `tls` in the config: loadConfig() resolves the paths against the config file's folder;
 * readTls() (lib/config/tls.ts) accepts a good pair and refuses, naming the key and the
 * file, every pair the server must not serve; expiryWarning() under 14 days.
 */
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/config/errors.ts";
import { loadConfig } from "../../lib/config/load.ts";
import { expiryWarning, readTls, samePair } from "../../lib/config/tls.ts";
import { makeCa, makeLeaf, type TestCa, type TestLeaf } from "../helpers/pki.ts";

const DAY = 24 * 3600_000;

interface Pki {
  dir: string;
  ca: TestCa;
  good: TestLeaf;
  other: TestLeaf;
  expired: TestLeaf;
  future: TestLeaf;
  soon: TestLeaf;
}

async function withPki(fn: (p: Pki) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sr-tls-config-" });
  try {
    const ca = await makeCa(`${dir}/ca`);
    const now = Date.now();
    const leaf = (name: string, o: { notBefore?: number; notAfter?: number } = {}) =>
      makeLeaf(ca, `${dir}/${name}`, { hosts: ["registry.test"], ...o });
    await fn({
      dir,
      ca,
      good: await leaf("good"),
      other: await leaf("other"),
      expired: await leaf("expired", { notBefore: now - 10 * DAY, notAfter: now - DAY }),
      future: await leaf("future", { notBefore: now + DAY, notAfter: now + 10 * DAY }),
      soon: await leaf("soon", { notAfter: now + 3 * DAY }),
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("loadConfig() resolves tls.cert and tls.key against the config file's folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sr-tls-load-" });
  try {
    await Deno.writeTextFile(
      `${dir}/cfg.json`,
      JSON.stringify({ store: "data", tls: { cert: "pki/full.pem", key: "/abs/key.pem" } }),
    );
    const c = await loadConfig({ file: `${dir}/cfg.json`, cwd: "/" });
    assert.deepEqual(c.tls, { certFile: `${dir}/pki/full.pem`, keyFile: "/abs/key.pem" });
    await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify({ store: "data" }));
    assert.equal((await loadConfig({ file: `${dir}/cfg.json` })).tls, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() refuses a tls object without key, or with an unknown key", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sr-tls-load-" });
  try {
    for (
      const [tls, want] of [
        [{ cert: "c.pem" }, /tls\.key: is required/],
        [{ cert: "c.pem", key: "k.pem", ca: "x" }, /tls: unknown key "ca"/],
        [{ cert: "", key: "k.pem" }, /tls\.cert: must not be empty/],
      ] as const
    ) {
      await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify({ store: "data", tls }));
      await assert.rejects(loadConfig({ file: `${dir}/cfg.json` }), want);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readTls() reads a good pair: PEM texts, serial, validity", async () => {
  await withPki(async ({ good }) => {
    const pair = await readTls({ certFile: good.certFile, keyFile: good.keyFile });
    assert.equal(pair.serial, good.serial);
    assert.match(pair.cert, /BEGIN CERTIFICATE[\s\S]+BEGIN CERTIFICATE/, "the chain is kept");
    assert.match(pair.key, /BEGIN PRIVATE KEY/);
    assert.ok(pair.notBefore < Date.now() && Date.now() < pair.notAfter);
    assert.equal(expiryWarning(pair), undefined);
    assert.ok(samePair(pair, await readTls(pair)));
  });
});

Deno.test("readTls() refuses, naming the key and the file, what cannot be served", async () => {
  await withPki(async ({ dir, good, other, expired, future }) => {
    await Deno.writeTextFile(`${dir}/garbage.pem`, "not a certificate\n");
    await Deno.writeTextFile(
      `${dir}/broken.pem`,
      "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    );
    const rows: { name: string; certFile: string; keyFile: string; want: RegExp }[] = [
      {
        name: "missing cert",
        certFile: `${dir}/nope.pem`,
        keyFile: good.keyFile,
        want: /^config "cfg\.json": tls\.cert: ".*\/nope\.pem" cannot be read: file not found$/,
      },
      {
        name: "missing key",
        certFile: good.certFile,
        keyFile: `${dir}/nope.key`,
        want: /^config "cfg\.json": tls\.key: ".*\/nope\.key" cannot be read: file not found$/,
      },
      {
        name: "directory as cert",
        certFile: dir,
        keyFile: good.keyFile,
        want: /tls\.cert: ".*" cannot be read: is a directory/,
      },
      {
        name: "no PEM certificate",
        certFile: `${dir}/garbage.pem`,
        keyFile: good.keyFile,
        want: /tls\.cert: ".*\/garbage\.pem" holds no PEM certificate/,
      },
      {
        name: "broken certificate",
        certFile: `${dir}/broken.pem`,
        keyFile: good.keyFile,
        want: /tls\.cert: ".*\/broken\.pem" is not a valid certificate/,
      },
      {
        name: "certificate as key",
        certFile: good.certFile,
        keyFile: good.certFile,
        want: /tls\.key: ".*\/good\/fullchain\.pem" is not an unencrypted PEM private key/,
      },
      {
        name: "mismatched key",
        certFile: good.certFile,
        keyFile: other.keyFile,
        want: new RegExp(
          `tls\\.key: ".*/other/key\\.pem" does not match the certificate in tls\\.cert ` +
            `".*/good/fullchain\\.pem"`,
        ),
      },
      {
        name: "expired",
        certFile: expired.certFile,
        keyFile: expired.keyFile,
        want: /tls\.cert: ".*\/expired\/fullchain\.pem" expired on \d{4}-/,
      },
      {
        name: "not yet valid",
        certFile: future.certFile,
        keyFile: future.keyFile,
        want: /tls\.cert: ".*\/future\/fullchain\.pem" is not valid before \d{4}-/,
      },
    ];
    for (const r of rows) {
      await assert.rejects(
        readTls({ certFile: r.certFile, keyFile: r.keyFile }, { configFile: "cfg.json" }),
        (e: Error) => {
          assert.ok(e instanceof ConfigError, `${r.name}: ${e}`);
          assert.equal((e as ConfigError).exitCode, 2);
          assert.match(e.message, r.want, r.name);
          return true;
        },
        r.name,
      );
    }
  });
});

Deno.test("expiryWarning() warns under 14 days, naming the file and the date", async () => {
  await withPki(async ({ soon, good }) => {
    const pair = await readTls(soon);
    const w = expiryWarning(pair);
    assert.match(w ?? "", /soon\/fullchain\.pem" expires in 2 days \(\d{4}-.*send SIGHUP/);
    // The same certificate 14 days earlier is not warned about; a year-long one never is.
    assert.equal(expiryWarning(pair, pair.notAfter - 15 * DAY), undefined);
    assert.equal(expiryWarning(await readTls(good)), undefined);
  });
});
