/**
 * @module
 * The one flag parser of every subcommand, over `node:util` `parseArgs` (its tokens, so
 * that every refusal is ours and names the flag and the value): unknown flags, a missing
 * value, a value given to a boolean flag, and values a flag's `parse` refuses are
 * UsageErrors (exit 2): `--concurrency: expected an integer from 1 to 1024, got "0"`.
 * `-h`/`--help` is known to every command. A repeated flag keeps its last value, unless it
 * is declared `multiple` (then it gives them all).
 */
import { parseArgs } from "node:util";
import { durationProblem, parseDuration } from "../config/duration.ts";
import { UsageError } from "./usage.ts";

/** A flag: a boolean switch, or a string, optionally converted by `parse`. */
export type Flag =
  | { type: "boolean"; short?: string }
  | { type: "string"; short?: string; parse?: (raw: string) => unknown }
  /** A string flag that may be repeated: every value, in order (`[]` when absent). */
  | { type: "string"; short?: string; multiple: true };

/** What a flag parses to: `false`/`undefined` when absent. */
export type FlagValue<F extends Flag> = F extends { type: "boolean" } ? boolean
  : F extends { multiple: true } ? string[]
  : F extends { parse: (raw: string) => infer T } ? T | undefined
  : string | undefined;

/** The parsed command line: flags by name (plus `help`) and the positional arguments. */
export interface Parsed<S extends Record<string, Flag>> {
  flags: { [K in keyof S]: FlagValue<S[K]> } & { help: boolean };
  positionals: string[];
}

const HELP = { type: "boolean", short: "h" } as const;

/**
 * Parses `argv` against `spec`; see the module doc for what it refuses.
 *
 * @example
 * ```ts
 * const { flags, positionals } = parseFlags(["--to", "d", "src"], { to: { type: "string" } });
 * // flags.to === "d", flags.help === false, positionals = ["src"]
 * ```
 */
export function parseFlags<const S extends Record<string, Flag>>(
  argv: string[],
  spec: S,
): Parsed<S> {
  const options: Record<string, Flag> = { help: HELP, ...spec };
  const { tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      Object.entries(options).map((
        [k, f],
      ) => [k, f.short ? { type: f.type, short: f.short } : { type: f.type }]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(options)) {
    flags[name] = f.type === "boolean" ? false : "multiple" in f ? [] : undefined;
  }
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === "positional") positionals.push(t.value);
    if (t.kind !== "option") continue;
    const flag = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (!flag) throw new UsageError(`unknown flag ${JSON.stringify(t.rawName)}`);
    if (flag.type === "boolean") {
      if (t.value !== undefined) {
        throw new UsageError(`${t.rawName}: takes no value, got ${JSON.stringify(t.value)}`);
      }
      flags[t.name] = true;
      continue;
    }
    // `--to --json`: parseArgs takes the next word whatever it is; a flag is not a value.
    if (t.value === undefined || (!t.inlineValue && /^-./.test(t.value))) {
      const got = t.value === undefined ? "" : `, got the flag ${JSON.stringify(t.value)}`;
      throw new UsageError(`${t.rawName}: needs a value${got}`);
    }
    if ("multiple" in flag) (flags[t.name] as string[]).push(t.value);
    else flags[t.name] = convert(flag, t.rawName, t.value);
  }
  return { flags, positionals } as Parsed<S>;
}

function convert(
  flag: { parse?: (raw: string) => unknown },
  rawName: string,
  raw: string,
): unknown {
  if (!flag.parse) return raw;
  try {
    return flag.parse(raw);
  } catch (e) {
    throw new UsageError(`${rawName}: ${(e as Error).message}, got ${JSON.stringify(raw)}`);
  }
}

/** A `parse` for an integer flag from `min` to `max`. */
export function integer(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
      throw new Error(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/**
 * A `parse` for a positive duration flag (`"10s"`, `"500ms"`), in milliseconds, at most
 * what a timer can wait (lib/config/duration.ts `MAX_TIMER_MS`).
 */
export function duration(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === null || ms <= 0) throw new Error('expected a duration like "10s" or "500ms"');
  const problem = durationProblem(raw);
  if (problem) throw new Error(problem);
  return ms;
}
