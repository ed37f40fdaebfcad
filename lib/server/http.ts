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

const encoder = new TextEncoder();

/**
 * A JSON response with the API version header and its `Content-Length` (which the
 * access log and the bytes metric read: lib/server/observe.ts).
 */
export function json(
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): Response {
  return text(status, JSON.stringify(body), JSON_TYPE, headers);
}

/** A text response (`/metrics`, JSON) with the API version header and its `Content-Length`. */
export function text(
  status: number,
  body: string,
  contentType: string,
  headers?: Readonly<Record<string, string>>,
): Response {
  const bytes = encoder.encode(body);
  return new Response(bytes, {
    status,
    headers: {
      [API_VERSION_HEADER]: API_VERSION,
      "Content-Type": contentType,
      "Content-Length": String(bytes.length),
      ...headers,
    },
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
 *
 * A 500's body is always the generic {@link INTERNAL_BODY}: what went wrong in the store
 * (its location, a file path, sizes) is for the operator's log, never for the client
 * (issue 9: a damaged manifest's 500 showed the server's directory).
 */
export function renderError(err: unknown, log: Logger): Response {
  if (!(err instanceof OciError)) {
    log.error({ err }, "unexpected error while handling a request");
    return json(500, INTERNAL_BODY);
  }
  if (err.status === 500) {
    log.error({ err }, err.message);
    return json(500, INTERNAL_BODY, err.headers);
  }
  if (err.status > 500) log.debug({ err }, err.message);
  return json(err.status, err.toJSON(), err.headers);
}

/** The body of every 500: the spec's error shape, nothing about the server. */
const INTERNAL_BODY = new OciError("INTERNAL", "internal server error").toJSON();

/** 404 for a path that is no endpoint of this server. */
export function noSuchEndpoint(path: string): OciError {
  return new OciError("NAME_UNKNOWN", "no such endpoint", { path });
}
