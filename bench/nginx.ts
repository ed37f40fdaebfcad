/**
 * @module
 * The nginx baselines, in one private nginx (own prefix, conf and temp dirs in a temp dir,
 * `daemon off`, stopped by PID):
 *   - `return 307` for blob GETs: the ceiling for a redirect on this machine;
 *   - the same manifest bytes, tags/list JSON and blob file served as static files;
 *   - `/base/…`: the store directory itself, the CDN origin that static-registry and
 *     distribution redirect to (only HEADed by the health checker while others are loaded).
 *
 * worker_processes 1: static-registry serves from ONE JavaScript thread (Bun.serve's
 * event loop), and wrk needs the other core of this 2-core machine. One nginx worker is
 * the like-for-like single-process ceiling; 2 workers would fight wrk for CPU and measure
 * the scheduler instead. `keepalive_requests` is raised so nginx does not close each
 * connection after 1000 requests (Bun and distribution never do).
 */
import { freePort, type Proc, start, waitFor } from "./proc.ts";

/** What the baseline nginx serves, and where. */
export interface NginxFixture {
  /** The static-registry store directory (blobs/<alg>/<hex> files). */
  storeDir: string;
  repo: string;
  tag: string;
  manifestDigest: string;
  manifestMediaType: string;
  /** Bytes of `GET /v2/<repo>/tags/list`. */
  tagsJson: string;
}

export interface Nginx {
  proc: Proc;
  url: string;
  /** Base URL of the store as an origin: `${url}/base`. */
  origin: string;
  /** URL paths of the baseline rows. */
  paths: {
    redirect: (digest: string) => string;
    /** The same 307, with nginx's access log on (to a file). */
    redirectLogged: (digest: string) => string;
    manifest: string;
    tags: string;
    blob: (digest: string) => string;
  };
  stop(): Promise<void>;
}

/** Writes the conf and starts nginx; resolves once `/v2/` answers. */
export async function startNginx(fx: NginxFixture, workers = 1, workDir: string): Promise<Nginx> {
  const prefix = `${workDir}/nginx`;
  await Deno.mkdir(`${prefix}/static`, { recursive: true });
  await Deno.writeTextFile(`${prefix}/static/tags.json`, fx.tagsJson);
  const port = freePort();
  const hex = fx.manifestDigest.slice("sha256:".length);
  const api = API_HEADER;
  const conf = nginxConf(
    prefix,
    workers,
    "sendfile on;\n  tcp_nopush on;",
    `
  server {
    listen 127.0.0.1:${port};
    location = /v2/ { ${api} default_type application/json; return 200 '{}'; }
    # Baseline "blob 307": the same regex work a registry does, then a redirect.
    location ~ "^/redirect/v2/(.+)/blobs/sha256:([a-f0-9]{64})$" {
      ${api} return 307 http://127.0.0.1:${port}/base/blobs/sha256/$2;
    }
    # Baseline "blob 307 with an access log": the same, each request logged to a file
    # (nginx's default "combined" format, one write per request: nginx buffers only
    # when told to with buffer=).
    location ~ "^/logged/v2/(.+)/blobs/sha256:([a-f0-9]{64})$" {
      access_log ${prefix}/access.log;
      ${api} return 307 http://127.0.0.1:${port}/base/blobs/sha256/$2;
    }
    # Baseline "manifest by tag": the stored manifest bytes with their media type.
    location = /static/v2/${fx.repo}/manifests/${fx.tag} {
      ${api} add_header Docker-Content-Digest ${fx.manifestDigest};
      types { } default_type ${fx.manifestMediaType};
      alias ${fx.storeDir}/blobs/sha256/${hex};
    }
    location = /static/v2/${fx.repo}/tags/list {
      ${api} types { } default_type application/json;
      alias ${prefix}/static/tags.json;
    }
    # Baseline "blob streamed": the blob file itself.
    location ~ "^/static/v2/(.+)/blobs/sha256:([a-f0-9]{64})$" {
      ${api} types { } default_type application/octet-stream;
      alias ${fx.storeDir}/blobs/sha256/$2;
    }
    # The origin: the store directory, as a CDN would serve it.
    location /base/ { alias ${fx.storeDir}/; }
  }`,
  );
  const { proc, url } = await runNginx("nginx", prefix, conf, port, "/v2/");
  return {
    proc,
    url,
    origin: `${url}/base`,
    paths: {
      redirect: (d) => `/redirect/v2/${fx.repo}/blobs/${d}`,
      redirectLogged: (d) => `/logged/v2/${fx.repo}/blobs/${d}`,
      manifest: `/static/v2/${fx.repo}/manifests/${fx.tag}`,
      tags: `/static/v2/${fx.repo}/tags/list`,
      blob: (d) => `/static/v2/${fx.repo}/blobs/${d}`,
    },
    stop: () => proc.stop(),
  };
}

/**
 * The frame every bench nginx shares around its `server` blocks: `workers` processes,
 * `daemon off`, pid, error log and temp dirs under `prefix` (runNginx makes `prefix/tmp`),
 * no access log, connections kept alive as long as wrk keeps them. `http` is more
 * http-level directives.
 */
export function nginxConf(prefix: string, workers: number, http: string, servers: string): string {
  // As root the master would hand the worker to "nobody", which cannot read our 0700 temp dirs.
  const user = Deno.uid() === 0 ? "user root;" : "";
  return `
${user}
worker_processes ${workers};
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  ${http}
  keepalive_requests 10000000;
  keepalive_timeout 65;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
${servers}
}
`;
}

/** The header every baseline answers with, as a registry does. */
export const API_HEADER = "add_header Docker-Distribution-API-Version registry/2.0 always;";

/**
 * A private nginx serving each of `dirs` (store directories) as static files under
 * `/s<i>/`: the CDN origin of servers that have no baseline to share one with (the scale
 * rows). Returns the origin URL of each, in order.
 */
export async function startStoreOrigins(
  workDir: string,
  dirs: string[],
): Promise<{ proc: Proc; origins: string[]; stop(): Promise<void> }> {
  const prefix = `${workDir}/nginx-origins`;
  await Deno.mkdir(`${prefix}/tmp`, { recursive: true });
  const port = freePort();
  const locations = dirs.map((d, i) => `    location /s${i}/ { alias ${d}/; }`).join("\n");
  const conf = nginxConf(
    prefix,
    1,
    "",
    `  server {
    listen 127.0.0.1:${port};
    location = /ready { return 200; }
${locations}
  }`,
  );
  const { proc, url } = await runNginx("nginx-origins", prefix, conf, port, "/ready");
  return { proc, origins: dirs.map((_, i) => `${url}/s${i}`), stop: () => proc.stop() };
}

/**
 * Writes `conf` as `<prefix>/nginx.conf`, starts a private nginx on it (its own prefix,
 * error log and output file) and resolves once `readyPath` answers on `port` — over https
 * verified against `caPem` (PEM text) when given.
 */
export async function runNginx(
  name: string,
  prefix: string,
  conf: string,
  port: number,
  readyPath: string,
  opts: { caPem?: string } = {},
): Promise<{ proc: Proc; url: string }> {
  await Deno.mkdir(`${prefix}/tmp`, { recursive: true });
  await Deno.writeTextFile(`${prefix}/nginx.conf`, conf);
  const proc = start(name, "nginx", [
    "-p",
    prefix,
    "-c",
    `${prefix}/nginx.conf`,
    "-e",
    `${prefix}/error.log`,
  ], `${prefix}/out.log`);
  const url = `${opts.caPem ? "https" : "http"}://127.0.0.1:${port}`;
  await waitFor(proc, `${url}${readyPath}`, { timeoutMs: 10_000, caPem: opts.caPem });
  return { proc, url };
}

/** `nginx -v` (it prints to stderr). */
export async function nginxVersion(): Promise<string> {
  const r = await new Deno.Command("nginx", { args: ["-v"] }).output();
  return new TextDecoder().decode(r.stderr).trim().replace(/^nginx version: /, "");
}
