/**
 * @module
 * `GET /v2/<name>/tags/list?n=&last=` (distribution-spec §"Listing Tags"):
 * `{"name":…,"tags":[…]}` in lexical order, paged with `Link`.
 */
import type { RequestContext } from "./context.ts";
import { json } from "./http.ts";
import { withRepo } from "./lookup.ts";
import { paginate } from "./paging.ts";

/** The tags handler. Under a mount, the body and Link use the client's name (`c.name`). */
export function tags(c: RequestContext): Response | Promise<Response> {
  return withRepo(c, (repo) => {
    const page = paginate(repo.sortedTags, c.query, `/v2/${c.name}/tags/list`);
    return json(
      200,
      { name: c.name, tags: page.items },
      page.link ? { Link: page.link } : undefined,
    );
  });
}
