/**
 * @module
 * Small response helpers shared by the routes. Every response carries
 * `Docker-Distribution-API-Version: registry/2.0` (distribution-spec §"Determining
 * Support": clients check it on `/v2/`; distribution sends it everywhere).
 */
import { OciError } from "../oci/errors.ts";
import type { Logger } from "../log.ts";

export const API_VERSION_HEADER = "Docker-Distribution-API-Version";
export const API_VERSION = "registry/2.0";
const JSON_TYPE = "application/json";

/** A JSON response with the API version header. */
export function json(
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { [API_VERSION_HEADER]: API_VERSION, "Content-Type": JSON_TYPE, ...headers },
  });
}

/** A response without a body (redirects, HEAD answers, 304). */
export function empty(status: number, headers: Record<string, string>): Response {
  return new Response(null, { status, headers: { [API_VERSION_HEADER]: API_VERSION, ...headers } });
}

/**
 * The one error renderer: any thrown value as the spec's error body (distribution-spec
 * §"Error Codes"), with the headers the error carries (`Allow` on 405, `Content-Range`
 * on 416). An OciError keeps its status and code; anything else is a bug and becomes
 * 500 INTERNAL, logged here once. A 500 OciError (a damaged store) is logged as an error
 * too; a 503 (no healthy origin, index not loaded) only at debug: its cause is logged
 * where it is detected, and an outage must not turn every request into a log line.
 */
export function renderError(err: unknown, log: Logger): Response {
  let e: OciError;
  if (err instanceof OciError) {
    e = err;
    if (e.status === 500) log.error({ err }, e.message);
    else if (e.status > 500) log.debug({ err }, e.message);
  } else {
    log.error({ err }, "unexpected error while handling a request");
    e = new OciError("INTERNAL", "internal server error");
  }
  return json(e.status, e.toJSON(), e.headers);
}

/** 404 for a path that is no endpoint of this server. */
export function noSuchEndpoint(path: string): OciError {
  return new OciError("NAME_UNKNOWN", "no such endpoint", { path });
}
