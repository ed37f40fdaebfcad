/**
 * @module
 * `"metrics": {"listen": "ADDR"}`: `/metrics` on an address of its own (issue 11), so a
 * scraper reaches it on a management network while the registry's listener, open to
 * clients, answers 404 for it. Plain HTTP, no auth, no rate limit, and nothing else: any
 * other path is 404, any other method 405. Scrapes are not counted in the request metrics
 * nor written to the access log (they are not registry traffic). Started and stopped by
 * lib/cli/instance.ts with the main listener; a change of the address needs a restart,
 * like `listen`.
 */
import type { ListenAddress } from "../config/resolve.ts";
import { errors } from "../oci/errors.ts";
import { type RunningServer, serve } from "../runtime/runtime.ts";
import { noSuchEndpoint, renderError } from "../server/http.ts";
import type { Logger } from "../log.ts";

/** A bind failure of the metrics listener: the message names the config key. */
export class MetricsListenError extends Error {
  override name = "MetricsListenError";
  constructor(cause: Error) {
    super(`metrics.listen: ${cause.message}`, { cause });
  }
}

/** Serves `render()` at `/metrics` on `at`; throws {@link MetricsListenError} when it cannot bind. */
export async function serveMetrics(
  at: ListenAddress,
  render: () => Promise<Response>,
  log: Logger,
): Promise<RunningServer> {
  try {
    return await serve((req) => {
      try {
        const path = new URL(req.url).pathname;
        if (path !== "/metrics") throw noSuchEndpoint(path);
        if (req.method !== "GET" && req.method !== "HEAD") throw errors.unsupported(req.method);
        return render().then(
          (res) => req.method === "HEAD" ? new Response(null, res) : res,
          (e) => renderError(e, log),
        );
      } catch (e) {
        return renderError(e, log);
      }
    }, { hostname: at.hostname, port: at.port });
  } catch (e) {
    throw new MetricsListenError(e as Error);
  }
}

/** `http://host:port/metrics` of a running metrics listener, for the log. */
export function metricsUrl(s: RunningServer): string {
  const host = s.hostname.includes(":") ? `[${s.hostname}]` : s.hostname;
  return `http://${host}:${s.port}/metrics`;
}
