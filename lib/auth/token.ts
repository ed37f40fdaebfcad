/**
 * @module
 * The tokens of the Docker token flow (distribution's "Token Authentication
 * Specification" and "Token Authentication Implementation"), signed and verified with
 * jose. This server is both the token issuer and the only verifier, so the token format
 * is its own choice; it follows distribution's claims anyway (`iss`, string `aud` = the
 * service, `sub`, `exp`, `access: [{type, name, actions}]`) so the tokens read the same
 * in any JWT debugger.
 *
 * The key: without `auth.tokenKey`, a random HS256 key made per process, so tokens are
 * valid only on the process that issued them (a restart or another replica answers
 * `invalid_token`, and clients simply fetch a new one). With `auth.tokenKey` (a PEM
 * private key: EC P-256 → ES256, RSA → RS256, Ed25519 → EdDSA) every replica sharing the
 * file accepts every other's tokens, refresh tokens included.
 *
 * Refresh tokens (`offline_token=true` at `docker login`, `access_type=offline` on the
 * OAuth2 POST) are JWTs too, under another audience so neither kind passes for the other;
 * they carry a fingerprint of the user's htpasswd entry, so a changed password or a
 * removed user revokes them.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { AuthFileError } from "./htpasswd.ts";

/** The `service` of the challenge and the `aud` of access tokens. */
export const SERVICE = "static-registry";
const ISSUER = "static-registry";
const REFRESH_AUDIENCE = "static-registry/refresh";
/** Refresh tokens live long: docker keeps one as its credential (`identitytoken`). */
const REFRESH_TTL_S = 30 * 24 * 3600;
/** Replicas' clocks may differ a little (distribution allows 60 s). */
const CLOCK_TOLERANCE_S = 30;

/** One granted scope, as distribution writes it in a token. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

/** What a valid access token says: who (`""`: anonymous) and what it grants. */
export interface TokenGrant {
  sub: string;
  access: Access[];
}

export interface TokensOptions {
  /** A PEM private key file (see the module doc); absent: a per-process HS256 key. */
  keyFile?: string;
  ttlMs: number;
  /** The clock, in ms (tests move it). */
  now?: () => number;
}

type SignKey = KeyObject | Uint8Array;

/** Issues and verifies this server's tokens. */
export class Tokens {
  private constructor(
    readonly alg: string,
    readonly ttlS: number,
    readonly now: () => number,
    readonly signKey: SignKey,
    readonly verifyKey: SignKey,
  ) {}

  /** Reads the key file (AuthFileError when unusable), or makes a random key. */
  static async create(opts: TokensOptions): Promise<Tokens> {
    const ttlS = Math.max(1, Math.round(opts.ttlMs / 1000));
    const now = opts.now ?? Date.now;
    if (opts.keyFile === undefined) {
      const key = new Uint8Array(randomBytes(32));
      return new Tokens("HS256", ttlS, now, key, key);
    }
    const where = `auth.tokenKey ${JSON.stringify(opts.keyFile)}`;
    let priv: KeyObject;
    try {
      priv = createPrivateKey(await fs.readFile(opts.keyFile, "utf8"));
    } catch (e) {
      throw new AuthFileError(
        `${where}: not a readable PEM private key (${(e as Error).message})`,
        {
          cause: e,
        },
      );
    }
    const alg = algOf(priv);
    if (!alg) {
      throw new AuthFileError(
        `${where}: a ${priv.asymmetricKeyType} key; use EC P-256, RSA or Ed25519`,
      );
    }
    return new Tokens(alg, ttlS, now, priv, createPublicKey(priv));
  }

  #sign(claims: Record<string, unknown>, sub: string, aud: string, ttlS: number) {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.alg, typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + ttlS)
      .setJti(randomBytes(12).toString("base64url"))
      .sign(this.signKey);
  }

  /** A signed access token for `sub` (`""`: anonymous) granting `access`. */
  async issue(sub: string, access: Access[]): Promise<{ token: string; issuedAt: string }> {
    const issuedAt = new Date(Math.floor(this.now() / 1000) * 1000).toISOString();
    return { token: await this.#sign({ access }, sub, SERVICE, this.ttlS), issuedAt };
  }

  /** A refresh token for `sub`, bound to the fingerprint of its htpasswd entry. */
  issueRefresh(sub: string, fingerprint: string): Promise<string> {
    return this.#sign({ fp: fingerprint }, sub, REFRESH_AUDIENCE, REFRESH_TTL_S);
  }

  async #verify(token: string, audience: string) {
    try {
      const { payload } = await jwtVerify(token, this.verifyKey, {
        issuer: ISSUER,
        audience,
        algorithms: [this.alg],
        clockTolerance: CLOCK_TOLERANCE_S,
        currentDate: new Date(this.now()),
        requiredClaims: ["exp", "sub"],
      });
      return payload;
    } catch (e) {
      if (e instanceof joseErrors.JOSEError) return undefined;
      throw e;
    }
  }

  /** The grant of a valid access token; undefined when it is forged, expired or not ours. */
  async verify(token: string): Promise<TokenGrant | undefined> {
    const p = await this.#verify(token, SERVICE);
    if (!p || !Array.isArray(p.access)) return undefined;
    return { sub: p.sub as string, access: p.access as Access[] };
  }

  /** The user and fingerprint of a valid refresh token. */
  async verifyRefresh(token: string): Promise<{ sub: string; fp: string } | undefined> {
    const p = await this.#verify(token, REFRESH_AUDIENCE);
    if (!p || typeof p.fp !== "string") return undefined;
    return { sub: p.sub as string, fp: p.fp };
  }
}

function algOf(key: KeyObject): string | undefined {
  if (key.asymmetricKeyType === "rsa") return "RS256";
  if (key.asymmetricKeyType === "ed25519") return "EdDSA";
  if (key.asymmetricKeyType === "ec" && key.asymmetricKeyDetails?.namedCurve === "prime256v1") {
    return "ES256";
  }
  return undefined;
}

/** Whether `access` grants `action` on repository `name` (`*` grants every action). */
export function grants(access: readonly Access[], type: string, name: string, action: string) {
  return access.some((a) =>
    a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes("*"))
  );
}
