/**
 * @module
 * A Docker token server (the `realm` of distribution's `auth: token:`) for the sync tests,
 * on 127.0.0.1, with what CNCF distribution 2.8 accepts (see the shared tls-auth recipe's
 * JWT table): RS256 signed by a key whose self-signed certificate is distribution's
 * `rootcertbundle`, found through an `x5c` header holding that certificate; string `iss`
 * and `aud` (= service), `exp`, and `access` = the scope asked for, granted to one user
 * (Basic credentials) and refused (401) to anyone else. Every token request is recorded.
 */
import { importPKCS8, SignJWT } from "jose";
import { runOk } from "../helpers/process.ts";

export interface TokenServer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The certificate file distribution trusts (`rootcertbundle`). */
  readonly bundle: string;
  /** Scopes asked for, in order, with the user who asked ("" anonymous). */
  readonly requests: { user: string; scope: string }[];
  /** distribution's `auth:` section for this server. */
  authConfig(): Record<string, unknown>;
  /** A token for `scope` (e.g. `repository:src/app:pull,push`), to push test images. */
  token(scope: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts the server with key material made in `dir`; only `user`:`password` gets tokens. */
export async function startTokenServer(
  dir: string,
  user: string,
  password: string,
): Promise<TokenServer> {
  const key = `${dir}/token.key`;
  const cert = `${dir}/token.pem`;
  await runOk("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "1",
    "-subj",
    "/CN=sync test token signer",
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  const pk = await importPKCS8(await Deno.readTextFile(key), "RS256");
  const der = (await Deno.readTextFile(cert)).replace(/-----[^-]+-----|\s/g, "");
  const service = "sync-test-registry";
  const issuer = "sync-test-issuer";
  const requests: { user: string; scope: string }[] = [];
  const sign = (scope: string) => {
    const [type, name, actions] = scope.split(":");
    return new SignJWT({ access: [{ type, name, actions: actions.split(",") }] })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", x5c: [der] })
      .setIssuer(issuer)
      .setAudience(service)
      .setSubject(user)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(pk);
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const scope = url.searchParams.get("scope") ?? "";
    const basic = req.headers.get("authorization")?.replace(/^Basic /, "");
    const [u, p] = basic ? atob(basic).split(":") : ["", ""];
    requests.push({ user: u, scope });
    if (u !== user || p !== password) return new Response("bad credentials\n", { status: 401 });
    if (!/^repository:[^:]+:[a-z,]+$/.test(scope)) {
      return new Response(`bad scope ${scope}\n`, { status: 400 });
    }
    return Response.json({ token: await sign(scope) });
  });
  const realm = `http://127.0.0.1:${server.addr.port}/token`;
  return {
    realm,
    service,
    issuer,
    bundle: cert,
    requests,
    authConfig: () => ({ token: { realm, service, issuer, rootcertbundle: cert } }),
    token: sign,
    close: () => server.shutdown(),
  };
}
