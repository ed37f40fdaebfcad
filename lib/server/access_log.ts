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
 * no `://` user-info, no parameters), and every string through {@link jsonString}, so a
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

/**
 * What JSON (RFC 8259 §7) must escape in a string — `"`, `\`, U+0000–U+001F — plus any
 * surrogate, which `JSON.stringify` escapes when it is unpaired (ES2019 well-formed
 * stringify). Everything else goes between quotes as it is.
 */
// deno-lint-ignore no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `s` as a JSON string, exactly as `JSON.stringify(s)` writes it. Quoted directly when
 * nothing in it needs escaping, which is every path the app routes (lib/server/path.ts
 * `requestTarget` leaves only URL characters): on Bun 1.4.4 that halves the cost of a
 * line's four strings (`bun bench/access_line_cost.ts`: a blob path ~90–200 ns through
 * `JSON.stringify`, ~45–100 ns here; a whole 307 line ~260 → ~150 ns).
 */
export function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
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
    method === "GET" ? '"GET"' : method === "HEAD" ? '"HEAD"' : jsonString(method)
  },"path":${jsonString(target)},"status":${status},"bytes":${bytes},"ms":${
    Math.round(ms * 1000) / 1000
  },"client":${client === undefined ? "null" : jsonString(client)}`;
  if (c.user !== undefined) line += `,"user":${jsonString(c.user)}`;
  if (c.name !== "") line += `,"repo":${jsonString(c.name)}`;
  if (c.origin !== undefined) line += `,"origin":${jsonString(c.origin)}`;
  return line + "}\n";
}
