/**
 * @module
 * `GET /v2/<name>/tags/list?n=&last=` (distribution-spec §"Listing Tags"):
 * `{"name":…,"tags":[…]}` in lexical order, paged with `Link`.
 */
import type { Registry } from "../index/registry.ts";
import { json } from "./http.ts";
import { findRepo } from "./lookup.ts";
import { paginate } from "./paging.ts";

/** Builds the tags handler. */
export function tagsRoute(registry: Registry) {
  // `inner`: the name within this store when it is mounted; the body and Link use `name`.
  return function tags(_req: Request, name: string, query: string, inner = name): Response {
    const repo = findRepo(registry, name, inner);
    const page = paginate(repo.sortedTags, query, `/v2/${name}/tags/list`);
    return json(200, { name, tags: page.items }, page.link ? { Link: page.link } : undefined);
  };
}
