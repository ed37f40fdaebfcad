/**
 * packaging/static-registry.service: passes `systemd-analyze verify` (no warning), uses the
 * README's paths, documents what issue 11 asks (CAP_NET_BIND_SERVICE for 443,
 * RequiresMountsFor= for a late mount), keeps the hardening, and is the very text the
 * README shows. packaging/config.example.json is a valid config.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/load.ts";
import { readConfigFile, validate } from "../../lib/config/load.ts";
import { UNIT_BIN, verifyUnit } from "./systemd.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const UNIT = `${ROOT}packaging/static-registry.service`;
const unit = () => Deno.readTextFile(UNIT);

/** An executable to stand for the binary at ExecStart. */
async function fakeBinary(): Promise<string> {
  const f = await Deno.makeTempFile({ prefix: "sr-bin-" });
  await Deno.writeTextFile(f, "#!/bin/sh\nexit 0\n");
  await Deno.chmod(f, 0o755);
  return f;
}

Deno.test("the packaged unit passes systemd-analyze verify without a warning", async () => {
  const bin = await fakeBinary();
  try {
    const ok = await verifyUnit(await unit(), bin);
    assert.deepEqual(ok, { code: 0, output: "" });
    // The check can fail: a bad value is reported, a missing binary refused.
    const bad = await verifyUnit((await unit()).replace("RestartSec=2", "RestartSec=two"), bin);
    assert.match(bad.output, /RestartSec|sec value/);
    const missing = await verifyUnit(await unit(), `${bin}.absent`);
    assert.notEqual(missing.code, 0);
  } finally {
    await Deno.remove(bin);
  }
});

Deno.test("the unit uses the README's paths, documents the port-443 and late-mount lines", async () => {
  const text = await unit();
  const set = (key: string) =>
    text.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
  assert.deepEqual(set("ExecStart"), [
    `${UNIT_BIN} serve --config /etc/static-registry/config.json`,
  ]);
  assert.deepEqual(set("ExecReload"), ["/bin/kill -HUP $MAINPID"]);
  assert.deepEqual(set("RestartPreventExitStatus"), ["2"]);
  assert.deepEqual(set("RequiresMountsFor"), ["/srv/registry"]);
  assert.deepEqual(set("ReadOnlyPaths"), ["/srv/registry"]);
  for (const k of ["DynamicUser", "NoNewPrivileges", "ProtectHome", "PrivateTmp"]) {
    assert.deepEqual(set(k), ["yes"], k);
  }
  assert.deepEqual(set("ProtectSystem"), ["strict"]);
  assert.match(text, /^#AmbientCapabilities=CAP_NET_BIND_SERVICE$/m);
  assert.match(text, /^#CapabilityBoundingSet=CAP_NET_BIND_SERVICE$/m);
  // The bounding set is emptied before the commented line, so uncommenting it works.
  assert.ok(text.indexOf("CapabilityBoundingSet=\n") < text.indexOf("#CapabilityBoundingSet="));
});

Deno.test("README.md shows the packaged unit verbatim", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const blocks = [...readme.matchAll(/```ini\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.includes(await unit()), "README's ini block differs from the unit file");
});

Deno.test("packaging/config.example.json is a valid config with the README's paths", async () => {
  const file = `${ROOT}packaging/config.example.json`;
  const doc = await readConfigFile(file) as Record<string, unknown>;
  assert.deepEqual(validate(doc), []);
  assert.equal(doc.store, "/srv/registry");
  const c = await loadConfig({ file });
  assert.equal(c.store.kind, "dir");
  assert.equal(c.origins.length, 1);
});
