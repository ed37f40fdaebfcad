/** mergeSources()/loadConfig(): flags > file > env, and errors name the real source. */
import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig, mergeSources } from "../../lib/config/load.ts";

Deno.test("mergeSources() lets flags beat the file and the file beat env", () => {
  const { doc, sources } = mergeSources(
    { listen: "127.0.0.1:1", store: "file" },
    { store: "flag" },
    {
      STATIC_REGISTRY_LISTEN: "127.0.0.1:2",
      STATIC_REGISTRY_STORE: "env",
      STATIC_REGISTRY_LOG: "debug",
    },
  );
  assert.deepEqual(doc, { listen: "127.0.0.1:1", store: "flag", log: { level: "debug" } });
  assert.deepEqual([...sources], [["log.level", "STATIC_REGISTRY_LOG"], ["store", "--store"]]);
});

Deno.test("mergeSources() uses env only for keys the file leaves out", () => {
  const { doc } = mergeSources({ store: "s", log: { level: "warn" } }, {}, {
    STATIC_REGISTRY_LISTEN: "0.0.0.0:80",
    STATIC_REGISTRY_LOG: "debug",
  });
  assert.deepEqual(doc, { store: "s", listen: "0.0.0.0:80", log: { level: "warn" } });
});

Deno.test("mergeSources() does not mutate the file's document", () => {
  const file = { store: "s" };
  mergeSources(file, { listen: "127.0.0.1:9" }, {});
  assert.deepEqual(file, { store: "s" });
});

Deno.test("loadConfig() names the flag or variable a bad value came from", async () => {
  await assert.rejects(
    loadConfig({ flags: { store: "d", listen: "nope" } }),
    { message: `--listen: expected an address like "127.0.0.1:5000" or "[::1]:5000", got "nope"` },
  );
  await assert.rejects(
    loadConfig({ flags: { store: "d" }, env: { STATIC_REGISTRY_LOG: "chatty" } }),
    { message: /^STATIC_REGISTRY_LOG: expected one of "fatal"/ },
  );
});

Deno.test("loadConfig() uses the flag's listen over the file's", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-config-"));
  try {
    const file = path.join(dir, "cfg.json");
    await fs.writeFile(file, JSON.stringify({ store: ".", listen: "127.0.0.1:1" }));
    const c = await loadConfig({
      file,
      flags: { listen: "127.0.0.1:2" },
      env: { STATIC_REGISTRY_LISTEN: "127.0.0.1:3" },
    });
    assert.equal(c.listen.port, 2);
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});
