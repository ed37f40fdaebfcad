/**
 * bench --only refresh, end to end at 10 repositories with the compiled binary, nginx and
 * s3rver: the counter sees exactly what a layout-v1 refresh must cost (marker + catalog +
 * every tag index, conditional: 12 requests, all 304 when unchanged, one 200 after one
 * change), so the figures of the big stores are counted, not guessed; and a v2 refresh
 * meets issue 13's targets.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { refreshRows } from "../../bench/refresh_rows.ts";
import { parseWindow } from "../../bench/refresh_proxy.ts";
import { binaryExists, binaryPath } from "../helpers/binary.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

Deno.test("parseWindow() counts requests and spans first start to last end", () => {
  const w = parseWindow(
    "1700000000.100 0.050 304 GET /r/static-registry.json\n" +
      "1700000000.180 0.020 200 GET /r/catalog.json\n",
  );
  assert.equal(w.requests.length, 2);
  assert.deepEqual(w.requests.map((r) => r.status), [304, 200]);
  assert.equal(Math.round(w.busyMs), 130); // 100.050 → 100.180
  assert.deepEqual(parseWindow(""), { requests: [], busyMs: 0 });
  assert.throws(() => parseWindow("garbage\n"), /unexpected access-log line "garbage"/);
});

Deno.test({
  name:
    "refreshRows() counts 12 requests per v1 refresh of 10 repositories and 2 per v2, HTTP and s3rver",
  ignore: !binaryExists(),
  async fn() {
    const workDir = await Deno.makeTempDir({ prefix: "refresh-rows-" });
    try {
      const rows = await refreshRows({
        root: ROOT,
        bin: binaryPath(),
        workDir,
        counts: { http: [10], s3: [10] },
        samples: 2,
      });
      assert.equal(rows.length, 4, rows.map((r) => r.name).join(", "));
      const v1 = rows.filter((r) => r.name.endsWith("layout v1"));
      assert.equal(v1.length, 2);
      for (const r of v1) {
        assert.equal(r.pass, null, `${r.name}: ${r.note}`);
        assert.match(r.value, /^unchanged 12 req, .* · 1 change 12 req, /, r.name);
        assert.match(
          r.note!,
          /statuses unchanged 304×12, 1 change 200×1 304×11$/,
          `${r.name}: ${r.note}`,
        );
      }
      // Layout v2: marker + catalog, both 304, when unchanged; after a publish the catalog
      // is new and so is the one tag index whose digest changed (issue 13, Deliver 1).
      const v2 = rows.filter((r) => r.name.endsWith("layout v2"));
      assert.equal(v2.length, 2);
      for (const r of v2) {
        assert.equal(r.pass, true, `${r.name}: ${r.value} (${r.note})`);
        assert.match(r.value, /^unchanged 2 req, .* · 1 change 3 req, /, r.name);
        assert.match(
          r.note!,
          /statuses unchanged 304×2, 1 change 200×2 304×1$/,
          `${r.name}: ${r.note}`,
        );
      }
    } finally {
      await Deno.remove(workDir, { recursive: true });
    }
  },
});
