/**
 * @module
 * Peak RSS of a server with `index.load: "on-demand"` while every repository of a 1M-tag
 * store that shares nothing (bench/distinct_store.ts: 10k repositories × 100 tags) is read
 * once, 16 at a time, for one `index.cacheBytes`: the comparison behind lib/index/held.ts's
 * GC hint and default (the `scripts/bench --only scale` row runs the default only).
 *
 *   deno run -A bench/on_demand_churn.ts [--bin dist/static-registry] [--cache-bytes N] [--repositories 10000]
 */
import { parseArgs } from "node:util";
import { startRegistry } from "./registry.ts";
import { rssMB } from "./proc.ts";
import { writeDistinctStore } from "./distinct_store.ts";
import { readEveryRepository } from "./scale_rows.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    bin: { type: "string", default: "dist/static-registry" },
    "cache-bytes": { type: "string", default: String(64 << 20) },
    repositories: { type: "string", default: "10000" },
  },
});
const cacheBytes = Number(values["cache-bytes"]);
const repositories = Number(values.repositories);
for (const [k, v] of [["--cache-bytes", cacheBytes], ["--repositories", repositories]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${k}: not a count: ${v}`);
}
const work = await Deno.makeTempDir({ prefix: "on-demand-churn-" });
try {
  const store = `${work}/store`;
  writeDistinctStore(store, repositories);
  const name = (r: number) => `team${r % 100}/app${r}`;
  const reg = await startRegistry(values.bin!, work, {
    store,
    index: { load: "on-demand", cacheBytes },
  }, { timeoutMs: 600_000 });
  try {
    const start = rssMB(reg.proc.pid);
    const { peak, took, failed } = await readEveryRepository(reg, repositories, name);
    console.log(
      `cacheBytes ${cacheBytes}: RSS ${start.toFixed(0)} MB at start, peak ${
        peak.toFixed(0)
      } MB; ${repositories} reads in ${(took / 1000).toFixed(1)} s (${
        (took * 1000 / repositories).toFixed(0)
      } µs each)${failed ? `, ${failed} not 200` : ""}`,
    );
  } finally {
    await reg.stop();
  }
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
}
