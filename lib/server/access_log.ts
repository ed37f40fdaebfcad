/**
 * @module
 * The access log: one JSON line per request through the program's logger (pino, so every
 * line is redacted on its way out, lib/log.ts), message `request`, with exactly these
 * fields:
 *
 * | key      | what                                                                    |
 * | -------- | ----------------------------------------------------------------------- |
 * | `method` | the request method                                                      |
 * | `path`   | the raw request path, percent-encoding intact, never the query string   |
 * | `status` | the status sent (401 and 429 from auth and the rate limit included)     |
 * | `bytes`  | body bytes sent: the Content-Length, or counted as sent for a stream    |
 * | `ms`     | milliseconds until the status and headers were ready                    |
 * | `client` | the client's address, the one behind a trusted proxy when there is one  |
 * | `user`   | the authenticated user, when there is one                               |
 * | `repo`   | the repository name as the client sent it, for `/v2/<name>/...` paths   |
 * | `origin` | the origin's name, for a blob 307                                       |
 *
 * The query is left out: a `/token?...` request may carry a refresh token in it, and a
 * catalog page's `last=` says nothing the path does not. Health probes (`/healthz`,
 * `/readyz`, `/metrics`) are logged at debug: a load balancer polling every second would
 * otherwise be most of the log.
 */
import type { Logger } from "../log.ts";
import type { RequestContext } from "./context.ts";

/** The families of health probes and scrapes, logged at debug. */
const PROBES: ReadonlySet<string> = new Set(["healthz", "readyz", "metrics"]);

/** One access-log line's fields. */
export interface AccessLine {
  method: string;
  path: string;
  status: number;
  bytes: number;
  ms: number;
  client: string | undefined;
  user?: string;
  repo?: string;
  origin?: string;
}

/** The fields of the line for a request answered with `status`. */
export function accessLine(
  c: RequestContext,
  status: number,
  bytes: number,
  ms: number,
): AccessLine {
  const line: AccessLine = {
    method: c.req.method,
    path: c.path,
    status,
    bytes,
    // Microseconds are noise at this scale; three decimals keep sub-millisecond 307s apart.
    ms: Math.round(ms * 1000) / 1000,
    client: c.client,
  };
  if (c.user !== undefined) line.user = c.user;
  if (c.name !== "") line.repo = c.name;
  if (c.origin !== undefined) line.origin = c.origin;
  return line;
}

/** Writes access-log lines to `log`: probes at debug, everything else at info. */
export class AccessLog {
  constructor(private readonly log: Logger) {}

  write(c: RequestContext, status: number, bytes: number, ms: number): void {
    if (PROBES.has(c.family)) {
      // Checked first: the line (and the client address) is not built when not written.
      if (this.log.isLevelEnabled("debug")) {
        this.log.debug(accessLine(c, status, bytes, ms), "request");
      }
      return;
    }
    this.log.info(accessLine(c, status, bytes, ms), "request");
  }
}
