/**
 * @module
 * Client routing and egress: where the bytes of a blob GET come from for one client.
 * `routing` rules (lib/config/routing.ts resolves them) match the client's address
 * (`c.client`, after trusted-proxy resolution) against CIDRs, IPv4 and IPv6 alike; an
 * IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, what a dual-stack socket reports for an
 * IPv4 peer) matches IPv4 rules. The FIRST rule whose CIDRs hold the client wins; later
 * rules are not looked at, even when the winner's origins are all down.
 *
 * - A rule with `origins` gives its clients that order (first healthy wins); when none of
 *   them is healthy, the default order (the config's `origins`) instead.
 * - A rule with `"stream": true` has its clients get the bytes from the server itself,
 *   whatever the store (directory, S3, HTTP): for networks that may not reach a CDN.
 * - `"fallback": "stream"` streams from the store when every origin is down, instead of
 *   the 503 a redirect-only server must answer.
 *
 * Mounts: rules are global and each store applies them to its own origins by name. A
 * rule applies to a store when it streams or names at least one origin of that store;
 * a rule naming only other stores' origins is skipped for it, so the next matching rule
 * may apply (one rule per network can list the origins of several mounts, or several
 * rules can each name one mount's). Stream rules apply to every store.
 *
 * {@link chooseEgress} is pure (health is asked through a function) and allocates
 * nothing: the answers are built once per store by {@link planEgress}.
 */
import { CidrSet, parseAddress } from "../auth/cidr.ts";

/** A resolved `routing[i]` (lib/config/routing.ts): CIDRs normalised, names known. */
export interface RoutingRule {
  /** CIDRs, normalised (`10.1.0.0/16`, `fd00::/8`). */
  readonly clients: readonly string[];
  /** Origin names, preferred first; empty for a stream rule. */
  readonly origins: readonly string[];
  /** Serve these clients' blobs from the server itself. */
  readonly stream: boolean;
}

/** What happens to a blob GET when no origin is healthy: 503, or stream from the store. */
export type Fallback = "none" | "stream";

/** The routing part of the config, as createOrigins takes it. */
export interface RoutingOptions {
  readonly rules: readonly RoutingRule[];
  readonly fallback: Fallback;
}

/**
 * Where a blob's bytes come from: a 307 to the first healthy origin of `redirect`
 * (indices into the store's origin list), or the server streams them itself, because a
 * rule says so or as the fallback.
 */
export type Egress =
  | { readonly redirect: readonly number[] }
  | { readonly stream: "rule" | "fallback" };

/** One rule as one store sees it. */
interface PlannedRule {
  readonly clients: CidrSet;
  readonly egress: Egress;
  /** For a redirect rule, its origins (indices); empty for a stream rule. */
  readonly order: readonly number[];
}

/** The rules of one store, precomputed (see {@link planEgress}). */
export interface EgressPlan {
  readonly rules: readonly PlannedRule[];
  /** The default order: every origin of the store, in config order. */
  readonly all: Egress & { readonly redirect: readonly number[] };
  readonly fallback: Fallback;
}

const STREAM_RULE: Egress = Object.freeze({ stream: "rule" as const });
const STREAM_FALLBACK: Egress = Object.freeze({ stream: "fallback" as const });

/**
 * The plan of one store whose origins are `names` (in config order). Rules that name
 * none of them are dropped (see the module doc on mounts); a rule's names of other
 * stores' origins are left out of its order here.
 *
 * @example
 * ```ts
 * const plan = planEgress(
 *   { rules: [{ clients: ["10.1.0.0/16"], origins: ["dc"], stream: false }], fallback: "none" },
 *   ["cdn", "dc"],
 * );
 * chooseEgress("10.1.2.3", plan, () => true); // { redirect: [1] }
 * ```
 */
export function planEgress(opts: RoutingOptions, names: readonly string[]): EgressPlan {
  const rules: PlannedRule[] = [];
  for (const r of opts.rules) {
    if (r.stream) {
      rules.push({ clients: new CidrSet(r.clients), egress: STREAM_RULE, order: [] });
      continue;
    }
    const order = r.origins.map((n) => names.indexOf(n)).filter((i) => i >= 0);
    if (order.length === 0) continue;
    rules.push({ clients: new CidrSet(r.clients), egress: { redirect: order }, order });
  }
  return { rules, all: { redirect: names.map((_, i) => i) }, fallback: opts.fallback };
}

/**
 * The egress for a client at `client` (undefined when the runtime could not tell):
 * the first matching rule's, else the default order; then, when the chosen egress is a
 * redirect and no origin at all is healthy, the stream fallback if configured. A client
 * whose address matches no rule, or is unknown, gets the default.
 */
export function chooseEgress(
  client: string | undefined,
  plan: EgressPlan,
  isHealthy: (origin: number) => boolean,
): Egress {
  if (plan.rules.length !== 0 && client !== undefined) {
    const a = parseAddress(client);
    if (a) {
      for (const r of plan.rules) {
        if (!r.clients.matches(a)) continue;
        if (r.order.length === 0 || r.order.some(isHealthy)) return r.egress;
        break; // first match wins: its origins are all down, so the default order
      }
    }
  }
  if (plan.fallback === "stream" && !plan.all.redirect.some(isHealthy)) return STREAM_FALLBACK;
  return plan.all;
}

/** Whether a plan can ever answer anything but its default order (no client needed). */
export function isTrivial(plan: EgressPlan): boolean {
  return plan.rules.length === 0 && plan.fallback === "none";
}
