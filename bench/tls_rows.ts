/**
 * @module
 * The TLS row (issue 10): blob GET → 307 over HTTPS, static-registry with `tls` against
 * nginx `return 307` behind `ssl` — the same leaf and chain (RSA 2048, made with
 * tests/helpers/pki.ts), TLS 1.2+ on both, the same wrk settings (wrk keeps its 64
 * connections alive, so the row measures TLS records, not handshakes). nginx gets the
 * worker count of the plain rows (bench/nginx.ts says why one). Both negotiate the same
 * suite with wrk's OpenSSL: TLS 1.3, TLS_AES_256_GCM_SHA384 (`openssl s_client` against
 * each, checked). static-registry runs with `log.access: false`, as the plain 307 row
 * does, because the bench nginx has `access_log off` (bench/nginx.ts `nginxConf`): with
 * its default access log on, this row measured the access line against an nginx that
 * logs nothing (5 alternated rounds, one machine state: nginx ssl 25.3k req/s, ours with
 * the access log 18.1k = 0.72×, without it 23.8k = 0.94×; medians).
 *
 * Runs alternate, nginx, static-registry, nginx, static-registry, nginx, and each
 * static-registry run is compared with the mean of the nginx runs on either side of it
 * (bench/hot_rows.ts does the same): a neighbour's load that comes and goes skews both
 * sides alike. The row shows the median of the ratios (each is in the note). With more
 * binaries (`--compare BIN,...`), each round loads every binary in turn, nginx between
 * each, so an A/B of two builds shares one machine state; one row per binary.
 */
import { makeCa, makeLeaf } from "../tests/helpers/pki.ts";
import { freePort } from "./proc.ts";
import { API_HEADER, type Nginx, nginxConf, runNginx } from "./nginx.ts";
import { startRegistry } from "./registry.ts";
import type { ServeFixture } from "./serve_rows.ts";
import { ratio, type Row, rps } from "./table.ts";
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";

const ROUNDS = 5;

/** A private nginx answering the blob 307 over TLS with the given pair. */
async function startTlsNginx(
  dir: string,
  pair: { certFile: string; keyFile: string },
  target: string,
  workers: number,
  caPem: string,
) {
  const port = freePort();
  const conf = nginxConf(
    dir,
    workers,
    "",
    `
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${pair.certFile};
    ssl_certificate_key ${pair.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /v2/ { ${API_HEADER} default_type application/json; return 200 '{}'; }
    location ~ "^/v2/(.+)/blobs/sha256:([a-f0-9]{64})$" {
      ${API_HEADER} return 307 ${target}/blobs/sha256/$2;
    }
  }`,
  );
  const { proc, url } = await runNginx("nginx (tls)", dir, conf, port, "/v2/", { caPem });
  return { url, stop: () => proc.stop() };
}

/**
 * `bin` with `tls`, the plain nginx as its origin (blob GET → 307), and no access log:
 * the nginx it is compared with logs nothing either (see the module doc).
 */
function startTlsRegistry(
  fx: ServeFixture,
  bin: string,
  pair: { certFile: string; keyFile: string },
  origin: string,
  caPem: string,
) {
  return startRegistry(bin, `${fx.workDir}/tls`, {
    store: fx.storeDir,
    origins: [{ name: "nginx", url: origin }],
    health: { interval: "2s", timeout: "1s", rise: 1 },
    tls: { cert: pair.certFile, key: pair.keyFile },
    log: { access: false },
  }, { caPem });
}

/** One request checked to be a 307 with a Location, then the load (wrk refuses non-3xx). */
async function load307(url: string, load: LoadSettings, ca: string): Promise<WrkResult> {
  const client = Deno.createHttpClient({ caCerts: [ca] });
  try {
    const res = await fetch(url, { client, redirect: "manual" } as RequestInit);
    await res.body?.cancel();
    if (res.status !== 307 || !res.headers.get("location")) {
      throw new Error(`GET ${url}: ${res.status}, expected a 307 with a Location`);
    }
  } finally {
    client.close();
  }
  return await loadTest(url, load);
}

/**
 * The TLS row of each binary of `bins` (the built one first): alternated runs of nginx
 * and static-registry, both answering 307 over TLS.
 */
export async function tlsRows(
  fx: ServeFixture,
  load: LoadSettings,
  nginx: Nginx,
  workers: number,
  bins: string[] = [fx.bin],
): Promise<Row[]> {
  const dir = `${fx.workDir}/tls`;
  const ca = await makeCa(`${dir}/ca`);
  const pair = await makeLeaf(ca, `${dir}/leaf`, { hosts: ["localhost"] });
  const caPem = await Deno.readTextFile(ca.caPem);
  const blobPath = `/v2/${fx.repo}/blobs/${fx.blobDigest}`;
  const n = await startTlsNginx(`${dir}/nginx`, pair, nginx.origin, workers, caPem);
  // nRuns[k] and nRuns[k + 1] surround the k-th static-registry run, whichever binary.
  const nRuns: WrkResult[] = [];
  const sRuns: { bin: number; run: WrkResult; k: number }[] = [];
  try {
    nRuns.push(await load307(n.url + blobPath, load, caPem));
    for (let i = 0; i < ROUNDS; i++) {
      for (const [b, bin] of bins.entries()) {
        const s = await startTlsRegistry(fx, bin, pair, nginx.origin, caPem);
        try {
          sRuns.push({
            bin: b,
            run: await load307(s.url + blobPath, load, caPem),
            k: sRuns.length,
          });
        } finally {
          await s.stop();
        }
        nRuns.push(await load307(n.url + blobPath, load, caPem));
      }
    }
  } finally {
    await n.stop();
  }
  return bins.map((bin, b) =>
    tlsRow(bin, bins.length > 1, nRuns, sRuns.filter((r) => r.bin === b))
  );
}

/** One binary's row: its runs, each rated against the nginx runs on either side of it. */
function tlsRow(
  bin: string,
  named: boolean,
  nRuns: WrkResult[],
  runs: { run: WrkResult; k: number }[],
): Row {
  const nMeans = runs.map((r) => (nRuns[r.k].requestsPerSec + nRuns[r.k + 1].requestsPerSec) / 2);
  const ratios = runs.map((r, i) => r.run.requestsPerSec / nMeans[i]);
  const median = ratios.indexOf([...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]);
  const s = runs[median].run;
  const nMean = nMeans[median];
  const nearby = runs.flatMap((r) => [nRuns[r.k], nRuns[r.k + 1]]);
  return {
    name: `blob GET → 307 over TLS${named ? ` (${bin})` : ""}`,
    value: `${rps(s.requestsPerSec)} req/s`,
    baselines: [`nginx ssl return 307 ${rps(nMean)} req/s`],
    ratios: [ratio(s.requestsPerSec, nMean)],
    target: "≥ 0.8× nginx",
    pass: ratios[median] >= 0.8,
    note: `runs: nginx ${[...new Set(nearby)].map((r) => rps(r.requestsPerSec)).join(" / ")}; ` +
      `static-registry ${runs.map((r) => rps(r.run.requestsPerSec)).join(" / ")} ` +
      `(ratios ${ratios.map((r) => r.toFixed(2)).join(", ")}, median shown); ` +
      `static-registry p50 ${s.p50.toFixed(2)} ms p99 ${
        s.p99.toFixed(2)
      } ms; no access log on either side`,
  };
}
