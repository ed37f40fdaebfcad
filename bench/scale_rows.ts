/**
 * @module
 * Rows that depend on how many tags the store holds (10, 10k, 100k, 1M = 10k repositories ×
 * 100 tags): start-up time, RSS idle and under load, and the manifest GET p50 at the
 * largest count vs 10.
 *
 * Start-up is "spawn → first 200 on /v2/" (issue 4); we also time "spawn → first 200 for
 * the LAST tag written", which proves the whole index is loaded. PASS needs both under the
 * target: a server that answers /v2/ before it has read its index is not started.
 *
 * The p50 comparison runs both servers at once and alternates the loads (small, big,
 * small, big, …), then compares medians: one load each, minutes apart, mostly measured
 * the drift of a shared 2-core machine (1.32× in one run, 0.87× in the next).
 */
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";
import { startRegistry } from "./registry.ts";
import { makeSyntheticStore, type SyntheticStore } from "./stores.ts";
import { rssMB, sampleRss, waitFor } from "./proc.ts";
import { ACCEPT } from "./serve_rows.ts";
import { errorRow, mb, ms, ratio, type Row, rps } from "./table.ts";

interface Scale {
  store: SyntheticStore;
  startV2: number;
  startIndex: number;
  rssIdle: number;
  rssLoad: number;
  load: WrkResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const label = (n: number) => (n >= 1000 ? `${n / 1000}k` : String(n));

async function measureScale(
  bin: string,
  workDir: string,
  tags: number,
  load: LoadSettings,
  samples: number,
): Promise<Scale> {
  const store = await makeSyntheticStore(`${workDir}/store-${tags}`, tags);
  const lastUrl = (url: string) => `${url}/v2/${store.last.repo}/manifests/${store.last.tag}`;
  const v2: number[] = [];
  const index: number[] = [];
  // Start-up: fresh process each sample; the store files are in the page cache after the
  // first (a warm restart, as on a running host).
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    const reg = await startRegistry(bin, workDir, { store: store.dir });
    try {
      v2.push(reg.startupMs);
      index.push(await waitFor(reg.proc, lastUrl(reg.url), { t0, timeoutMs: 60_000, everyMs: 2 }));
    } finally {
      await reg.stop();
    }
  }
  const reg = await startRegistry(bin, workDir, { store: store.dir });
  try {
    await waitFor(reg.proc, lastUrl(reg.url), { timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1000)); // settle: idle means idle
    const rssIdle = rssMB(reg.proc.pid);
    const probe = `${reg.url}/v2/${store.probe.repo}/manifests/${store.probe.tag}`;
    let sampler: ReturnType<typeof sampleRss> | undefined;
    const res = await loadTest(probe, load, [ACCEPT], () => {
      sampler = sampleRss(reg.proc.pid);
      return sampler.stop;
    });
    return {
      store,
      startV2: median(v2),
      startIndex: median(index),
      rssIdle,
      rssLoad: sampler?.peak() ?? NaN,
      load: res,
    };
  } finally {
    await reg.stop();
  }
}

/** Median p50 (and the loads) of each store, loads alternated between the two servers. */
async function alternatedP50(
  bin: string,
  workDir: string,
  stores: [SyntheticStore, SyntheticStore],
  load: LoadSettings,
  rounds: number,
): Promise<[WrkResult[], WrkResult[]]> {
  const regs: Awaited<ReturnType<typeof startRegistry>>[] = [];
  try {
    // One after the other, inside the try: a failed second start still stops the first.
    for (const st of stores) regs.push(await startRegistry(bin, workDir, { store: st.dir }));
    const probes = regs.map((reg, i) =>
      `${reg.url}/v2/${stores[i].probe.repo}/manifests/${stores[i].probe.tag}`
    );
    for (const [i, reg] of regs.entries()) {
      await waitFor(reg.proc, probes[i], { timeoutMs: 60_000 });
    }
    const out: [WrkResult[], WrkResult[]] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const i of [0, 1] as const) out[i].push(await loadTest(probes[i], load, [ACCEPT]));
    }
    return out;
  } finally {
    await Promise.all(regs.map((reg) => reg.stop()));
  }
}

// 1M tags (10k repositories × 100): issue 13's targets, start ≤ 2 s and ≤ 400 MB RSS.
const START_TARGET: Record<number, number> = { 10_000: 200, 100_000: 2000, 1_000_000: 2000 };
const RSS_IDLE_TARGET: Record<number, number> = { 10_000: 80, 100_000: 400, 1_000_000: 400 };
const RSS_LOAD_TARGET: Record<number, number> = { 100_000: 400, 1_000_000: 400 };

/** Start-up, RSS and p50 rows for each tag count. */
export async function scaleRows(
  bin: string,
  workDir: string,
  counts: number[],
  load: LoadSettings,
  samples: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const by = new Map<number, Scale>();
  // Not timed: brings the binary into the page cache, so the first count is not a cold start.
  await new Deno.Command(bin, { args: ["--version"], stdout: "null", stderr: "null" }).output();
  for (const n of counts) {
    try {
      by.set(n, await measureScale(bin, workDir, n, load, samples));
    } catch (e) {
      rows.push(errorRow(`${label(n)} tags`, "", e));
    }
  }
  for (const [n, s] of by) {
    const t = START_TARGET[n];
    const worst = Math.max(s.startV2, s.startIndex);
    rows.push({
      name: `start-up, ${label(n)} tags (${s.store.repositories} repos)`,
      value: `${ms(s.startV2)} (/v2/), ${ms(s.startIndex)} (last tag)`,
      baselines: [],
      ratios: [],
      target: t ? `≤ ${ms(t)}` : "",
      pass: t ? worst <= t : null,
      note: `median of ${samples} starts; spawn → first 200`,
    });
  }
  for (const [n, s] of by) {
    const ti = RSS_IDLE_TARGET[n];
    rows.push({
      name: `RSS idle, ${label(n)} tags`,
      value: mb(s.rssIdle),
      baselines: [],
      ratios: [],
      target: ti ? `≤ ${ti} MB` : "",
      pass: ti ? s.rssIdle <= ti : null,
    });
    const tl = RSS_LOAD_TARGET[n];
    rows.push({
      name: `RSS under load, ${label(n)} tags`,
      value: mb(s.rssLoad),
      baselines: [],
      ratios: [],
      target: tl ? `≤ ${tl} MB` : "",
      pass: tl ? s.rssLoad <= tl : null,
      note: `peak VmRSS sampled every 100 ms during the manifest GET load (${
        rps(s.load.requestsPerSec)
      } req/s)`,
    });
  }
  const small = by.get(Math.min(...counts));
  const big = by.get(Math.max(...counts));
  if (small && big && small !== big) {
    const rounds = 3;
    try {
      const [s, b] = await alternatedP50(bin, workDir, [small.store, big.store], load, rounds);
      const p50s = (xs: WrkResult[]) => xs.map((x) => x.p50);
      const [sp, bp] = [median(p50s(s)), median(p50s(b))];
      const rates = (xs: WrkResult[]) => rps(median(xs.map((x) => x.requestsPerSec)));
      rows.push({
        name: `manifest GET p50, ${label(big.store.tags)} vs ${label(small.store.tags)} tags`,
        value: `${ms(bp)} (${rates(b)} req/s)`,
        baselines: [`${label(small.store.tags)} tags ${ms(sp)} (${rates(s)} req/s)`],
        ratios: [ratio(bp, sp)],
        target: "≤ 1.10×",
        pass: bp <= sp * 1.1,
        note: `median of ${rounds} loads each, alternated between both servers running; ` +
          `p50s ${p50s(b).map(ms).join(", ")} vs ${p50s(s).map(ms).join(", ")}`,
      });
    } catch (e) {
      rows.push(errorRow("manifest GET p50", "", e));
    }
  }
  return rows;
}
