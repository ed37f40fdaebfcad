/** parseAuthorization(): Basic and Bearer, anything else is malformed (never anonymous). */
import assert from "node:assert/strict";
import { parseAuthorization } from "../../lib/auth/credentials.ts";

Deno.test("parseAuthorization() reads Basic (UTF-8, colons in the password) and Bearer", () => {
  const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  assert.deepEqual(parseAuthorization(null), { kind: "none" });
  assert.deepEqual(parseAuthorization(`Basic ${b64("alice:p:w")}`), {
    kind: "basic",
    user: "alice",
    password: "p:w",
  });
  assert.deepEqual(parseAuthorization(`basic ${b64("zoë:pässwörd")}`), {
    kind: "basic",
    user: "zoë",
    password: "pässwörd",
  });
  assert.deepEqual(parseAuthorization("Bearer abc.def.ghi"), {
    kind: "bearer",
    token: "abc.def.ghi",
  });
  for (const bad of ["Basic", "Basic !!!", `Basic ${btoa("nocolon")}`, "Digest x", "Bearer "]) {
    assert.deepEqual(parseAuthorization(bad), { kind: "malformed" }, bad);
  }
});
