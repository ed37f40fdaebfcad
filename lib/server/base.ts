/**
 * @module
 * `GET|HEAD /v2/`: distribution-spec §"Determining Support" — 200 means the registry
 * implements the API; clients read the `Docker-Distribution-API-Version` header.
 */
import type { RequestContext } from "./context.ts";
import { json } from "./http.ts";

/** Answers the API version check. */
export function base(_c: RequestContext): Response {
  return json(200, {});
}
