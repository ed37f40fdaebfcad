/** TrustedProxies: X-Forwarded-For only from trusted peers, rightmost untrusted hop. */
import assert from "node:assert/strict";
import { parseCidr, TrustedProxies } from "../../lib/auth/client_address.ts";

Deno.test("parseCidr() reads IPv4 and IPv6 CIDRs and bare addresses, refuses the rest", () => {
  assert.equal(parseCidr("10.0.0.0/8")?.[1], 8);
  assert.equal(parseCidr("fd00::/8")?.[1], 8);
  assert.equal(parseCidr("192.0.2.1")?.[1], 32);
  assert.equal(parseCidr("::1")?.[1], 128);
  for (const bad of ["10.0.0.0/33", "nope", "10.0.0/8", "::1/129", ""]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

Deno.test("TrustedProxies.clientOf(): the rightmost address that is not a trusted proxy", () => {
  const p = new TrustedProxies(["10.0.0.0/8", "fd00::/8", "::1"]);
  const table: [string | undefined, string | null, string | undefined][] = [
    // untrusted peer: XFF ignored
    ["203.0.113.5", "1.2.3.4", "203.0.113.5"],
    // trusted peer, no XFF
    ["10.0.0.1", null, "10.0.0.1"],
    // trusted peer: the client is the last hop it vouches for
    ["10.0.0.1", "198.51.100.7", "198.51.100.7"],
    // a forged left part is skipped: the rightmost untrusted wins
    ["10.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1", "198.51.100.7"],
    // every hop trusted: the leftmost
    ["10.0.0.1", "10.2.2.2, 10.1.1.1", "10.2.2.2"],
    // IPv6 and IPv4-mapped peers
    ["::1", "2001:db8::5", "2001:db8::5"],
    ["::ffff:10.0.0.1", "198.51.100.7", "198.51.100.7"],
    // an unreadable hop stops at the last readable one to its right
    ["10.0.0.1", "198.51.100.7, garbage", "10.0.0.1"],
    [undefined, "1.2.3.4", undefined],
  ];
  for (const [peer, xff, want] of table) {
    assert.equal(p.clientOf(peer, xff), want, `${peer} ${xff}`);
  }
});
