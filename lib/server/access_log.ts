/**
 * @module
 * The access log: one JSON line per request, in the event log's stream and shape (pino's
 * `level`, `time`, `msg`), with `method`, `path`, `status`, `bytes`, `ms`, `client`, and
 * `user`, `repo` and `origin` (the origin a 307 sent the client to) where they apply.
 *
 * ```json
 * {"level":30,"time":"2026-12-01T10:00:00.000Z","msg":"request","method":"GET","path":"/v2/app/blobs/sha256:…","status":307,"bytes":0,"ms":0.04,"client":"10.1.2.3","repo":"app","origin":"cdn-a"}
 * ```
 *
 * Health probes (`/healthz`, `/readyz`) and `/metrics` scrapes are logged at debug: a load
 * balancer probing every second would otherwise be most of the log.
 *
 * The line is formatted by hand rather than through pino: pino's per-call child
 * bindings, serializers and hooks cost a 307 more than the rest of the request. A query
 * goes through lib/oci/redact.ts (it can carry a `token=`; a path cannot hold a secret:
 * no `://` user-info, no parameters), and every string through `JSON.stringify`, so a
 * path or user name can never break the line.
 */
import type { Logger } from "../log.ts";
import type { LineSink } from "../log_sink.ts";
import { redact } from "../oci/redact.ts";
import type { RequestContext } from "./context.ts";

/** Where access lines go, and whether the probes' (debug) lines are wanted right now. */
export interface AccessLog {
  sink: LineSink;
  /** The event logger: its level decides (at each request) whether debug lines are written. */
  log: Pick<Logger, "isLevelEnabled">;
}

/** Families whose lines are debug-level. */
const PROBES = new Set(["healthz", "readyz", "metrics"]);

// The ISO time of the current millisecond, formatted once per millisecond.
let lastMs = 0;
let lastIso = "";
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/** Writes the access line of `c` (when its level is on). */
export function logRequest(
  to: AccessLog,
  c: RequestContext,
  status: number,
  bytes: number,
  ms: number,
): void {
  const probe = PROBES.has(c.family);
  if (probe && !to.log.isLevelEnabled("debug")) return;
  to.sink.buffer(accessLine(c, status, bytes, ms, probe ? 20 : 30, isoNow()));
}

/** The line itself (exported for tests). */
export function accessLine(
  c: RequestContext,
  status: number,
  bytes: number,
  ms: number,
  level: number,
  time: string,
): string {
  const target = c.query === "" ? c.path : redact(`${c.path}?${c.query}`);
  const client = c.client;
  const method = c.req.method;
  let line = `{"level":${level},"time":"${time}","msg":"request","method":${
    method === "GET" ? '"GET"' : method === "HEAD" ? '"HEAD"' : JSON.stringify(method)
  },"path":${JSON.stringify(target)},"status":${status},"bytes":${bytes},"ms":${
    Math.round(ms * 1000) / 1000
  },"client":${client === undefined ? "null" : JSON.stringify(client)}`;
  if (c.user !== undefined) line += `,"user":${JSON.stringify(c.user)}`;
  if (c.name !== "") line += `,"repo":${JSON.stringify(c.name)}`;
  if (c.origin !== undefined) line += `,"origin":${JSON.stringify(c.origin)}`;
  return line + "}\n";
}
