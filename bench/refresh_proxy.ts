/**
 * @module
 * The refresh rows' request counter: one private nginx that IS the store as the server sees
 * it, and logs every request the server makes, with its time, to one access log.
 *   - `http`: serves a directory as an HTTP store (static files; ETag and If-None-Match → 304
 *     are nginx's own, ngx_http_not_modified_filter);
 *   - `s3`: a reverse proxy in front of s3rver, so an `s3://` store's requests are counted
 *     from outside both the server and the object store.
 *
 * Requests are counted per refresh window by the log's byte offset: {@link AccessLog.take}
 * returns the lines written since the last take. Each line has `$msec` (when the request
 * ended) and `$request_time` (how long it took), so a window's busy time is from the start
 * of its first request to the end of its last.
 */
import { runNginx } from "./nginx.ts";
import { freePort, type Proc } from "./proc.ts";

/** One logged request. */
export interface Logged {
  /** ms since the epoch the request started and ended (nginx's ms resolution). */
  start: number;
  end: number;
  status: number;
  method: string;
  uri: string;
}

/** The requests of one window. */
export interface Window {
  requests: Logged[];
  /** First request's start to last request's end, ms (0 for no requests). */
  busyMs: number;
}

export interface AccessLog {
  /** The requests logged since the previous take (or since start). */
  take(): Promise<Window>;
}

export interface StoreProxy {
  proc: Proc;
  /** Base URL of the directory served as the HTTP store. */
  httpUrl: string;
  /** The S3 endpoint in front of s3rver. */
  s3Url: string;
  log: AccessLog;
  stop(): Promise<void>;
}

/** Parses `$msec $request_time $status $request_method $request_uri` lines. */
export function parseWindow(text: string): Window {
  const requests: Logged[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const [msec, took, status, method, uri] = line.split(" ");
    const end = Number(msec) * 1000;
    const start = end - Number(took) * 1000;
    if (!Number.isFinite(start) || !uri) throw new Error(`unexpected access-log line "${line}"`);
    requests.push({ start, end, status: Number(status), method, uri });
  }
  const busyMs = requests.length
    ? Math.max(...requests.map((r) => r.end)) - Math.min(...requests.map((r) => r.start))
    : 0;
  return { requests, busyMs };
}

/** The bytes of `file` from `offset` to its end (a 100k-request window is ~5 MB). */
async function readFrom(file: string, offset: number): Promise<Uint8Array> {
  const f = await Deno.open(file);
  await f.seek(offset, Deno.SeekMode.Start);
  // The readable closes the file at its end.
  return new Uint8Array(await new Response(f.readable).arrayBuffer());
}

/** Starts nginx serving `httpRoot` and proxying to `s3rverEndpoint`; resolves once it answers. */
export async function startStoreProxy(
  workDir: string,
  httpRoot: string,
  s3rverEndpoint: string,
): Promise<StoreProxy> {
  const prefix = `${workDir}/refresh-nginx`;
  await Deno.mkdir(`${prefix}/tmp`, { recursive: true });
  const accessLog = `${prefix}/access.log`;
  await Deno.writeTextFile(accessLog, "");
  const [httpPort, s3Port] = [freePort(), freePort()];
  const upstream = new URL(s3rverEndpoint).host;
  // As root the master would hand the worker to "nobody", which cannot read our 0700 temp dirs.
  const user = Deno.uid() === 0 ? "user root;" : "";
  const conf = `
${user}
worker_processes 1;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 1024; }
http {
  log_format refresh '$msec $request_time $status $request_method $request_uri';
  access_log ${accessLog} refresh;
  keepalive_requests 10000000;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  types { application/json json; }
  default_type application/octet-stream;
  upstream s3rver { server ${upstream}; keepalive 32; }
  server {
    listen 127.0.0.1:${httpPort};
    location = /ready { access_log off; return 200 'ok'; }
    location / { root ${httpRoot}; }
  }
  server {
    listen 127.0.0.1:${s3Port};
    client_max_body_size 0;
    location / {
      # Host as the client signed it (s3rver 3.7.1 does not check signatures, but the SDK
      # and a real S3 would); keep-alive to s3rver, so the proxy adds no connection setup.
      proxy_set_header Host $http_host;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://s3rver;
    }
  }
}
`;
  const { proc, url } = await runNginx("nginx (store proxy)", prefix, conf, httpPort, "/ready");
  let offset = 0;
  return {
    proc,
    httpUrl: url,
    s3Url: `http://127.0.0.1:${s3Port}`,
    log: {
      async take() {
        const bytes = await readFrom(accessLog, offset);
        // Whole lines only: nginx writes each line with one write(2).
        const end = bytes.lastIndexOf(0x0a) + 1;
        offset += end;
        return parseWindow(new TextDecoder().decode(bytes.subarray(0, end)));
      },
    },
    stop: () => proc.stop(),
  };
}
