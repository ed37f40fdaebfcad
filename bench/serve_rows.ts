/**
 * @module
 * Throughput rows: blob GET → 307, manifest GET by tag, tags/list, and a 1 MiB blob
 * streamed from the directory store, for static-registry, nginx and distribution. Each
 * system is loaded alone (the others idle or stopped), with the same wrk settings, the
 * same image and the same request headers. Every URL is checked once before it is loaded:
 * the right status, Location, Content-Type and length, so no row measures error pages.
 */
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";
import type { Nginx } from "./nginx.ts";
import { startDistribution } from "./distribution.ts";
import { startRegistry } from "./registry.ts";
import { freePort, start, waitFor } from "./proc.ts";
import { ms, ratio, type Row, rps } from "./table.ts";

/** The accepted manifest types, sent by every manifest request (distribution needs them). */
export const ACCEPT =
  "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " +
  "application/vnd.docker.distribution.manifest.v2+json, " +
  "application/vnd.docker.distribution.manifest.list.v2+json";

export interface ServeFixture {
  bin: string;
  workDir: string;
  /** OCI image layout the image was generated into (pushed to distribution with skopeo). */
  layoutDir: string;
  /** static-registry directory store holding the published image. */
  storeDir: string;
  repo: string;
  tag: string;
  manifestDigest: string;
  manifestMediaType: string;
  manifestSize: number;
  /** A ~1 MiB layer. */
  blobDigest: string;
  blobSize: number;
}

type Expect = { status: number; location?: boolean; type?: string; length?: number };

/** One request, checked; throws naming the URL and what was wrong. */
async function check(url: string, want: Expect, headers: string[] = []) {
  const h = new Headers(headers.map((x) => x.split(/:\s*/, 2) as [string, string]));
  const res = await fetch(url, { redirect: "manual", headers: h });
  const body = new Uint8Array(await res.arrayBuffer());
  const bad = (what: string) => new Error(`GET ${url}: ${what}`);
  if (res.status !== want.status) throw bad(`status ${res.status}, expected ${want.status}`);
  if (want.location && !res.headers.get("location")) throw bad("307 without Location");
  const type = res.headers.get("content-type")?.split(";")[0];
  if (want.type && type !== want.type) throw bad(`Content-Type ${type}, expected ${want.type}`);
  if (want.length !== undefined && body.byteLength !== want.length) {
    throw bad(`${body.byteLength} bytes, expected ${want.length}`);
  }
}

async function measure(url: string, load: LoadSettings, want: Expect, headers: string[] = []) {
  await check(url, want, headers);
  return loadTest(url, load, headers);
}

const lat = (w: WrkResult) => `p50 ${ms(w.p50)} p99 ${ms(w.p99)}`;

/** Runs the four throughput rows. `nginx` stays up (it is the origin) but idle when not measured. */
export async function serveRows(
  fx: ServeFixture,
  load: LoadSettings,
  nginx: Nginx,
): Promise<Row[]> {
  const blobPath = `/v2/${fx.repo}/blobs/${fx.blobDigest}`;
  const manPath = `/v2/${fx.repo}/manifests/${fx.tag}`;
  const tagsPath = `/v2/${fx.repo}/tags/list`;
  const man: Expect = { status: 200, type: fx.manifestMediaType, length: fx.manifestSize };
  const tags: Expect = { status: 200, type: "application/json" };
  const r307: Expect = { status: 307, location: true };
  const blob: Expect = { status: 200, length: fx.blobSize };

  // 1. nginx baselines.
  const n = {
    redirect: await measure(nginx.url + nginx.paths.redirect(fx.blobDigest), load, r307),
    manifest: await measure(nginx.url + nginx.paths.manifest, load, man, [ACCEPT]),
    tags: await measure(nginx.url + nginx.paths.tags, load, tags),
    blob: await measure(nginx.url + nginx.paths.blob(fx.blobDigest), load, blob),
  };

  // 2. distribution, alone.
  const dist = await startDistribution(
    `${fx.workDir}/distribution`,
    fx.layoutDir,
    fx.tag,
    fx.repo,
    nginx.origin,
  );
  let d;
  try {
    d = {
      redirect: await measure(dist.url + blobPath, load, r307),
      manifest: await measure(dist.url + manPath, load, { status: 200 }, [ACCEPT]),
      tags: await measure(dist.url + tagsPath, load, tags),
    };
  } finally {
    await dist.stop();
  }

  // 3. static-registry with an origin (blob GET → 307), then without (blob streamed).
  let s;
  const withOrigin = await startRegistry(fx.bin, fx.workDir, {
    store: fx.storeDir,
    origins: [{ name: "nginx", url: nginx.origin }],
    // Ready within a second of start instead of rise × the default 10 s interval.
    health: { interval: "2s", timeout: "1s", rise: 1 },
    // Like for like with nginx (access_log off here); `--only hot` has the logged row.
    log: { access: false },
  });
  try {
    await waitReady(withOrigin.url);
    s = {
      redirect: await measure(withOrigin.url + blobPath, load, r307),
      manifest: await measure(withOrigin.url + manPath, load, man, [ACCEPT]),
      tags: await measure(withOrigin.url + tagsPath, load, tags),
    };
  } finally {
    await withOrigin.stop();
  }
  const noOrigin = await startRegistry(fx.bin, fx.workDir, {
    store: fx.storeDir,
    log: { access: false },
  });
  let sBlob;
  try {
    sBlob = await measure(noOrigin.url + blobPath, load, blob);
  } finally {
    await noOrigin.stop();
  }

  // 4. The floors under static-registry's redirect: bare Bun, Bun + requestIP, Hono on Bun
  // (one route; real routes and a middleware), and the app's own shape (bench/floor.ts).
  const floors: [string, WrkResult][] = [];
  for (const mode of Object.keys(FLOOR_NAMES)) {
    const port = freePort();
    const url = `http://127.0.0.1:${port}`;
    const root = new URL("..", import.meta.url).pathname;
    const proc = start(
      `floor ${mode}`,
      "bun",
      [`${root}bench/floor.ts`, mode, String(port)],
      `${fx.workDir}/floor-${mode}.log`,
    );
    try {
      await waitFor(proc, `${url}/v2/`, { timeoutMs: 15_000 });
      floors.push([mode, await measure(url + blobPath, load, r307)]);
    } finally {
      await proc.stop();
    }
  }

  const sr = (w: WrkResult) => `${rps(w.requestsPerSec)} req/s`;
  const q = (a: WrkResult, b: WrkResult) => a.requestsPerSec / b.requestsPerSec;
  return [
    {
      name: "blob GET → 307",
      value: sr(s.redirect),
      baselines: [`nginx return 307 ${sr(n.redirect)}`, `distribution ${sr(d.redirect)}`],
      ratios: [
        ratio(s.redirect.requestsPerSec, n.redirect.requestsPerSec),
        ratio(s.redirect.requestsPerSec, d.redirect.requestsPerSec),
      ],
      target: "≥ 0.7× nginx, ≥ 20× distribution",
      pass: q(s.redirect, n.redirect) >= 0.7 && q(s.redirect, d.redirect) >= 20,
      note: `static-registry ${lat(s.redirect)}; nginx ${lat(n.redirect)}; distribution ${
        lat(d.redirect)
      }`,
    },
    {
      name: "manifest GET by tag",
      value: sr(s.manifest),
      baselines: [`nginx static ${sr(n.manifest)}`, `distribution ${sr(d.manifest)}`],
      ratios: [
        ratio(s.manifest.requestsPerSec, n.manifest.requestsPerSec),
        ratio(s.manifest.requestsPerSec, d.manifest.requestsPerSec),
      ],
      target: "≥ 0.6× nginx static",
      pass: q(s.manifest, n.manifest) >= 0.6,
      note: `static-registry ${lat(s.manifest)}; nginx ${lat(n.manifest)}; distribution ${
        lat(d.manifest)
      }`,
    },
    {
      name: "tags/list",
      value: sr(s.tags),
      baselines: [`nginx static ${sr(n.tags)}`, `distribution ${sr(d.tags)}`],
      ratios: [
        ratio(s.tags.requestsPerSec, n.tags.requestsPerSec),
        ratio(s.tags.requestsPerSec, d.tags.requestsPerSec),
      ],
      target: "",
      pass: null,
      note: `static-registry ${lat(s.tags)}; nginx ${lat(n.tags)}; distribution ${lat(d.tags)}`,
    },
    {
      name: `blob GET ${(fx.blobSize / 1048576).toFixed(1)} MiB streamed (no origins)`,
      value: `${sr(sBlob)} (${sBlob.transferPerSec}/s)`,
      baselines: [`nginx static ${sr(n.blob)} (${n.blob.transferPerSec}/s)`],
      ratios: [ratio(sBlob.requestsPerSec, n.blob.requestsPerSec)],
      target: "",
      pass: null,
      note: `static-registry ${lat(sBlob)}; nginx ${lat(n.blob)}`,
    },
    ...floors.map(([mode, w]): Row => ({
      name: `  floor: ${FLOOR_NAMES[mode]} → 307`,
      value: sr(w),
      baselines: [`nginx return 307 ${sr(n.redirect)}`, `static-registry ${sr(s.redirect)}`],
      ratios: [
        ratio(w.requestsPerSec, n.redirect.requestsPerSec),
        ratio(s.redirect.requestsPerSec, w.requestsPerSec),
      ],
      target: "",
      pass: null,
      note: `${FLOOR_NAMES[mode]} ${lat(w)} (ratios: floor/nginx, static-registry/floor)`,
    })),
  ];
}

const FLOOR_NAMES: Record<string, string> = {
  bun: "bare Bun.serve",
  "bun-ip": "Bun.serve + requestIP()",
  "log-sync": "Bun.serve + requestIP() + a write(2) per access line",
  "log-batched": "Bun.serve + requestIP() + batched access lines (lib/log_sink.ts)",
  "log-stringify": "log-batched, strings quoted by JSON.stringify",
  hono: "Hono on Bun.serve",
  "hono-routes": "Hono routes + 1 middleware",
  table: "own route table + 1 middleware",
};

/** With origins, blob redirects need a healthy origin: wait for /readyz (bounded). */
export async function waitReady(url: string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/readyz`).catch(() => null);
    await res?.body?.cancel();
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(
    `static-registry ${url}/readyz did not answer 200 within 30 s (origin unhealthy?)`,
  );
}
