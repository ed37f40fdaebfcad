/**
 * @module
 * The Basic-auth row of issue 10: blob GET → 307 with `Authorization: Basic` on every
 * request, static-registry (`auth.scheme: "basic"`, one rule for the user) against nginx
 * `auth_basic` + a 307, both reading the same `htpasswd -B -C 4` file (bcrypt, cost 4).
 * nginx runs crypt(3) on every request; static-registry checks bcrypt once and then
 * remembers the success (lib/auth/htpasswd.ts), which is the point of the row.
 * Alternated — nginx, static-registry, nginx, static-registry, nginx — and each
 * static-registry run is compared with the mean of the nginx runs on either side of it.
 */
import { makeOciLayout } from "../tests/helpers/image.ts";
import { freePort, runOk } from "./proc.ts";
import { API_HEADER, nginxConf, runNginx } from "./nginx.ts";
import { startRegistry } from "./registry.ts";
import { waitReady } from "./serve_rows.ts";
import { ms, ratio, type Row, rps } from "./table.ts";
import { type LoadSettings, loadTest, type WrkResult } from "./wrk.ts";

const USER = "bench";
const PASSWORD = "bench-password";

/** nginx (one worker, as bench/nginx.ts argues) with auth_basic on a 307 location. */
async function startAuthNginx(workDir: string, storeDir: string, htpasswd: string) {
  const prefix = `${workDir}/nginx-auth`;
  const port = freePort();
  const conf = nginxConf(
    prefix,
    1,
    "",
    `
  server {
    listen 127.0.0.1:${port};
    location = /ping { return 200; }
    # "return" runs in the rewrite phase, BEFORE auth_basic's access phase: a bare
    # "return 307" here would redirect without checking anything. try_files runs after
    # the access phase, and its named location redirects.
    location ~ "^/v2/(.+)/blobs/sha256:[a-f0-9]{64}$" {
      auth_basic "static-registry";
      auth_basic_user_file ${htpasswd};
      try_files /-none- @redirect;
    }
    location @redirect {
      if ($uri ~ "sha256:([a-f0-9]{64})$") {
        ${API_HEADER} return 307 http://127.0.0.1:${port}/base/blobs/sha256/$1;
      }
      return 404;
    }
    location /base/ { alias ${storeDir}/; }
  }`,
  );
  const { proc, url } = await runNginx("nginx auth_basic", prefix, conf, port, "/ping");
  return { url, origin: `${url}/base`, stop: () => proc.stop() };
}

/** Checks a 307 with credentials and a 401 without, then loads it with credentials. */
async function measure(url: string, load: LoadSettings, auth: string): Promise<WrkResult> {
  const ok = await fetch(url, { redirect: "manual", headers: { Authorization: auth } });
  await ok.body?.cancel();
  if (ok.status !== 307 || !ok.headers.get("location")) {
    throw new Error(`GET ${url} with credentials: ${ok.status}, expected a 307`);
  }
  const anon = await fetch(url, { redirect: "manual" });
  await anon.body?.cancel();
  if (anon.status !== 401) throw new Error(`GET ${url} without credentials: ${anon.status}`);
  return loadTest(url, load, [`Authorization: ${auth}`]);
}

/** The Basic-auth 307 row. `rounds` static-registry runs, nginx before and after each. */
export async function authRows(
  bin: string,
  workDir: string,
  load: LoadSettings,
  rounds = 2,
): Promise<Row[]> {
  const layoutDir = `${workDir}/image-auth`;
  const storeDir = `${workDir}/store-auth`;
  const repo = "bench/private";
  const image = await makeOciLayout(layoutDir, { tag: "v1", layers: 1, seed: "bench-auth" });
  await runOk(bin, ["publish", `oci:${layoutDir}:v1`, `${repo}:v1`, "--to", storeDir]);
  const htpasswd = `${workDir}/bench.htpasswd`;
  // Cost 4, bcrypt's least: nginx pays it on every request, and at the default 5 its
  // 64-connection latency reaches wrk's 5 s timeout on this machine.
  await runOk("htpasswd", ["-c", "-B", "-C", "4", "-b", htpasswd, USER, PASSWORD]);
  const auth = `Basic ${btoa(`${USER}:${PASSWORD}`)}`;
  const path = `/v2/${repo}/blobs/${image.manifests[0].layers[0].digest}`;

  const nginx = await startAuthNginx(workDir, storeDir, htpasswd);
  const nginxRuns: WrkResult[] = [];
  const srRuns: WrkResult[] = [];
  let plain: WrkResult | undefined;
  try {
    nginxRuns.push(await measure(nginx.url + path, load, auth));
    for (let i = 0; i < rounds; i++) {
      const sr = await startRegistry(bin, workDir, {
        store: storeDir,
        origins: [{ name: "nginx", url: nginx.origin }],
        health: { interval: "2s", timeout: "1s", rise: 1 },
        auth: { htpasswd, scheme: "basic", rules: [{ prefix: "", pull: [USER] }] },
      }, { readyPath: "/healthz" });
      try {
        await waitReady(sr.url);
        srRuns.push(await measure(sr.url + path, load, auth));
      } finally {
        await sr.stop();
      }
      nginxRuns.push(await measure(nginx.url + path, load, auth));
    }
    // What the auth middleware costs: the same 307 without auth configured.
    const open = await startRegistry(bin, workDir, {
      store: storeDir,
      origins: [{ name: "nginx", url: nginx.origin }],
      health: { interval: "2s", timeout: "1s", rise: 1 },
    });
    try {
      await waitReady(open.url);
      plain = await loadTest(open.url + path, load);
    } finally {
      await open.stop();
    }
  } finally {
    await nginx.stop();
  }
  const ratios = srRuns.map((s, i) =>
    s.requestsPerSec / ((nginxRuns[i].requestsPerSec + nginxRuns[i + 1].requestsPerSec) / 2)
  );
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const srMean = mean(srRuns.map((r) => r.requestsPerSec));
  const nMean = mean(nginxRuns.map((r) => r.requestsPerSec));
  return [{
    name: "blob GET → 307, Basic auth",
    value: `${rps(srMean)} req/s`,
    baselines: [
      `nginx auth_basic + 307 ${rps(nMean)} req/s`,
      `static-registry without auth ${rps(plain!.requestsPerSec)} req/s`,
    ],
    ratios: [ratio(srMean, nMean), ratio(srMean, plain!.requestsPerSec)],
    target: "≥ 0.8× nginx auth_basic",
    pass: Math.min(...ratios) >= 0.8,
    note: `Basic auth, bcrypt cost 4, the same htpasswd file; static-registry runs ${
      srRuns.map((r) => `${rps(r.requestsPerSec)} (p50 ${ms(r.p50)} p99 ${ms(r.p99)})`).join(", ")
    }; nginx runs ${
      nginxRuns.map((r) => `${rps(r.requestsPerSec)} (p50 ${ms(r.p50)})`).join(", ")
    }; per-round ratios ${ratios.map((x) => `${x.toFixed(2)}×`).join(", ")}`,
  }];
}
