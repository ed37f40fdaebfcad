/**
 * @module
 * Who may pull which repository: the `auth.rules` of the config. A rule covers the names
 * equal to its prefix or under it as whole name components (`team-a` covers `team-a` and
 * `team-a/x`, not `team-ab`; `""` covers every name); the longest covering prefix wins,
 * so `team-a/public` can open what `team-a` closes.
 *
 * A name no rule covers is denied: with `auth` configured, the operator listed what is
 * open, and a forgotten prefix must fail closed (add `{"prefix": "", ...}` for a
 * default). Decisions depend on the name only, never on whether the repository exists,
 * so a refusal says nothing about the store.
 */
import type { AccessRule } from "./options.ts";

/** Whether `name` is `prefix` or under it, by whole components (`""` covers all). */
export function covers(prefix: string, name: string): boolean {
  return prefix === "" || name === prefix ||
    (name.length > prefix.length && name.startsWith(prefix) && name[prefix.length] === "/");
}

/** The access rules, longest prefix first. */
export class AccessRules {
  readonly #rules: readonly AccessRule[];

  constructor(rules: readonly AccessRule[]) {
    this.#rules = [...rules].sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The rule deciding `name` (the longest covering prefix), if any. */
  ruleFor(name: string): AccessRule | undefined {
    return this.#rules.find((r) => covers(r.prefix, name));
  }

  /** Whether `user` (undefined: anonymous) may pull `name`. */
  mayPull(user: string | undefined, name: string): boolean {
    const pull = this.ruleFor(name)?.pull;
    if (pull === undefined) return false;
    if (pull === "anyone") return true;
    if (user === undefined) return false;
    return pull === "authenticated" || pull.includes(user);
  }

  /** The users named in rules, for the "unknown user" warning at load. */
  namedUsers(): string[] {
    return [...new Set(this.#rules.flatMap((r) => typeof r.pull === "string" ? [] : r.pull))];
  }

  /** Prefixes whose rule is not `anyone`: what must not leak through a public origin. */
  restrictedPrefixes(): string[] {
    return this.#rules.filter((r) => r.pull !== "anyone").map((r) => r.prefix);
  }
}
