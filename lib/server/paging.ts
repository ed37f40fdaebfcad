/**
 * @module
 * `n`/`last` pagination shared by tags and catalog (distribution-spec §"Listing Tags",
 * distribution's `_catalog`): lexical order, up to `n` items after `last`, and a
 * `Link: <url?n=N&last=X>; rel="next"` header while more remain.
 */
import { errors } from "../oci/errors.ts";
import { pageAfter } from "../index/repo.ts";

/** The most items one page holds, whatever `n` asks: a huge `n` must not allocate. */
export const MAX_PAGE = 10_000;

export interface Page {
  items: readonly string[];
  /** The `Link` header, when more items remain. */
  link?: string;
}

/**
 * One page of `sorted` for the query string `query`, linking to `basePath`. Without `n`
 * every item after `last` is returned (what clients that do not page expect).
 * `n` that is not a non-negative integer → 400 PAGINATION_NUMBER_INVALID.
 */
export function paginate(sorted: readonly string[], query: string, basePath: string): Page {
  if (query === "") return { items: sorted };
  const params = new URLSearchParams(query);
  const rawN = params.get("n");
  const last = params.get("last") ?? undefined;
  if (rawN === null) {
    return last === undefined ? { items: sorted } : pageAfter(sorted, last, sorted.length);
  }
  if (!/^\d+$/.test(rawN)) {
    throw errors.paginationInvalid(`n must be a non-negative integer, got ${JSON.stringify(rawN)}`);
  }
  const n = Math.min(Number(rawN), MAX_PAGE);
  const { items, more } = pageAfter(sorted, last, n);
  if (!more || items.length === 0) return { items };
  const next = encodeURIComponent(items[items.length - 1]);
  return { items, link: `<${basePath}?n=${n}&last=${next}>; rel="next"` };
}
