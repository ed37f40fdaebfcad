/**
 * The Docker token flow through `/token` and the auth middleware: GET with Basic or
 * anonymous, the OAuth2 POST (password and refresh_token grants), and the tokens the
 * middleware refuses — expired, for another repository, signed by another key, of a
 * user the rules refuse.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { AuthFileError, parseHtpasswd, Users } from "../../lib/auth/htpasswd.ts";
import { Tokens } from "../../lib/auth/token.ts";
import { authApp, basic, bcryptLine, fetchToken } from "./fixture.ts";

const ALICE = basic("alice", "pw-a");
const BOB = basic("bob", "pw-b");
const bearer = (t: unknown) => ({ Authorization: `Bearer ${t}` });

async function status(res: Response): Promise<[number, string | null, string]> {
  const text = await res.text();
  const code = res.status >= 400 ? JSON.parse(text).errors?.[0]?.code : "";
  return [res.status, res.headers.get("www-authenticate"), code];
}

Deno.test("GET /token: alice's token pulls her repository, and only the scope it names", async () => {
  const a = await authApp();
  try {
    const t = await fetchToken(a.app, "repository:other/repo:pull,push", ALICE);
    assert.equal(t.status, 200);
    assert.equal(t.body.token, t.body.access_token);
    assert.equal(t.body.expires_in, 300);
    assert.equal(typeof t.body.issued_at, "string");
    assert.equal(t.body.refresh_token, undefined);
    const ok = await a.app.request("/v2/other/repo/manifests/v1", {
      headers: bearer(t.body.token),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    // Token for another repository: insufficient_scope, so the client asks for a new one.
    assert.deepEqual(
      await status(await a.app.request("/v2/many/tags/list", { headers: bearer(t.body.token) })),
      [
        401,
        'Bearer realm="http://localhost/token",service="static-registry",' +
        'scope="repository:many:pull",error="insufficient_scope"',
        "UNAUTHORIZED",
      ],
    );
    // Any valid token opens /v2/.
    assert.equal((await a.app.request("/v2/", { headers: bearer(t.body.token) })).status, 200);
  } finally {
    await a.cleanup();
  }
});

Deno.test("GET /token: anonymous gets what anyone may pull, no more", async () => {
  const a = await authApp();
  try {
    const pub = await fetchToken(a.app, "repository:library/alpine:pull");
    assert.equal(pub.status, 200);
    const r = await a.app.request("/v2/library/alpine/manifests/3.20", {
      headers: bearer(pub.body.token),
    });
    assert.equal(r.status, 200);
    await r.body?.cancel();
    const priv = await fetchToken(a.app, "repository:other/repo:pull");
    assert.equal(priv.status, 200, "a scope not granted is left out, not refused");
    const [s, h] = await status(
      await a.app.request("/v2/other/repo/manifests/v1", { headers: bearer(priv.body.token) }),
    );
    assert.equal(s, 401);
    assert.match(h ?? "", /error="insufficient_scope"/);
  } finally {
    await a.cleanup();
  }
});

Deno.test("GET /token: wrong credentials are 401 with a Basic challenge", async () => {
  const a = await authApp();
  try {
    const t = await fetchToken(a.app, "repository:other/repo:pull", basic("alice", "x"));
    assert.equal(t.status, 401);
  } finally {
    await a.cleanup();
  }
});

Deno.test("a user the rules refuse gets 403 with a token too", async () => {
  const a = await authApp();
  try {
    const t = await fetchToken(a.app, "repository:other/repo:pull", BOB);
    const res = await a.app.request("/v2/other/repo/manifests/v1", {
      headers: bearer(t.body.token),
    });
    assert.deepEqual(await status(res), [403, null, "DENIED"]);
  } finally {
    await a.cleanup();
  }
});

Deno.test("an expired token is 401 invalid_token", async () => {
  const a = await authApp();
  try {
    const t = await fetchToken(a.app, "repository:other/repo:pull", ALICE);
    a.clock.t += 299_000;
    const ok = await a.app.request("/v2/other/repo/manifests/v1", {
      headers: bearer(t.body.token),
    });
    assert.equal(ok.status, 200, "still valid just before expiry");
    await ok.body?.cancel();
    a.clock.t += 40_000; // past exp + the 30 s tolerance
    const [s, h, code] = await status(
      await a.app.request("/v2/other/repo/manifests/v1", { headers: bearer(t.body.token) }),
    );
    assert.deepEqual([s, code], [401, "UNAUTHORIZED"]);
    assert.match(h ?? "", /error="invalid_token"/);
  } finally {
    await a.cleanup();
  }
});

Deno.test("a token signed by another key, or garbage, is 401 invalid_token", async () => {
  const a = await authApp();
  try {
    const other = await Tokens.create({ ttlMs: 300_000, now: a.clock.now });
    const { token } = await other.issue("alice", [
      { type: "repository", name: "other/repo", actions: ["pull"] },
    ]);
    for (const t of [token, "not.a.jwt", token.slice(0, -4) + "AAAA"]) {
      const [s, h] = await status(
        await a.app.request("/v2/other/repo/manifests/v1", { headers: bearer(t) }),
      );
      assert.equal(s, 401, t);
      assert.match(h ?? "", /error="invalid_token"/);
    }
  } finally {
    await a.cleanup();
  }
});

function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  };
}

Deno.test("POST /token: password grant, refresh token, refresh grant; bad grants refused", async () => {
  const a = await authApp();
  try {
    const scope = "repository:other/repo:pull";
    const res = await a.app.request(
      "/token",
      form({
        grant_type: "password",
        username: "alice",
        password: "pw-a",
        client_id: "containerd-client",
        service: "static-registry",
        access_type: "offline",
        scope,
      }),
    );
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.scope, scope);
    assert.equal(typeof body.refresh_token, "string");
    // A refresh token is no access token.
    const [s] = await status(
      await a.app.request("/v2/other/repo/manifests/v1", { headers: bearer(body.refresh_token) }),
    );
    assert.equal(s, 401);
    const r2 = await a.app.request(
      "/token",
      form({
        grant_type: "refresh_token",
        refresh_token: body.refresh_token,
        client_id: "docker",
        service: "static-registry",
        scope,
      }),
    );
    assert.equal(r2.status, 200);
    const t2 = (await r2.json()).access_token;
    const ok = await a.app.request("/v2/other/repo/manifests/v1", { headers: bearer(t2) });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    // An access token is no refresh token.
    const r3 = await a.app.request(
      "/token",
      form({ grant_type: "refresh_token", refresh_token: t2 }),
    );
    assert.equal(r3.status, 401);
    await r3.body?.cancel();
    const wrong = await a.app.request(
      "/token",
      form({
        grant_type: "password",
        username: "alice",
        password: "x",
      }),
    );
    assert.equal(wrong.status, 401);
    assert.equal((await wrong.json()).error, "invalid_grant");
    const odd = await a.app.request("/token", form({ grant_type: "client_credentials" }));
    assert.equal(odd.status, 400);
    assert.equal((await odd.json()).error, "unsupported_grant_type");
  } finally {
    await a.cleanup();
  }
});

Deno.test("GET /token?offline_token=true (docker login) returns a refresh token for a user only", async () => {
  const a = await authApp();
  try {
    const res = await a.app.request(
      "/token?account=alice&client_id=docker&offline_token=true&service=static-registry",
      {
        headers: { Authorization: ALICE },
      },
    );
    assert.equal(typeof (await res.json()).refresh_token, "string");
    const anon = await a.app.request("/token?offline_token=true&service=static-registry");
    assert.equal((await anon.json()).refresh_token, undefined);
  } finally {
    await a.cleanup();
  }
});

Deno.test("Tokens with a shared key file: replicas accept each other's tokens", async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "sr-tokenkey-"));
  try {
    const key = path.join(dir, "key.pem");
    execFileSync("openssl", [
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      key,
    ]);
    const one = await Tokens.create({ keyFile: key, ttlMs: 60_000 });
    const two = await Tokens.create({ keyFile: key, ttlMs: 60_000 });
    assert.equal(one.alg, "ES256");
    const { token } = await one.issue("alice", []);
    assert.equal((await two.verify(token))?.sub, "alice");
    const random = await Tokens.create({ ttlMs: 60_000 });
    assert.equal(await random.verify(token), undefined);
    await fs.writeFile(path.join(dir, "bad.pem"), "not a key");
    await assert.rejects(
      Tokens.create({ keyFile: path.join(dir, "bad.pem"), ttlMs: 1000 }),
      (e: Error) => e instanceof AuthFileError && /auth\.tokenKey ".*bad\.pem"/.test(e.message),
    );
  } finally {
    await fs.rm(dir, { recursive: true });
  }
});

Deno.test("a refresh token dies with a changed password", async () => {
  const a = await authApp();
  try {
    const res = await a.app.request("/token?offline_token=true&service=static-registry", {
      headers: { Authorization: ALICE },
    });
    const { refresh_token } = await res.json();
    const refresh = () =>
      a.app.request("/token", form({ grant_type: "refresh_token", refresh_token }));
    const ok = await refresh();
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    // What a SIGHUP with a new htpasswd file does: new users in the state.
    (a.state as { users: Users }).users = new Users(
      parseHtpasswd(`${bcryptLine("alice", "new-pw")}\n${bcryptLine("bob", "pw-b")}`, "f"),
    );
    const gone = await refresh();
    assert.equal(gone.status, 401);
    await gone.body?.cancel();
  } finally {
    await a.cleanup();
  }
});
