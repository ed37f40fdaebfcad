/**
 * authMiddleware(): the pull access-control matrix over `app.request`, for both
 * challenge schemes: anonymous on public / on private, wrong password, right user wrong
 * prefix, the same answer for existing and missing repositories, tokens (expired, for
 * another repository, signed by another key), catalog filtering, the open families.
 */
import assert from "node:assert/strict";
import type { Middleware } from "../../lib/server/app.ts";
import { onResponse } from "../../lib/server/middleware.ts";
import { type Case, runCases } from "../server/harness.ts";
import { authApp, basic } from "./fixture.ts";

const ALICE = basic("alice", "pw-a");
const BOB = basic("bob", "pw-b");
const WRONG = basic("alice", "nope");
const BEARER_BASE = 'Bearer realm="http://localhost/token",service="static-registry"';
const bearerFor = (name: string, error?: string) =>
  `${BEARER_BASE},scope="repository:${name}:pull"${error ? `,error="${error}"` : ""}`;
const BASIC = 'Basic realm="static-registry"';

function matrix(scheme: "bearer" | "basic"): Case[] {
  const ch = (name?: string) => scheme === "basic" ? BASIC : name ? bearerFor(name) : BEARER_BASE;
  return [
    {
      description: "anonymous /v2/: 401 with the challenge (docker login needs it)",
      url: "/v2/",
      status: 401,
      wantCode: "UNAUTHORIZED",
      wantHeaders: { "www-authenticate": ch() },
    },
    { description: "alice /v2/: 200", url: "/v2/", headers: { Authorization: ALICE }, status: 200 },
    {
      description: "wrong password /v2/: 401",
      url: "/v2/",
      headers: { Authorization: WRONG },
      status: 401,
      wantCode: "UNAUTHORIZED",
      wantHeaders: { "www-authenticate": ch() },
    },
    {
      description: "unknown user: 401 like a wrong password",
      url: "/v2/library/alpine/manifests/3.20",
      headers: { Authorization: basic("mallory", "pw-a") },
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "a header that is no credential is no anonymous request: 401",
      url: "/v2/library/alpine/manifests/3.20",
      headers: { Authorization: "Basic !!!" },
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "anonymous on a public prefix: 200",
      url: "/v2/library/alpine/manifests/3.20",
      status: 200,
    },
    {
      description: "anonymous on a private prefix: 401 with the scope",
      url: "/v2/other/repo/manifests/v1",
      status: 401,
      wantCode: "UNAUTHORIZED",
      wantHeaders: { "www-authenticate": ch("other/repo") },
    },
    {
      description: "anonymous on a missing repository of a private prefix: the same 401",
      url: "/v2/other/missing/manifests/v1",
      status: 401,
      wantCode: "UNAUTHORIZED",
      wantHeaders: { "www-authenticate": ch("other/missing") },
    },
    {
      description: "anonymous on a name no rule but the default covers: 401",
      url: "/v2/many/tags/list",
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "anonymous, bad name under a private prefix: 401 before the grammar",
      url: "/v2/other/UPPER/manifests/v1",
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "anonymous, bad name under a public prefix: the grammar's 400",
      url: "/v2/library/UPPER/manifests/v1",
      status: 400,
      wantCode: "NAME_INVALID",
    },
    {
      description: "wrong password on a public prefix: 401, never downgraded to anonymous",
      url: "/v2/library/alpine/manifests/3.20",
      headers: { Authorization: WRONG },
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "alice on her prefix: 200",
      url: "/v2/other/repo/manifests/v1",
      headers: { Authorization: ALICE },
      status: 200,
    },
    {
      description: "alice on her missing repository: the store's 404",
      url: "/v2/other/missing/manifests/v1",
      headers: { Authorization: ALICE },
      status: 404,
      wantCode: "NAME_UNKNOWN",
    },
    {
      description: "bob (right user, wrong prefix): 403 DENIED",
      url: "/v2/other/repo/manifests/v1",
      headers: { Authorization: BOB },
      status: 403,
      wantCode: "DENIED",
      wantHeaders: { "www-authenticate": null },
    },
    {
      description: "bob on a missing repository of that prefix: the same 403",
      url: "/v2/other/missing/manifests/v1",
      headers: { Authorization: BOB },
      status: 403,
      wantCode: "DENIED",
    },
    {
      description: "bob on an authenticated prefix: 200",
      url: "/v2/many/tags/list",
      headers: { Authorization: BOB },
      status: 200,
    },
    {
      description: "referrers of a private repository: 401 anonymous",
      url: "/v2/other/repo/referrers/sha256:" + "0".repeat(64),
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    {
      description: "catalog, anonymous: only what anyone may pull",
      url: "/v2/_catalog",
      status: 200,
      wantBody: { repositories: ["library/alpine"] },
    },
    {
      description: "catalog, bob: the public and the authenticated ones",
      url: "/v2/_catalog",
      headers: { Authorization: BOB },
      status: 200,
      wantBody: { repositories: ["library/alpine", "many"] },
    },
    {
      description: "catalog, alice: everything",
      url: "/v2/_catalog",
      headers: { Authorization: ALICE },
      status: 200,
      wantBody: { repositories: ["library/alpine", "many", "other/repo"] },
    },
    {
      description: "catalog, wrong password: 401",
      url: "/v2/_catalog",
      headers: { Authorization: WRONG },
      status: 401,
      wantCode: "UNAUTHORIZED",
    },
    { description: "/healthz is open", url: "/healthz", status: 200 },
    { description: "/readyz is open", url: "/readyz", status: 200 },
    { description: "/metrics is open", url: "/metrics", status: 200 },
  ];
}

for (const scheme of ["bearer", "basic"] as const) {
  Deno.test(`authMiddleware() matrix, scheme ${scheme}`, async (t) => {
    const a = await authApp({ scheme });
    try {
      await runCases(t, a.app, matrix(scheme));
    } finally {
      await a.cleanup();
    }
  });
}

Deno.test("authMiddleware(): a blob 307 never carries the credentials", async () => {
  const a = await authApp();
  try {
    const res = await a.app.request(`/v2/other/repo/blobs/${a.fx.otherLayer.digest}`, {
      headers: { Authorization: ALICE },
    });
    assert.equal(res.status, 307);
    const loc = res.headers.get("location") ?? "";
    assert.match(loc, /^http:\/\/cdn-a\.test\/registry\/blobs\/sha256\//);
    assert.ok(!loc.includes("alice") && !loc.includes("pw-a") && !loc.includes("@"), loc);
  } finally {
    await a.cleanup();
  }
});

Deno.test("authMiddleware(): puts the user on the context for the layers around it", async () => {
  const seen: (string | undefined)[] = [];
  const log: Middleware = (c, next) =>
    onResponse(next(), (r) => {
      seen.push(c.user);
      return r;
    });
  const a = await authApp({ before: [log] });
  try {
    for (const auth of [ALICE, BOB, undefined]) {
      const res = await a.app.request("/v2/library/alpine/manifests/3.20", {
        headers: auth ? { Authorization: auth } : {},
      });
      await res.body?.cancel();
    }
    assert.deepEqual(seen, ["alice", "bob", undefined]);
  } finally {
    await a.cleanup();
  }
});
