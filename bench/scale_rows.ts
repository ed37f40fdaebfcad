/**
 * @module
 * Rows that depend on how many tags the store holds (10, 10k, 100k, 1M = 10k repositories ×
 * 100 tags): start-up time, RSS idle and under load, the manifest GET and blob GET → 307
 * p50 at the largest count vs 10 (issue 13 Deliver 2: within 10 %), the RSS under that 307
 * load, and the memory per tag (idle RSS at the largest count over the smallest, per tag).
 *
 * Start-up is "spawn → first 200 on /v2/" (issue 4); we also time "spawn → first 200 for
 * the LAST tag written", which proves the whole index is loaded. PASS needs both under the
 * target: a server that answers /v2/ before it has read its index is not started.
 *
 * The p50 comparison runs both servers at once and alternates the loads (small, big,
 * big, small, …), then compares medians: one load each, minutes apart, mostly measured
 * the drift of a shared 2-core machine (1.32× in one run, 0.87× in the next).
 */
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";
import { startRegistry } from "./registry.ts";
import { makeSyntheticStore, type SyntheticStore } from "./stores.ts";
import { rssMB, sampleRss, waitFor } from "./proc.ts";
import { ACCEPT, waitReady } from "./serve_rows.ts";
import { startStoreOrigins } from "./nginx.ts";
import { errorRow, mb, ms, ratio, type Row, rps } from "./table.ts";
import { writeDistinctStore } from "./distinct_store.ts";

interface Scale {
  store: SyntheticStore;
  startV2: number;
  startIndex: number;
  rssIdle: number;
  rssLoad: number;
  load: WrkResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const label = (n: number) =>
  n >= 1_000_000 ? `${n / 1_000_000}M` : n >= 1000 ? `${n / 1000}k` : String(n);

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

/** The alternated loads of both servers: manifest GET and blob GET → 307. */
interface Alternated {
  manifest: [WrkResult[], WrkResult[]];
  redirect: [WrkResult[], WrkResult[]];
  /** Peak VmRSS of the second (big) server during its 307 loads. */
  rssRedirect: number;
}

/** A layer of the probe tag's manifest, asked of the server (layout-independent). */
async function probeBlob(url: string, store: SyntheticStore): Promise<string> {
  const res = await fetch(`${url}/v2/${store.probe.repo}/manifests/${store.probe.digest}`, {
    headers: { accept: ACCEPT.slice("Accept: ".length) },
  });
  if (res.status !== 200) throw new Error(`manifest ${store.probe.digest}: HTTP ${res.status}`);
  const layer = (await res.json()).layers?.[0]?.digest;
  if (typeof layer !== "string") throw new Error(`manifest ${store.probe.digest} has no layers`);
  return layer;
}

/**
 * Median p50 (and the loads) of each store, loads alternated between the two servers: the
 * manifest GET, then the blob GET → 307 (each server redirects to its store served by one
 * private nginx, as in the serve rows).
 */
async function alternatedP50(
  bin: string,
  workDir: string,
  stores: [SyntheticStore, SyntheticStore],
  load: LoadSettings,
  rounds: number,
): Promise<Alternated> {
  const regs: Awaited<ReturnType<typeof startRegistry>>[] = [];
  const origin = await startStoreOrigins(workDir, stores.map((st) => st.dir));
  try {
    // One after the other, inside the try: a failed second start still stops the first.
    for (const [i, st] of stores.entries()) {
      regs.push(
        await startRegistry(bin, workDir, {
          store: st.dir,
          origins: [{ name: "nginx", url: origin.origins[i] }],
          // Ready within a second of start instead of rise × the default 10 s interval.
          health: { interval: "2s", timeout: "1s", rise: 1 },
        }),
      );
    }
    const probes = regs.map((reg, i) =>
      `${reg.url}/v2/${stores[i].probe.repo}/manifests/${stores[i].probe.tag}`
    );
    const blobs: string[] = [];
    for (const [i, reg] of regs.entries()) {
      await waitFor(reg.proc, probes[i], { timeoutMs: 60_000 });
      await waitReady(reg.url);
      const url = `${reg.url}/v2/${stores[i].probe.repo}/blobs/${await probeBlob(
        reg.url,
        stores[i],
      )}`;
      // wrk counts a 200 as a success too: make sure this row measures redirects.
      const res = await fetch(url, { redirect: "manual" });
      await res.body?.cancel();
      if (res.status !== 307 || !res.headers.get("location")) {
        throw new Error(`blob GET ${url}: HTTP ${res.status}, not a 307 with a Location`);
      }
      blobs.push(url);
    }
    const out: Alternated = { manifest: [[], []], redirect: [[], []], rssRedirect: 0 };
    for (let r = 0; r < rounds; r++) {
      // Which server goes first alternates too: a position in the round costs both alike.
      for (const i of r % 2 ? [1, 0] as const : [0, 1] as const) {
        out.manifest[i].push(await loadTest(probes[i], load, [ACCEPT]));
        let sampler: ReturnType<typeof sampleRss> | undefined;
        out.redirect[i].push(
          await loadTest(blobs[i], load, [], () => {
            if (i === 0) return () => {};
            sampler = sampleRss(regs[i].proc.pid);
            return sampler.stop;
          }),
        );
        out.rssRedirect = Math.max(out.rssRedirect, sampler?.peak() ?? 0);
      }
    }
    return out;
  } finally {
    await Promise.all(regs.map((reg) => reg.stop()));
    await origin.stop();
  }
}

// 1M tags (10k repositories × 100): issue 13's targets, start ≤ 2 s and ≤ 400 MB RSS.
const START_TARGET: Record<number, number> = { 10_000: 200, 100_000: 2000, 1_000_000: 2000 };
const RSS_IDLE_TARGET: Record<number, number> = { 10_000: 80, 100_000: 400, 1_000_000: 400 };
const RSS_LOAD_TARGET: Record<number, number> = { 100_000: 400, 1_000_000: 400 };

/**
 * Start-up and idle RSS of a store of `repositories` × 100 tags that share nothing
 * (bench/distinct_store.ts: a manifest, config and layer of their own per tag, like CI
 * builds), against the same targets as the synthetic store, whose 100 tag names and 4
 * manifests are shared by every repository and so cost the engine one string each. Ready =
 * the last repository's tags/list answers 200 (the store has tag indexes only, no
 * manifests to GET). One start per `index.load` mode: at 1M tags a load of all of them
 * takes tens of seconds. On demand (lib/index/held.ts) the last repository is read at that
 * request, and a second row reads every repository once: the RSS the cache bound allows.
 */
async function distinctRows(
  bin: string,
  workDir: string,
  repositories: number,
  smallRss: number | undefined,
): Promise<Row[]> {
  const dir = `${workDir}/store-distinct-${repositories}`;
  writeDistinctStore(dir, repositories);
  const tags = repositories * 100;
  const name = (r: number) => `team${r % 100}/app${r}`;
  const rows: Row[] = [];
  try {
    for (const load of ["all", "on-demand"] as const) {
      const t0 = performance.now();
      const reg = await startRegistry(bin, workDir, { store: dir, index: { load } }, {
        timeoutMs: 600_000,
      });
      try {
        const ready = await waitFor(
          reg.proc,
          `${reg.url}/v2/${name(repositories - 1)}/tags/list?n=1`,
          {
            t0,
            timeoutMs: 600_000,
          },
        );
        await new Promise((r) => setTimeout(r, 1000));
        const rss = rssMB(reg.proc.pid);
        const t = START_TARGET[tags];
        const ti = RSS_IDLE_TARGET[tags];
        const what = `${
          label(tags)
        } tags sharing nothing (${repositories} repos), index.load ${load}`;
        rows.push({
          name: `start-up, ${what}`,
          value: `${ms(reg.startupMs)} (/v2/), ${ms(ready)} (last repository)`,
          baselines: [],
          ratios: [],
          target: t ? `≤ ${ms(t)}` : "",
          pass: t ? Math.max(reg.startupMs, ready) <= t : null,
          note: load === "all"
            ? "one start; bench/distinct_store.ts's store (tag indexes only)"
            : "one start; the last repository's tag index is read at that request",
        }, {
          name: `RSS idle, ${what}`,
          value: mb(rss),
          baselines: [],
          ratios: [],
          target: ti ? `≤ ${ti} MB` : "",
          pass: ti ? rss <= ti : null,
          note: smallRss === undefined || load !== "all"
            ? ""
            : `${((rss - smallRss) * 1048576 / tags).toFixed(0)} B/tag over the smallest store`,
        });
        if (load === "on-demand") {
          rows.push(await everyRepositoryOnce(reg, repositories, name, tags));
        }
      } finally {
        await reg.stop();
      }
    }
    return rows;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads repositories 0 … `repositories`-1 (`name(r)`) once each, tags/list, 16 at a time:
 * the server's peak RSS (MB) meanwhile, how long it took (ms) and how many were not 200.
 * Also bench/on_demand_churn.ts's measurement.
 */
export async function readEveryRepository(
  reg: Awaited<ReturnType<typeof startRegistry>>,
  repositories: number,
  name: (r: number) => string,
): Promise<{ peak: number; took: number; failed: number }> {
  const sampler = sampleRss(reg.proc.pid);
  const t0 = performance.now();
  let next = 0;
  let failed = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < repositories) {
      const res = await fetch(`${reg.url}/v2/${name(next++)}/tags/list?n=1`);
      await res.body?.cancel();
      if (res.status !== 200) failed++;
    }
  }));
  const took = performance.now() - t0;
  sampler.stop();
  return { peak: sampler.peak(), took, failed };
}

/** The row of {@link readEveryRepository}: peak RSS and the time per read. */
async function everyRepositoryOnce(
  reg: Awaited<ReturnType<typeof startRegistry>>,
  repositories: number,
  name: (r: number) => string,
  tags: number,
): Promise<Row> {
  const { peak, took, failed } = await readEveryRepository(reg, repositories, name);
  const target = RSS_LOAD_TARGET[tags];
  return {
    name: `RSS reading every repository once, ${label(tags)} tags sharing nothing, on demand`,
    value: mb(peak),
    baselines: [],
    ratios: [],
    target: target ? `≤ ${target} MB` : "",
    pass: failed ? false : target ? peak <= target : null,
    note:
      `${repositories} tag indexes in ${ms(took)} (${
        (took * 1000 / repositories).toFixed(0)
      } µs each, ` +
      `16 at a time), index.cacheBytes at its default 64 MiB${failed ? `; ${failed} not 200` : ""}`,
  };
}

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
  // The same largest count without the synthetic store's sharing (issue 13 Deliver 2 says
  // nothing of how tags share; real stores share little).
  const most = Math.max(...counts);
  if (most >= 100_000) {
    try {
      rows.push(...await distinctRows(bin, workDir, most / 100, small?.rssIdle));
    } catch (e) {
      rows.push(errorRow(`${label(most)} tags sharing nothing`, "", e));
    }
  }
  if (small && big && small !== big) {
    const [bl, sl] = [label(big.store.tags), label(small.store.tags)];
    // Memory per tag: what the big store's index adds to the idle process over the small one.
    const perTag = (big.rssIdle - small.rssIdle) * 1048576 / (big.store.tags - small.store.tags);
    rows.push({
      name: `memory per tag (idle RSS, ${bl} vs ${sl} tags)`,
      value: `${perTag.toFixed(0)} B/tag`,
      baselines: [],
      ratios: [],
      target: "",
      pass: null,
      note:
        `(${mb(big.rssIdle)} − ${mb(small.rssIdle)}) / (${big.store.tags} − ${small.store.tags}` +
        ` tags); ${big.store.repositories} repositories; the synthetic tags share 4 ` +
        `manifests, so a store with a distinct manifest per tag may cost more per tag`,
    });
    const rounds = 3;
    try {
      const alt = await alternatedP50(bin, workDir, [small.store, big.store], load, rounds);
      const p50s = (xs: WrkResult[]) => xs.map((x) => x.p50);
      const rates = (xs: WrkResult[]) => rps(median(xs.map((x) => x.requestsPerSec)));
      const p50Row = (what: string, [s, b]: [WrkResult[], WrkResult[]]): Row => {
        const [sp, bp] = [median(p50s(s)), median(p50s(b))];
        return {
          name: `${what} p50, ${bl} vs ${sl} tags`,
          value: `${ms(bp)} (${rates(b)} req/s)`,
          baselines: [`${sl} tags ${ms(sp)} (${rates(s)} req/s)`],
          ratios: [ratio(bp, sp)],
          target: "≤ 1.10×",
          pass: bp <= sp * 1.1,
          note: `median of ${rounds} loads each, alternated between both servers running; ` +
            `p50s ${p50s(b).map(ms).join(", ")} vs ${p50s(s).map(ms).join(", ")}`,
        };
      };
      rows.push(p50Row("manifest GET", alt.manifest), p50Row("blob GET → 307", alt.redirect));
      const tl = RSS_LOAD_TARGET[big.store.tags];
      rows.push({
        name: `RSS under 307 load, ${bl} tags`,
        value: mb(alt.rssRedirect),
        baselines: [],
        ratios: [],
        target: tl ? `≤ ${tl} MB` : "",
        pass: tl ? alt.rssRedirect <= tl : null,
        note: `peak VmRSS sampled every 100 ms during the ${rounds} blob GET → 307 loads (${
          rates(alt.redirect[1])
        } req/s)`,
      });
    } catch (e) {
      rows.push(errorRow("manifest GET and blob GET → 307 p50", "", e));
    }
  }
  return rows;
}
