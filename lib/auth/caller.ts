/**
 * @module
 * Who sent a request: anonymous, a user by Basic credentials, or the holder of one of our
 * tokens. Both credential kinds are accepted whatever `auth.scheme` says (the scheme only
 * picks the challenge). Wrong credentials are never downgraded to anonymous: a client
 * that sent a password must hear that it is wrong.
 */
import { parseAuthorization } from "./credentials.ts";
import type { Users } from "./htpasswd.ts";
import type { Access, Tokens } from "./token.ts";

export type Caller =
  | { kind: "anonymous" }
  | { kind: "user"; user: string }
  /** `sub` is `""` for a token issued to an anonymous caller. */
  | { kind: "token"; sub: string; access: Access[] }
  | { kind: "invalid"; what: "credentials" | "token" };

const ANONYMOUS: Caller = { kind: "anonymous" };
const BAD_CREDENTIALS: Caller = { kind: "invalid", what: "credentials" };
const BAD_TOKEN: Caller = { kind: "invalid", what: "token" };

/** What {@link identify} needs: the current users and the token verifier. */
export interface Identities {
  users: Users;
  tokens: Tokens;
}

/**
 * The caller of a request. Synchronous for the common cases — no header, a Basic pair
 * verified recently (the bcrypt cache) — so a blob 307 stays promise-free; a first
 * bcrypt check or a token verification is a promise.
 */
export function identify(
  header: string | null,
  ids: Identities,
): Caller | Promise<Caller> {
  // The fast path of every request after the first: a Basic credential seen recently.
  if (header !== null && header.length > 6 && /^basic $/i.test(header.slice(0, 6))) {
    const user = ids.users.cachedBasic(header.slice(6));
    if (user !== undefined) return { kind: "user", user };
  }
  const cred = parseAuthorization(header);
  switch (cred.kind) {
    case "none":
      return ANONYMOUS;
    case "malformed":
      return BAD_CREDENTIALS;
    case "basic": {
      const { user, password } = cred;
      return ids.users.verify(user, password).then((ok) => {
        if (!ok) return BAD_CREDENTIALS;
        ids.users.rememberBasic(header!.slice(6), user);
        return { kind: "user", user };
      });
    }
    case "bearer":
      return ids.tokens.verify(cred.token).then((g) =>
        // A user removed from the htpasswd file loses its unexpired tokens too.
        g && (g.sub === "" || ids.users.has(g.sub))
          ? { kind: "token", sub: g.sub, access: g.access }
          : BAD_TOKEN
      );
  }
}

/** The user name a caller acts as (`undefined`: anonymous or invalid). */
export function userOf(caller: Caller): string | undefined {
  if (caller.kind === "user") return caller.user;
  if (caller.kind === "token" && caller.sub !== "") return caller.sub;
  return undefined;
}
