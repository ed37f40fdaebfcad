/**
 * @module
 * Pull access control as a server middleware (lib/server/context.ts `Middleware`), and
 * the `/token` endpoint it serves itself (the endpoint exists only when `auth` is
 * configured, so it is not a row of the route table).
 *
 * Per family (lib/server/routes.ts):
 * - `healthz`, `readyz`, `metrics`, `v1`: open (probes and scrapers carry no credentials;
 *   `/metrics` holds counts, no names; `/v1/...` redirects to another origin).
 * - `base` (`/v2/`): 401 with the challenge for an anonymous caller, so `docker login`
 *   sends its credentials and learns whether they are right; 200 for a known one.
 * - `catalog`: never 401 for anonymous; lists only what the caller may pull (`c.mayPull`).
 * - every `/v2/<name>/...` family: the rules decide from the name alone, before any
 *   route code runs — so a refusal is the same whether the repository exists or not, and
 *   even the name grammar (400) is told only to callers who may pull the name. Anonymous:
 *   401 with the challenge and the scope. A known user the rules refuse: 403 DENIED. A
 *   token without this repository's scope: 401 `error="insufficient_scope"` so the client
 *   fetches one (distribution does the same).
 * - wrong credentials anywhere but the open families: 401 (`error="invalid_token"` for a
 *   bad token), never a silent downgrade to anonymous.
 *
 * The user is put on the context (`c.user`) for the access log. Credentials are never
 * logged and never reach a redirect: the 307 Location is the origin's URL alone.
 */
import type { Middleware, Reply, RequestContext } from "../server/context.ts";
import { denied, unauthorized } from "./challenge.ts";
import { type Caller, identify, userOf } from "./caller.ts";
import type { Users } from "./htpasswd.ts";
import type { AccessRules } from "./rules.ts";
import { grants, type Tokens } from "./token.ts";
import { tokenRoute } from "./token_route.ts";

/** What the middleware runs with; a SIGHUP builds a new one (new users, same tokens). */
export interface AuthState {
  readonly scheme: "bearer" | "basic";
  readonly users: Users;
  readonly rules: AccessRules;
  readonly tokens: Tokens;
}

/** The families that name a repository. */
const NAMED = new Set(["manifests", "blobs", "tags", "referrers", "uploads"]);
/** The families open to everyone, credentials or not. */
const OPEN = new Set(["healthz", "readyz", "metrics", "v1"]);

/** Builds the auth middleware over `state` (read at each request: it may be swapped). */
export function authMiddleware(state: () => AuthState): Middleware {
  const token = tokenRoute(state);

  function decide(c: RequestContext, s: AuthState, caller: Caller, next: () => Reply): Reply {
    if (caller.kind === "invalid") {
      throw unauthorized(c, s.scheme, {
        error: caller.what === "token" ? "invalid_token" : undefined,
        message: caller.what === "token" ? "invalid token" : "invalid username or password",
      });
    }
    const user = userOf(caller);
    c.user = user;
    if (c.family === "base") {
      if (caller.kind === "anonymous") throw unauthorized(c, s.scheme);
      return next();
    }
    if (c.family === "catalog") {
      c.mayPull = (name) => s.rules.mayPull(user, name);
      return next();
    }
    if (!NAMED.has(c.family)) return next();
    const name = c.name;
    const allowed = s.rules.mayPull(user, name);
    if (caller.kind === "token") {
      if (allowed && grants(caller.access, "repository", name, "pull")) return next();
      if (user !== undefined && !allowed) throw denied(name);
      throw unauthorized(c, s.scheme, { name, error: "insufficient_scope" });
    }
    if (allowed) return next();
    if (user === undefined) throw unauthorized(c, s.scheme, { name });
    throw denied(name);
  }

  return function auth(c: RequestContext, next: () => Reply): Reply {
    if (OPEN.has(c.family)) return next();
    if (c.family === "other") return c.path === "/token" ? token(c) : next();
    const s = state();
    const caller = identify(c.req.headers.get("authorization"), s);
    return caller instanceof Promise
      ? caller.then((k) => decide(c, s, k, next))
      : decide(c, s, caller, next);
  };
}
