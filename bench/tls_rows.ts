/**
 * @module
 * The TLS row (issue 10): blob GET → 307 over HTTPS, static-registry with `tls` against
 * nginx `return 307` behind `ssl` — the same leaf and chain (RSA 2048, made with
 * tests/helpers/pki.ts), TLS 1.2+ on both, the same wrk settings (wrk keeps its 64
 * connections alive, so the row measures TLS records, not handshakes). nginx gets the
 * worker count of the plain rows (bench/nginx.ts says why one).
 *
 * Runs alternate, nginx, static-registry, nginx, static-registry, nginx, and each
 * static-registry run is compared with the mean of the nginx runs on either side of it
 * (bench/hot_rows.ts does the same): a neighbour's load that comes and goes skews both
 * sides alike. The row shows the median of the three ratios (each is in the note).
 */
import { makeCa, makeLeaf } from "../tests/helpers/pki.ts";
import { freePort } from "./proc.ts";
import { API_HEADER, type Nginx, nginxConf, runNginx } from "./nginx.ts";
import { startRegistry } from "./registry.ts";
import type { ServeFixture } from "./serve_rows.ts";
import { ratio, type Row, rps } from "./table.ts";
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";

const ROUNDS = 3;

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

/** static-registry with `tls` and the plain nginx as its origin (blob GET → 307). */
function startTlsRegistry(
  fx: ServeFixture,
  pair: { certFile: string; keyFile: string },
  origin: string,
  caPem: string,
) {
  return startRegistry(fx.bin, `${fx.workDir}/tls`, {
    store: fx.storeDir,
    origins: [{ name: "nginx", url: origin }],
    health: { interval: "2s", timeout: "1s", rise: 1 },
    tls: { cert: pair.certFile, key: pair.keyFile },
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

/** The TLS row: alternated runs of nginx and static-registry, both answering 307 over TLS. */
export async function tlsRows(
  fx: ServeFixture,
  load: LoadSettings,
  nginx: Nginx,
  workers: number,
): Promise<Row[]> {
  const dir = `${fx.workDir}/tls`;
  const ca = await makeCa(`${dir}/ca`);
  const pair = await makeLeaf(ca, `${dir}/leaf`, { hosts: ["localhost"] });
  const caPem = await Deno.readTextFile(ca.caPem);
  const blobPath = `/v2/${fx.repo}/blobs/${fx.blobDigest}`;
  const n = await startTlsNginx(`${dir}/nginx`, pair, nginx.origin, workers, caPem);
  const nRuns: WrkResult[] = [];
  const sRuns: WrkResult[] = [];
  try {
    nRuns.push(await load307(n.url + blobPath, load, caPem));
    for (let i = 0; i < ROUNDS; i++) {
      const s = await startTlsRegistry(fx, pair, nginx.origin, caPem);
      try {
        sRuns.push(await load307(s.url + blobPath, load, caPem));
      } finally {
        await s.stop();
      }
      nRuns.push(await load307(n.url + blobPath, load, caPem));
    }
  } finally {
    await n.stop();
  }
  const ratios = sRuns.map((s, i) =>
    s.requestsPerSec / ((nRuns[i].requestsPerSec + nRuns[i + 1].requestsPerSec) / 2)
  );
  const median = ratios.indexOf([...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)]);
  const s = sRuns[median];
  const nMean = (nRuns[median].requestsPerSec + nRuns[median + 1].requestsPerSec) / 2;
  return [{
    name: "blob GET → 307 over TLS",
    value: `${rps(s.requestsPerSec)} req/s`,
    baselines: [`nginx ssl return 307 ${rps(nMean)} req/s`],
    ratios: [ratio(s.requestsPerSec, nMean)],
    target: "≥ 0.8× nginx",
    pass: ratios[median] >= 0.8,
    note: `runs: nginx ${nRuns.map((r) => rps(r.requestsPerSec)).join(" / ")}; ` +
      `static-registry ${sRuns.map((r) => rps(r.requestsPerSec)).join(" / ")} ` +
      `(ratios ${ratios.map((r) => r.toFixed(2)).join(", ")}, median shown); ` +
      `static-registry p50 ${s.p50.toFixed(2)} ms p99 ${s.p99.toFixed(2)} ms`,
  }];
}
