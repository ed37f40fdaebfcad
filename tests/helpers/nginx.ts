/**
 * @module
 * nginx on a free 127.0.0.1 port, for tests and benchmarks, in one of three modes:
 * - `static`: serves a directory (a directory store seen as an origin), GET/HEAD only;
 * - `cdn`: a caching edge (proxy_cache + 1 MiB slices) in front of an upstream base URL,
 *   client credentials stripped, `X-Cache-Status` HIT/MISS (the `cdn` recipe of the
 *   reference start-object-store.sh);
 * - `redirect`: `return 307 <location>$request_uri` for every request;
 * - `balancer`: a load balancer over several static-registry replicas (round robin; a
 *   replica that refuses or drops a request is marked failed and the request is retried
 *   on the next one — nginx's passive health checks, the open-source edition's only kind).
 *
 * The process runs in the foreground (`daemon off`) as a child of the test and is stopped by
 * its PID (SIGTERM to the master; the master takes its worker down). `stop()` then
 * `start()` brings it back on the same port, for outage tests.
 */
import { freePort } from "./ports.ts";

/** What the nginx serves. */
export type NginxMode =
  | { mode: "static"; root: string }
  | { mode: "cdn"; upstream: string }
  | { mode: "redirect"; location: string }
  | { mode: "balancer"; upstreams: string[] };

/** A running (or stopped) nginx. */
export interface Nginx {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** PID of the master process while running, else null. */
  readonly pid: number | null;
  /** Working directory (config, logs, cache); removed by `close()`. */
  readonly dir: string;
  /** Starts it again on the same port after `stop()`. */
  start(): Promise<void>;
  /** Stops it by PID and waits for the process to exit. */
  stop(): Promise<void>;
  /** Stops it and removes its working directory. */
  close(): Promise<void>;
}

/** The mode's directives: extra ones at `http` level and the `server`'s locations. */
function directives(m: NginxMode, dir: string): { http: string; server: string } {
  switch (m.mode) {
    case "static":
      return {
        http: "",
        server: `
    location / {
      limit_except GET { deny all; }            # GET and HEAD only
      root ${m.root};
    }`,
      };
    case "balancer":
      return {
        http: `  upstream replicas {
${
          m.upstreams.map((u) =>
            `    server ${u.replace(/^https?:\/\//, "")} max_fails=1 fail_timeout=2s;`
          ).join("\n")
        }
  }`,
        server: `
    location / {
      proxy_pass http://replicas;
      # Retry a GET/HEAD on the next replica when one refuses, drops or times out, or is
      # unready (503): nothing was sent to the client yet, so the client never sees it.
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
      proxy_connect_timeout 1s;
      proxy_read_timeout 10s;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_redirect off;                       # a 307's Location names the origin: keep it
    }`,
      };
    case "redirect":
      return {
        http: "",
        server: `
    location / { return 307 ${m.location.replace(/\/+$/, "")}$request_uri; }`,
      };
    case "cdn":
      return {
        http: `  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=edge:10m max_size=2g ` +
          `inactive=30m use_temp_path=off;`,
        server: `
    location / {
      limit_except GET { deny all; }            # GET (and HEAD) only: a read-only edge
      slice 1m;                                 # fetch/cache big objects in 1 MiB ranges
      proxy_cache edge;
      proxy_cache_key $uri$slice_range;
      proxy_set_header Range $slice_range;
      proxy_cache_valid 200 206 10m;
      proxy_cache_valid 404 10s;
      proxy_cache_lock on;
      proxy_cache_revalidate on;
      proxy_cache_use_stale error timeout updating;
      proxy_set_header Authorization "";        # never forward client credentials
      proxy_set_header Cookie "";
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass ${m.upstream.replace(/\/+$/, "")}$uri;  # $uri: the query never reaches the origin
      add_header X-Cache-Status $upstream_cache_status always;
    }`,
      };
  }
}

function config(m: NginxMode, dir: string, port: number): string {
  const d = directives(m, dir);
  // As root, workers would run as `nobody` and could not read a test's 0700 temp dir.
  const user = Deno.uid() === 0 ? "user root;" : "";
  return `worker_processes 1;
daemon off;
${user}
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp/body; proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fcgi; uwsgi_temp_path ${dir}/tmp/uwsgi; scgi_temp_path ${dir}/tmp/scgi;
${d.http}
  server {
    listen 127.0.0.1:${port};${d.server}
  }
}
`;
}

async function waitUp(url: string, child: Deno.ChildProcess, ms: number): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && !exited) {
    try {
      const res = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/**
 * Starts nginx on a free port.
 *
 * @example
 * ```ts
 * const web = await startNginx({ mode: "static", root: storeDir });
 * try { await fetch(`${web.url}/static-registry.json`); } finally { await web.close(); }
 * ```
 */
export async function startNginx(mode: NginxMode): Promise<Nginx> {
  const dir = await Deno.makeTempDir({ prefix: "sr-nginx-" });
  await Deno.mkdir(`${dir}/tmp`, { recursive: true });
  await Deno.mkdir(`${dir}/cache`, { recursive: true });
  let port = 0;
  let child: Deno.ChildProcess | null = null;

  async function launch(): Promise<boolean> {
    const conf = `${dir}/nginx.conf`;
    await Deno.writeTextFile(conf, config(mode, dir, port));
    child = new Deno.Command("nginx", {
      args: ["-p", dir, "-c", conf],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    if (await waitUp(`http://127.0.0.1:${port}/`, child, 10_000)) return true;
    await stop();
    return false;
  }

  async function stop(): Promise<void> {
    const c = child;
    if (!c) return;
    child = null;
    try {
      Deno.kill(c.pid, "SIGTERM");
    } catch { /* already exited */ }
    await c.status;
  }

  // The free port may be taken between freePort() and nginx's bind: try a few.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = freePort();
    await launch();
  }
  if (!child) {
    const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "(no error log)");
    await Deno.remove(dir, { recursive: true });
    throw new Error(`nginx (${mode.mode}) did not start: ${log.trim().split("\n").at(-1)}`);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return (child as Deno.ChildProcess | null)?.pid ?? null;
    },
    dir,
    async start() {
      if (child) return;
      if (!(await launch())) throw new Error(`nginx did not restart on port ${port}`);
    },
    stop,
    async close() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
