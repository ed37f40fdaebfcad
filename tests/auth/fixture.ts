/**
 * @module
 * The auth test fixture: users alice and bob (bcrypt `$2y$` at cost 4, as `htpasswd -B
 * -C 4` writes them), rules over the server fixture's repositories, and an app over it
 * with the auth middleware. `library` is open to anyone, `other` to alice only, the rest
 * to any user.
 */
import bcrypt from "bcryptjs";
import { Users } from "../../lib/auth/htpasswd.ts";
import { authMiddleware, type AuthState } from "../../lib/auth/middleware.ts";
import type { AccessRule } from "../../lib/auth/options.ts";
import { AccessRules } from "../../lib/auth/rules.ts";
import { Tokens } from "../../lib/auth/token.ts";
import { silentLogger } from "../../lib/log.ts";
import { Registry } from "../../lib/index/registry.ts";
import { type App, createApp, type Middleware } from "../../lib/server/app.ts";
import { FakeOrigins } from "../server/harness.ts";
import { type Fixture, makeFixture } from "../server/fixture.ts";

export const RULES: AccessRule[] = [
  { prefix: "library", pull: "anyone" },
  { prefix: "other", pull: ["alice"] },
  { prefix: "", pull: "authenticated" },
];

/** `htpasswd -B` writes `$2y$`; bcryptjs writes `$2b$`: the same algorithm. */
export const bcryptLine = (user: string, password: string) =>
  `${user}:${bcrypt.hashSync(password, 4).replace(/^\$2b\$/, "$2y$")}`;

export const HTPASSWD = [bcryptLine("alice", "pw-a"), bcryptLine("bob", "pw-b")].join("\n");

export const basic = (user: string, password: string) => `Basic ${btoa(`${user}:${password}`)}`;

/** A clock tests can move. */
export class Clock {
  t = Date.UTC(2026, 0, 1);
  now = () => this.t;
}

export interface AuthFixture {
  fx: Fixture;
  app: App;
  state: AuthState;
  clock: Clock;
  origins: FakeOrigins;
  cleanup(): Promise<void>;
}

/** The server fixture behind the auth middleware (plus any middleware before it). */
export async function authApp(
  opts: { scheme?: "bearer" | "basic"; before?: Middleware[]; users?: Users } = {},
): Promise<AuthFixture> {
  const fx = await makeFixture();
  const registry = new Registry(fx.store, { log: silentLogger });
  await registry.load();
  const clock = new Clock();
  const users = opts.users ?? new Users(
    new Map(HTPASSWD.split("\n").map((l) => [l.split(":")[0], l.slice(l.indexOf(":") + 1)])),
  );
  const state: AuthState = {
    scheme: opts.scheme ?? "bearer",
    users,
    rules: new AccessRules(RULES),
    tokens: await Tokens.create({ ttlMs: 300_000, now: clock.now }),
  };
  const origins = new FakeOrigins();
  origins.sync = true;
  const app = createApp({
    registry,
    store: fx.store,
    origins,
    middleware: [...(opts.before ?? []), authMiddleware(() => state)],
    log: silentLogger,
  });
  return { fx, app, state, clock, origins, cleanup: () => fx.cleanup() };
}

/** GETs a token from the app's `/token` (Basic credentials when `auth` is given). */
export async function fetchToken(
  app: App,
  scope: string,
  auth?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await app.request(
    `/token?service=static-registry&scope=${encodeURIComponent(scope)}`,
    { headers: auth ? { Authorization: auth } : {} },
  );
  return { status: res.status, body: await res.json() };
}
