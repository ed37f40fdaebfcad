/**
 * @module
 * wrk (Debian's, 4.1) as the load generator of the reliability tests: a Lua script cycles
 * through given GET paths on every keep-alive connection and tallies what came back (200,
 * 307 with a `Location` under the expected origin, anything else), and `done()` prints one
 * `RESULT {...}` JSON line with wrk's own error counters (connect, read, write, timeout,
 * non-2xx/3xx). wrk runs with its open-file limit raised for thousands of connections.
 */
import * as path from "node:path";
import { run } from "../helpers/process.ts";

/** What one wrk run measured. */
export interface WrkResult {
  requests: number;
  seconds: number;
  /** Responses by kind, from the Lua tallies. */
  ok200: number;
  redirect307: number;
  /** 307s whose Location is not under `locationPrefix`. */
  badLocation: number;
  other: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  latencyMs: { p50: number; p99: number; max: number };
  stdout: string;
}

function lua(paths: string[], locationPrefix: string): string {
  const list = paths.map((p) => `  ${JSON.stringify(p)},`).join("\n");
  return `
local paths = {
${list}
}
local prefix = ${JSON.stringify(locationPrefix)}
local accept = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
local threads = {}
i, ok200, redirect307, badLocation, other = 0, 0, 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  i = math.random(#paths)
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], { ["Accept"] = accept })
end

function response(status, headers, body)
  if status == 200 then
    ok200 = ok200 + 1
  elseif status == 307 then
    redirect307 = redirect307 + 1
    local loc = headers["Location"] or headers["location"] or ""
    if loc:sub(1, #prefix) ~= prefix then badLocation = badLocation + 1 end
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local t = { ok200 = 0, redirect307 = 0, badLocation = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + thread:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"us":%d,"ok200":%d,"redirect307":%d,"badLocation":%d,"other":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, t.ok200, t.redirect307, t.badLocation, t.other,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;
}

/**
 * Runs `wrk -t THREADS -c CONNECTIONS -d SECONDS` against `url` with the paths cycled on
 * every connection. Throws when wrk fails to run or prints no RESULT line.
 */
export async function runWrk(opts: {
  url: string;
  paths: string[];
  locationPrefix: string;
  connections: number;
  seconds: number;
  threads?: number;
  dir: string;
}): Promise<WrkResult> {
  const script = path.join(opts.dir, "load.lua");
  await Deno.writeTextFile(script, lua(opts.paths, opts.locationPrefix));
  const fds = opts.connections + 1024;
  const args = [
    `-t${opts.threads ?? 2}`,
    `-c${opts.connections}`,
    `-d${opts.seconds}s`,
    "--timeout",
    "10s",
    "-s",
    script,
    opts.url,
  ];
  // wrk needs one descriptor per connection: raise the soft limit (up to the hard one).
  const sh = `ulimit -n ${fds} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec wrk "$@"`;
  const r = await run("bash", ["-c", sh, "wrk", ...args], {
    timeoutMs: (opts.seconds + 60) * 1000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (r.code !== 0 || !line) {
    throw new Error(`wrk ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  }
  const j = JSON.parse(line.slice("RESULT ".length));
  return {
    requests: j.requests,
    seconds: j.us / 1e6,
    ok200: j.ok200,
    redirect307: j.redirect307,
    badLocation: j.badLocation,
    other: j.other,
    errors: {
      connect: j.connect,
      read: j.read,
      write: j.write,
      timeout: j.timeout,
      status: j.status,
    },
    latencyMs: { p50: j.p50 / 1000, p99: j.p99 / 1000, max: j.max / 1000 },
    stdout: r.stdout,
  };
}
