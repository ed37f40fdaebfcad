/**
 * @module
 * The 401/403 answers of pull access control and the `WWW-Authenticate` challenge a 401
 * carries (RFC 9110 §11.6.1; distribution's token spec §"How to authenticate").
 *
 * Real clients need (../shared/reference/tls-auth/README.md parts 3-4): a Basic challenge
 * on every 401 (any realm); for Bearer, a QUOTED absolute `realm` URL and the `service`
 * (clients echo it to the token endpoint and never invent one). The realm is built from
 * the request's own scheme and Host, so whatever name the client used reaches the token
 * endpoint on the same server; behind a trusted proxy, `X-Forwarded-Proto`/`-Host` say
 * what the client used instead.
 */
import { OciError } from "../oci/errors.ts";
import type { RequestContext } from "../server/context.ts";
import { SERVICE } from "./token.ts";

export const BASIC_CHALLENGE = 'Basic realm="static-registry"';

/** `scheme://host` as the client sees this server. */
export function publicOrigin(c: RequestContext): string {
  const url = new URL(c.req.url);
  let proto = url.protocol.slice(0, -1);
  let host = c.req.headers.get("host") ?? url.host;
  if (c.viaTrustedProxy) {
    const p = c.req.headers.get("x-forwarded-proto")?.split(",")[0].trim().toLowerCase();
    if (p === "http" || p === "https") proto = p;
    const h = c.req.headers.get("x-forwarded-host")?.split(",")[0].trim();
    if (h && /^[A-Za-z0-9.:[\]-]+$/.test(h)) host = h;
  }
  return `${proto}://${host}`;
}

/** The challenge for `scheme`, naming the scope wanted and, for Bearer, the error. */
export function challenge(
  c: RequestContext,
  scheme: "bearer" | "basic",
  scope?: string,
  error?: "invalid_token" | "insufficient_scope",
): string {
  if (scheme === "basic") return BASIC_CHALLENGE;
  let h = `Bearer realm="${publicOrigin(c)}/token",service="${SERVICE}"`;
  if (scope) h += `,scope="${scope}"`;
  if (error) h += `,error="${error}"`;
  return h;
}

/** The scope of a pull of `name`. */
export const pullScope = (name: string) => `repository:${name}:pull`;

/** 401 UNAUTHORIZED with the challenge (distribution's body: the access wanted as detail). */
export function unauthorized(
  c: RequestContext,
  scheme: "bearer" | "basic",
  opts: { name?: string; error?: "invalid_token" | "insufficient_scope"; message?: string } = {},
): OciError {
  const detail = opts.name === undefined
    ? undefined
    : [{ Type: "repository", Class: "", Name: opts.name, Action: "pull" }];
  return new OciError(
    "UNAUTHORIZED",
    opts.message ?? "authentication required",
    detail,
    {
      headers: {
        "WWW-Authenticate": challenge(
          c,
          scheme,
          opts.name === undefined ? undefined : pullScope(opts.name),
          opts.error,
        ),
      },
    },
  );
}

/** 403 DENIED: the caller is known and may not pull `name`. */
export function denied(name: string): OciError {
  return new OciError("DENIED", "requested access to the resource is denied", [
    { Type: "repository", Class: "", Name: name, Action: "pull" },
  ]);
}
