/**
 * @module
 * Config errors: {@link ConfigError} (exit status 2), and the messages it carries — schema
 * violations turned into something a person can act on: the source (config file, flag or
 * environment variable), the key path in dotted form, and the problem with the offending
 * value quoted:
 *
 *   config "cfg.json": health.interval: expected a duration like "10s", got "ten"
 *   config "cfg.json": unknown key "orgins" (did you mean "origins"?)
 */
import type { TSchema } from "@sinclair/typebox";
import { type ValueError, ValueErrorType } from "@sinclair/typebox/errors";
import leven from "leven";
import { durationProblem } from "./duration.ts";
import { DURATION_FORMAT, expectedPhrase } from "./schema.ts";

/**
 * A config that cannot be used: a bad file, key, value or store location. The CLI exits
 * with status 2 for it, recognised by `exitCode` (not by class, so lib/config needs nothing
 * from lib/cli). `cause` keeps the underlying error (a read failure, for instance).
 *
 * @example
 * ```ts
 * throw new ConfigError(`config "cfg.json": store: directory not found`, { cause: e });
 * ```
 */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly exitCode = 2;
}

/** A JSON pointer (`/origins/0/url`) as the key path people read (`origins[0].url`). */
export function keyPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const seg = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    out += /^[0-9]+$/.test(seg) ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  }
  return out;
}

/** The closest known key, when it is close enough to be a likely typo. */
export function didYouMean(key: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDist = Infinity;
  for (const k of known) {
    const d = leven(key.toLowerCase(), k.toLowerCase());
    if (d < bestDist) [best, bestDist] = [k, d];
  }
  return best !== undefined && bestDist < best.length &&
      bestDist <= Math.max(2, Math.floor(best.length / 3))
    ? best
    : undefined;
}

/** Quotes a value for a message: strings in JSON quotes, the rest as JSON or its type. */
export function quote(value: unknown): string {
  if (value === undefined) return "nothing";
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return typeof value;
  }
}

function typeName(schema: TSchema): string {
  const t = (schema as { type?: string }).type;
  if (t === "integer") return "a whole number";
  if (t === "number") return "a number";
  if (t === "boolean") return "true or false";
  if (t === "string") return "a string";
  if (t === "object") return "an object";
  if (t === "array") return "an array";
  return "a different value";
}

/** A problem with one key: where (`health.interval`, "" for the whole document) and what. */
export interface Problem {
  path: string;
  problem: string;
}

/**
 * One schema violation as a {@link Problem}; an unknown key is reported at its parent.
 * `schemaAt` finds the schema of the object holding an unexpected property.
 */
export function describeError(e: ValueError, schemaAt: (pointer: string) => TSchema): Problem {
  const path = keyPath(e.path);
  const got = `got ${quote(e.value)}`;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const cut = e.path.lastIndexOf("/");
      const parent = e.path.slice(0, cut);
      const key = e.path.slice(cut + 1).replaceAll("~1", "/").replaceAll("~0", "~");
      const known = Object.keys((schemaAt(parent) as { properties?: object }).properties ?? {});
      const hint = didYouMean(key, known);
      return {
        path: keyPath(parent),
        problem: `unknown key ${quote(key)}` +
          (hint ? ` (did you mean ${quote(hint)}?)` : ` (known keys: ${known.join(", ")})`),
      };
    }
    case ValueErrorType.ObjectRequiredProperty:
      return { path, problem: "is required" };
    case ValueErrorType.StringPattern:
    case ValueErrorType.Union:
      return { path, problem: `expected ${expectedPhrase(e.schema) ?? e.message}, ${got}` };
    case ValueErrorType.StringMinLength:
      return { path, problem: "must not be empty" };
    case ValueErrorType.IntegerMinimum:
    case ValueErrorType.NumberMinimum: {
      const min = (e.schema as unknown as { minimum: number }).minimum;
      return { path, problem: `must be at least ${min}, ${got}` };
    }
    case ValueErrorType.IntegerMaximum:
    case ValueErrorType.NumberMaximum: {
      const max = (e.schema as unknown as { maximum: number }).maximum;
      return { path, problem: `must be at most ${max}, ${got}` };
    }
    case ValueErrorType.StringFormat:
      if ((e.schema as { format?: string }).format === DURATION_FORMAT) {
        return { path, problem: `${durationProblem(String(e.value)) ?? e.message}, ${got}` };
      }
      return { path, problem: `expected ${expectedPhrase(e.schema) ?? e.message}, ${got}` };
    default: {
      const want = expectedPhrase(e.schema) ?? typeName(e.schema);
      return { path, problem: `expected ${want}, ${got}` };
    }
  }
}
