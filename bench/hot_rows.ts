/**
 * @module
 * The rows issues 8 and 11 hold the server to, and nothing else: blob GET → 307 against
 * nginx `return 307` and manifest GET by tag against nginx serving the file (both with
 * the access log off on either side), and blob GET → 307 with the access log on, to a
 * file, against nginx `return 307` with its access log on, to a file (the first binary
 * only: binaries from before the access log have no `log.access`; measured as
 * {@link LOGGED_PAIRS} back-to-back pairs, nginx then static-registry, and rated by the
 * median of the pairs' ratios, so a neighbour's load that comes and goes within the row
 * skews both sides of a pair alike). Every
 * binary given (the built one, plus `--compare BIN,...`) is loaded in the same run, with
 * nginx loaded before and after each: a binary's ratios use the mean of the nginx runs on
 * either side of it, so a before/after comparison shares one machine state. Skips distribution, tags/list,
 * streaming and the floors, so a run takes about a quarter of `--only serve`.
 */
import type { Nginx } from "./nginx.ts";
import { startRegistry } from "./registry.ts";
import { ratio, type Row, rps } from "./table.ts";
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";
import { ACCEPT, type ServeFixture, waitReady } from "./serve_rows.ts";

/** Measures nginx, then each binary of `bins` followed by nginx again. */
export async function hotRows(
  fx: ServeFixture,
  bins: string[],
  load: LoadSettings,
  nginx: Nginx,
): Promise<Row[]> {
  const blobPath = `/v2/${fx.repo}/blobs/${fx.blobDigest}`;
  const manPath = `/v2/${fx.repo}/manifests/${fx.tag}`;
  const nginxPair = async () => ({
    redirect: await loadTest(nginx.url + nginx.paths.redirect(fx.blobDigest), load),
    manifest: await loadTest(nginx.url + nginx.paths.manifest, load, [ACCEPT]),
  });
  // nginx, A, nginx, B, nginx: each binary is compared with the nginx runs on either side
  // of it, so a neighbour's test load that comes and goes skews both sides alike.
  const nginxRuns = [await nginxPair()];
  const runs: { bin: string; redirect: WrkResult; manifest: WrkResult; logged?: Logged[] }[] = [];
  const config = (log?: { access: boolean }) => ({
    store: fx.storeDir,
    origins: [{ name: "nginx", url: nginx.origin }],
    health: { interval: "2s", timeout: "1s", rise: 1 },
    ...(log ? { log } : {}),
  });
  for (const [n, bin] of bins.entries()) {
    // The first binary is this build: its issue-8 rows run with the access log off (as
    // nginx's), and its access-log row with the default (on; the log goes to a file).
    const sr = await startRegistry(
      bin,
      fx.workDir,
      config(n === 0 ? { access: false } : undefined),
    );
    let run: (typeof runs)[number];
    try {
      await waitReady(sr.url);
      run = {
        bin,
        redirect: await loadTest(sr.url + blobPath, load),
        manifest: await loadTest(sr.url + manPath, load, [ACCEPT]),
      };
    } finally {
      await sr.stop();
    }
    if (n === 0) {
      const logged = await startRegistry(bin, fx.workDir, config());
      try {
        await waitReady(logged.url);
        run.logged = [];
        for (let i = 0; i < LOGGED_PAIRS; i++) {
          const n = await loadTest(nginx.url + nginx.paths.redirectLogged(fx.blobDigest), load);
          run.logged.push({ nginx: n, sr: await loadTest(logged.url + blobPath, load) });
        }
      } finally {
        await logged.stop();
      }
    }
    runs.push(run);
    nginxRuns.push(await nginxPair());
  }
  return runs.flatMap((r, i): Row[] => {
    const [before, after] = [nginxRuns[i], nginxRuns[i + 1]];
    const n307 = (before.redirect.requestsPerSec + after.redirect.requestsPerSec) / 2;
    const nMan = (before.manifest.requestsPerSec + after.manifest.requestsPerSec) / 2;
    const note = `nginx 307 ${rps(before.redirect.requestsPerSec)} then ${
      rps(after.redirect.requestsPerSec)
    }; nginx static ${rps(before.manifest.requestsPerSec)} then ${
      rps(after.manifest.requestsPerSec)
    }`;
    const logged: Row[] = r.logged ? [loggedRow(r.bin, r.logged)] : [];
    return [
      ...logged,
      {
        name: `blob GET → 307 (${r.bin})`,
        value: `${rps(r.redirect.requestsPerSec)} req/s`,
        baselines: [`nginx return 307 ${rps(n307)} req/s`],
        ratios: [ratio(r.redirect.requestsPerSec, n307)],
        target: "≥ 0.8× nginx",
        pass: r.redirect.requestsPerSec / n307 >= 0.8,
        note,
      },
      {
        name: `manifest GET by tag (${r.bin})`,
        value: `${rps(r.manifest.requestsPerSec)} req/s`,
        baselines: [`nginx static ${rps(nMan)} req/s`],
        ratios: [ratio(r.manifest.requestsPerSec, nMan)],
        target: "≥ 0.9× nginx static",
        pass: r.manifest.requestsPerSec / nMan >= 0.9,
      },
    ];
  });
}

/** Pairs in the access-log row: about 2 × this × the duration of a row. */
export const LOGGED_PAIRS = 3;

/** One pair of the access-log row: nginx, then static-registry right after it. */
interface Logged {
  nginx: WrkResult;
  sr: WrkResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The access-log row: median rates, and the median of the pairs' ratios. */
export function loggedRow(bin: string, pairs: Logged[]): Row {
  const q = median(pairs.map((p) => p.sr.requestsPerSec / p.nginx.requestsPerSec));
  const sr = median(pairs.map((p) => p.sr.requestsPerSec));
  const n = median(pairs.map((p) => p.nginx.requestsPerSec));
  return {
    name: `blob GET → 307, access log to a file (${bin})`,
    value: `${rps(sr)} req/s`,
    baselines: [`nginx return 307 + access_log ${rps(n)} req/s`],
    ratios: [ratio(q, 1)],
    target: "≥ 0.8× nginx with its access log",
    pass: q >= 0.8,
    note: `pairs (nginx logged / static-registry logged): ${
      pairs.map((p) => `${rps(p.nginx.requestsPerSec)}/${rps(p.sr.requestsPerSec)}`).join(", ")
    }; ratio = median of the pairs'`,
  };
}
