/**
 * @module
 * A/B of the scale row "blob GET → 307 (and manifest GET) p50, 1M vs 10 tags" for two or more
 * binaries in the SAME run: every binary serves a 10-tag and a 1M-tag synthetic store at
 * once (all servers up together, one private nginx as every store's origin), and the wrk
 * loads are alternated across all servers, the order rotating each round; medians per
 * server, then each binary's 1M/10 ratio. A shared machine drifts by more than the effect
 * measured, so only figures from one run are compared.
 *
 *   deno run -A bench/p50_ab.ts --bin /tmp/sr-before --bin dist/static-registry \
 *     [--rounds 5] [--duration 5] [--warmup 1] [--tags 1000000] [--work /tmp/p50-ab]
 *
 * Besides wrk's p50 and req/s, each load records the server's CPU time per request
 * (utime+stime of the process over the measured run, /proc/<pid>/stat): less sensitive to
 * the run queue of a shared machine than latency, though still not immune.
 *
 * The stores are written once under `--work` and reused by later runs (they are
 * deterministic). `--env K=V` is passed to every server (e.g. BUN_JSC_logGC=1); a
 * `--bin K=V,K2=V2@path` gives one binary's servers an environment of their own (the same
 * binary with and without a BUN_JSC_ option); `--small-only` starts only the 10-tag
 * servers; `--only redirect|manifest` picks the loads; `--hold S` keeps the servers up S
 * seconds after start, printing pid and URLs (for perf/strace by hand).
 */
import { parseArgs } from "node:util";
import * as fs from "node:fs/promises";
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";
import { makeSyntheticStore, type SyntheticStore } from "./stores.ts";
import { freePort, type Proc, rssMB, sampleRss, start, waitFor } from "./proc.ts";
import { ACCEPT, waitReady } from "./serve_rows.ts";
import { startStoreOrigins } from "./nginx.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Server {
  bin: string;
  store: SyntheticStore;
  proc: Proc;
  url: string;
  manifestUrl: string;
  blobUrl: string;
  manifest: WrkResult[];
  redirect: WrkResult[];
  rssIdle: number;
  rssLoad: number;
  /** Server CPU µs per request of each measured load (utime+stime, /proc/<pid>/stat). */
  cpu: { redirect: number[]; manifest: number[] };
}

/** utime+stime of `pid` in clock ticks (proc(5): fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** One load of `url` with the server's CPU time per request recorded in `cpu`. */
async function measured(
  s: Server,
  url: string,
  load: LoadSettings,
  headers: string[],
  cpu: number[],
  onStart?: () => () => void,
): Promise<WrkResult> {
  let t0 = 0;
  let t1 = 0;
  const res = await loadTest(url, load, headers, () => {
    const stop = onStart?.();
    t0 = cpuTicks(s.proc.pid);
    return () => {
      t1 = cpuTicks(s.proc.pid);
      stop?.();
    };
  });
  // Clock ticks are 10 ms (USER_HZ 100).
  cpu.push((t1 - t0) * 10_000 / res.requests);
  return res;
}

/** The store at `dir`, written unless a previous run left it complete. */
async function store(dir: string, tags: number): Promise<SyntheticStore> {
  const done = `${dir}.json`;
  try {
    return JSON.parse(await Deno.readTextFile(done));
  } catch { /* not yet written */ }
  await fs.rm(dir, { recursive: true, force: true });
  const s = await makeSyntheticStore(dir, tags);
  await Deno.writeTextFile(done, JSON.stringify(s));
  return s;
}

async function startServer(
  bin: string,
  st: SyntheticStore,
  origin: string,
  work: string,
  n: number,
  env: Record<string, string>,
): Promise<Server> {
  const port = freePort();
  const cfg = `${work}/ab-${n}.json`;
  await Deno.writeTextFile(
    cfg,
    JSON.stringify({
      listen: `127.0.0.1:${port}`,
      store: st.dir,
      origins: [{ name: "nginx", url: origin }],
      health: { interval: "2s", timeout: "1s", rise: 1 },
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const proc = start(`sr-${n}`, bin, ["serve", "--config", cfg], `${work}/ab-${n}.log`, {
    env,
  });
  const manifestUrl = `${url}/v2/${st.probe.repo}/manifests/${st.probe.tag}`;
  await waitFor(proc, `${url}/v2/${st.last.repo}/manifests/${st.last.tag}`, {
    timeoutMs: 60_000,
  });
  await waitReady(url);
  const res = await fetch(`${url}/v2/${st.probe.repo}/manifests/${st.probe.digest}`, {
    headers: { accept: ACCEPT.slice("Accept: ".length) },
  });
  const layer = (await res.json()).layers[0].digest as string;
  const blobUrl = `${url}/v2/${st.probe.repo}/blobs/${layer}`;
  const r = await fetch(blobUrl, { redirect: "manual" });
  await r.body?.cancel();
  if (r.status !== 307) throw new Error(`${blobUrl}: HTTP ${r.status}, not 307`);
  return {
    bin,
    store: st,
    proc,
    url,
    manifestUrl,
    blobUrl,
    manifest: [],
    redirect: [],
    rssIdle: 0,
    rssLoad: 0,
    cpu: { redirect: [], manifest: [] },
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      bin: { type: "string", multiple: true },
      rounds: { type: "string", default: "5" },
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      tags: { type: "string", default: "1000000" },
      work: { type: "string", default: "/tmp/p50-ab" },
      env: { type: "string", multiple: true },
      only: { type: "string", default: "redirect,manifest" },
      // Keep the servers up this many seconds after start (for perf/strace by hand).
      hold: { type: "string", default: "0" },
      // Only the 10-tag store (for experiments that change the server, not the store).
      "small-only": { type: "boolean", default: false },
    },
  });
  const bins = values.bin ?? [];
  if (bins.length === 0) throw new Error("--bin: give at least one binary");
  const work = values.work;
  await Deno.mkdir(work, { recursive: true });
  const env = Object.fromEntries((values.env ?? []).map((kv) => {
    const i = kv.indexOf("=");
    if (i < 1) throw new Error(`--env "${kv}": expected NAME=VALUE`);
    return [kv.slice(0, i), kv.slice(i + 1)];
  }));
  const load: LoadSettings = {
    threads: 2,
    connections: 64,
    durationS: Number(values.duration),
    warmupS: Number(values.warmup),
  };
  const only = new Set(values.only.split(","));
  const big = Number(values.tags);
  const stores = [await store(`${work}/store-10`, 10)];
  if (!values["small-only"]) stores.push(await store(`${work}/store-${big}`, big));
  const origin = await startStoreOrigins(work, stores.map((s) => s.dir));
  const servers: Server[] = [];
  try {
    let n = 0;
    for (const spec of bins) {
      // `K=V,K2=V2@path`: environment for this binary's servers only.
      const at = spec.lastIndexOf("@");
      const bin = spec.slice(at + 1);
      const own = at < 0 ? {} : Object.fromEntries(
        spec.slice(0, at).split(",").map((kv) => kv.split("=", 2) as [string, string]),
      );
      for (const [i, st] of stores.entries()) {
        servers.push(
          await startServer(bin, st, origin.origins[i], work, n++, { ...env, ...own }),
        );
      }
    }
    await new Promise((r) => setTimeout(r, 1000));
    if (Number(values.hold) > 0) {
      for (const s of servers) {
        console.log(`${s.proc.pid} ${s.store.tags} ${s.blobUrl} ${s.manifestUrl}`);
      }
      await new Promise((r) => setTimeout(r, Number(values.hold) * 1000));
    }
    for (const s of servers) s.rssIdle = rssMB(s.proc.pid);
    const rounds = Number(values.rounds);
    for (let r = 0; r < rounds; r++) {
      // Rotate the order so no server always runs in the same slot of a round.
      const order = servers.map((_, i) => servers[(i + r) % servers.length]);
      if (r % 2) order.reverse();
      for (const s of order) {
        if (only.has("manifest")) {
          s.manifest.push(await measured(s, s.manifestUrl, load, [ACCEPT], s.cpu.manifest));
        }
        if (only.has("redirect")) {
          const sampler = sampleRss(s.proc.pid);
          s.redirect.push(
            await measured(s, s.blobUrl, load, [], s.cpu.redirect, () => sampler.stop),
          );
          s.rssLoad = Math.max(s.rssLoad, sampler.peak());
        }
      }
      console.error(`round ${r + 1}/${rounds} done`);
    }
    const p = (xs: WrkResult[]) => xs.map((x) => x.p50.toFixed(2)).join(" ");
    for (const [i, s] of servers.entries()) {
      const spec = bins[Math.floor(i / stores.length)];
      for (const what of ["redirect", "manifest"] as const) {
        if (!only.has(what)) continue;
        console.log(
          `${spec} ${s.store.tags} tags ${what}: p50 ${
            median(s[what].map((x) => x.p50)).toFixed(2)
          } ms [${p(s[what])}], CPU ${median(s.cpu[what]).toFixed(1)} µs/req [${
            s.cpu[what].map((x) => x.toFixed(1)).join(" ")
          }], RSS idle ${s.rssIdle.toFixed(1)} MB`,
        );
      }
    }
    for (let b = 0; stores.length === 2 && b < bins.length; b++) {
      const [small, large] = [servers[2 * b], servers[2 * b + 1]];
      console.log(`\n${bins[b]}`);
      console.log(
        `  RSS idle ${small.rssIdle.toFixed(1)} / ${large.rssIdle.toFixed(1)} MB; ` +
          `under 307 load ${large.rssLoad.toFixed(1)} MB; ` +
          `${((large.rssIdle - small.rssIdle) * 1048576 / (big - 10)).toFixed(0)} B/tag`,
      );
      for (const what of ["redirect", "manifest"] as const) {
        if (!only.has(what)) continue;
        const [sp, lp] = [
          median(small[what].map((x) => x.p50)),
          median(large[what].map((x) => x.p50)),
        ];
        const [sr, lr] = [
          median(small[what].map((x) => x.requestsPerSec)),
          median(large[what].map((x) => x.requestsPerSec)),
        ];
        console.log(
          `  ${what}: p50 ${lp.toFixed(2)} ms (1M) vs ${sp.toFixed(2)} ms (10) = ` +
            `${(lp / sp).toFixed(3)}x; req/s ${lr.toFixed(0)} vs ${sr.toFixed(0)}; server CPU ` +
            `${median(large.cpu[what]).toFixed(1)} vs ${
              median(small.cpu[what]).toFixed(1)
            } µs/req\n` +
            `    1M: ${p(large[what])}\n    10: ${p(small[what])}`,
        );
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.proc.stop()));
    await origin.stop();
  }
}
