/**
 * @module
 * `GET /v2/_catalog?n=&last=` (distribution's catalog API, paged like tags):
 * `{"repositories":[…]}` in lexical order.
 */
import { errors } from "../oci/errors.ts";
import type { Registry } from "../index/registry.ts";
import { json } from "./http.ts";
import { paginate } from "./paging.ts";

/** Builds the catalog handler. */
export function catalogRoute(registry: Registry) {
  return function catalog(_req: Request, query: string): Response {
    if (!registry.ready) throw errors.unavailable("the index is not loaded yet");
    const page = paginate(registry.repositories(), query, "/v2/_catalog");
    return json(200, { repositories: page.items }, page.link ? { Link: page.link } : undefined);
  };
}
