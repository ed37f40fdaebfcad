/**
 * @module
 * The pull-access matrix that tests/e2e/auth_test.ts (plain HTTP) and
 * tests/e2e/tls_auth_test.ts (HTTPS) both run with every real client: the users, the
 * htpasswd file made by `htpasswd -B` (apache2-utils) as an operator would, the rows
 * (who pulls what, and whether each scheme lets them), and the check of one pull.
 */
import assert from "node:assert/strict";
import type { ClientName, Creds, PullOutcome } from "../helpers/clients.ts";
import { run } from "../helpers/process.ts";

export const ALICE = { user: "alice", password: "alice-pw" };
export const BOB = { user: "bob", password: "bob-pw" };
export const WRONG = { user: "alice", password: "not-it" };
/** Every password above, for "no credential reaches the log". */
export const PASSWORDS = [ALICE.password, BOB.password, WRONG.password];

/** One line of the matrix; `pulls` per scheme, per client where the clients differ. */
export interface Row {
  what: string;
  ref: string;
  creds: Creds;
  pulls: { bearer: boolean; basic: boolean | Record<ClientName, boolean> };
}

/**
 * The rules both tests configure (plus their own): `pub` anyone, `team` alice only.
 * The rows below hold for them.
 */
export const RULES = [
  { prefix: "pub", pull: "anyone" },
  { prefix: "team", pull: ["alice"] },
];

export const ROWS: Row[] = [
  // With the Basic scheme `/v2/` challenges anonymous callers (docker login needs it), and
  // the clients that ping `/v2/` first (skopeo, podman, docker) give up there, holding no
  // credentials; ctr never pings. Anonymous pulls of public prefixes by every client need
  // the bearer scheme (the default): docs/AUTH.md.
  {
    what: "anonymous, public prefix",
    ref: "pub/hello:v1",
    creds: undefined,
    pulls: { bearer: true, basic: { skopeo: false, podman: false, ctr: true, docker: false } },
  },
  {
    what: "anonymous, private prefix",
    ref: "team/hello:v1",
    creds: undefined,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "wrong password",
    ref: "team/hello:v1",
    creds: WRONG,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "right user, wrong prefix",
    ref: "team/hello:v1",
    creds: BOB,
    pulls: { bearer: false, basic: false },
  },
  {
    what: "right user, her prefix",
    ref: "team/hello:v1",
    creds: ALICE,
    pulls: { bearer: true, basic: true },
  },
];

/** Writes `file` with ALICE and BOB, bcrypt (`-B`), as `htpasswd` does for an operator. */
export async function writeHtpasswd(file: string): Promise<void> {
  for (const [i, u] of [ALICE, BOB].entries()) {
    const args = [...(i === 0 ? ["-c"] : []), "-B", "-b", file, u.user, u.password];
    const r = await run("htpasswd", [...args]);
    assert.equal(r.code, 0, `htpasswd: ${r.stderr}`);
  }
  assert.match(await Deno.readTextFile(file), /^alice:\$2y\$/);
}

/** Whether `row` must pull for `client` under `scheme`. */
export function wants(row: Row, scheme: "bearer" | "basic", client: ClientName): boolean {
  const p = row.pulls[scheme];
  return typeof p === "boolean" ? p : p[client];
}

/**
 * Asserts one pull went as `want` says: pulled `digest`, or refused (`refusal`, when
 * given, must match the client's output). `logs` is the server's, for the message.
 */
export function assertPull(
  got: PullOutcome,
  want: boolean,
  digest: string,
  logs: string,
  refusal?: (out: string) => void,
): void {
  assert.equal(
    got.ok,
    want,
    `${want ? "refused" : "pulled"}: ${got.out.slice(-1500)}\n${logs.slice(-2000)}`,
  );
  if (want) assert.equal(got.digest, digest);
  else refusal?.(got.out);
}
