/**
 * @module
 * `/token`, the built-in token endpoint of the Docker token flow (distribution's "Token
 * Authentication Specification" for `GET`, "OAuth2 Token Authentication" for `POST`):
 *
 * - `GET /token?service=…&scope=repository:NAME:pull&account=…`, with Basic credentials
 *   or none (skopeo, podman, `docker login` with `offline_token=true`, docker pulls without
 *   a refresh token). Anonymous: a token for what `"anyone"` rules grant.
 * - `POST /token` form: `grant_type=password` (username, password: containerd first) or
 *   `grant_type=refresh_token` (docker pulls after a login that got a refresh token).
 *
 * Scopes are granted by the rules: `pull` on a repository the caller may pull, nothing
 * else (a pull-only registry grants no push; a scope not granted is simply left out, as
 * distribution's token servers do, and the registry then answers 401/403).
 * `registry:catalog:*` is always granted: `_catalog` lists only what the caller may pull.
 * Wrong credentials are 401 on both methods (containerd falls back from a POST 401 to GET,
 * which is 401 too).
 */
import { OciError } from "../oci/errors.ts";
import { json } from "../server/http.ts";
import type { RequestContext } from "../server/context.ts";
import { BASIC_CHALLENGE } from "./challenge.ts";
import { parseAuthorization } from "./credentials.ts";
import type { Users } from "./htpasswd.ts";
import type { AccessRules } from "./rules.ts";
import type { Access, Tokens } from "./token.ts";

/** What the endpoint needs, current at each request (users change on SIGHUP). */
export interface TokenDeps {
  users: Users;
  rules: AccessRules;
  tokens: Tokens;
}

/** The access `user` (undefined: anonymous) gets for the requested scopes. */
export function grantScopes(
  scopes: readonly string[],
  user: string | undefined,
  rules: AccessRules,
): Access[] {
  const out: Access[] = [];
  for (const scope of scopes) {
    // type:name:actions; a name never holds ":" but a registry host:port might: split at
    // the first and the last colon (distribution's scope grammar).
    const first = scope.indexOf(":");
    const last = scope.lastIndexOf(":");
    if (first < 0 || last === first) continue;
    const type = scope.slice(0, first);
    const name = scope.slice(first + 1, last);
    const actions = scope.slice(last + 1).split(",");
    if (type === "registry" && name === "catalog") {
      out.push({ type, name, actions: ["*"] });
    } else if (
      type === "repository" && (actions.includes("pull") || actions.includes("*")) &&
      rules.mayPull(user, name) && !out.some((a) => a.type === type && a.name === name)
    ) {
      out.push({ type, name, actions: ["pull"] });
    }
  }
  return out;
}

const oauthError = (status: number, error: string, description: string) =>
  json(status, { error, error_description: description });

const badCredentials = () =>
  new OciError("UNAUTHORIZED", "invalid username or password", undefined, {
    headers: { "WWW-Authenticate": BASIC_CHALLENGE },
  });

/** Builds the `/token` handler over the current users, rules and signer. */
export function tokenRoute(deps: () => TokenDeps) {
  async function answer(
    d: TokenDeps,
    user: string | undefined,
    scopes: string[],
    opts: { refresh: boolean; scopeField: boolean },
  ): Promise<Response> {
    const access = grantScopes(scopes, user, d.rules);
    const { token, issuedAt } = await d.tokens.issue(user ?? "", access);
    const body: Record<string, unknown> = {
      token,
      access_token: token,
      expires_in: d.tokens.ttlS,
      issued_at: issuedAt,
    };
    if (opts.refresh && user !== undefined) {
      body.refresh_token = await d.tokens.issueRefresh(user, d.users.fingerprint(user)!);
    }
    if (opts.scopeField) {
      body.scope = access.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ");
    }
    return json(200, body, { "Cache-Control": "no-store" });
  }

  async function get(c: RequestContext, d: TokenDeps): Promise<Response> {
    const q = new URLSearchParams(c.query);
    const cred = parseAuthorization(c.req.headers.get("authorization"));
    let user: string | undefined;
    if (cred.kind === "basic" && await d.users.verify(cred.user, cred.password)) user = cred.user;
    else if (cred.kind !== "none") throw badCredentials();
    c.user = user;
    const scopes = q.getAll("scope").flatMap((s) => s.split(" ")).filter(Boolean);
    return answer(d, user, scopes, {
      refresh: q.get("offline_token") === "true",
      scopeField: false,
    });
  }

  async function post(c: RequestContext, d: TokenDeps): Promise<Response> {
    const type = c.req.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return oauthError(
        400,
        "invalid_request",
        "expected an application/x-www-form-urlencoded body",
      );
    }
    const form = new URLSearchParams(await c.req.text());
    const scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
    const grant = form.get("grant_type");
    let user: string;
    let refresh = form.get("access_type") === "offline";
    if (grant === "password") {
      user = form.get("username") ?? "";
      if (!await d.users.verify(user, form.get("password") ?? "")) {
        return oauthError(401, "invalid_grant", "invalid username or password");
      }
    } else if (grant === "refresh_token") {
      const r = await d.tokens.verifyRefresh(form.get("refresh_token") ?? "");
      if (!r || d.users.fingerprint(r.sub) !== r.fp) {
        return oauthError(401, "invalid_grant", "invalid or revoked refresh token");
      }
      user = r.sub;
      refresh = false;
    } else {
      return oauthError(400, "unsupported_grant_type", `grant_type ${JSON.stringify(grant)}`);
    }
    c.user = user;
    return answer(d, user, scopes, { refresh, scopeField: true });
  }

  return function token(c: RequestContext): Promise<Response> {
    const m = c.req.method;
    if (m === "GET" || m === "HEAD") return get(c, deps());
    if (m === "POST") return post(c, deps());
    throw new OciError("UNSUPPORTED", `${m} is not supported on /token`, { method: m }, {
      headers: { Allow: "GET, HEAD, POST" },
    });
  };
}
