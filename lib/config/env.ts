/**
 * @module
 * The config keys that can come from `STATIC_REGISTRY_*` environment variables, derived
 * from the schema (lib/config/schema.ts) so that every new scalar key gets its variable:
 * the key path, camelCase split into words, upper-cased, joined with `_`:
 *
 *   listen → STATIC_REGISTRY_LISTEN          health.interval → STATIC_REGISTRY_HEALTH_INTERVAL
 *   s3.forcePathStyle → STATIC_REGISTRY_S3_FORCE_PATH_STYLE
 *
 * Strings are taken as they are, integers and numbers when they are numerals, booleans
 * from `true`/`false`/`1`/`0`; anything else is passed through unchanged, so the schema
 * refuses it with the usual message (named after the variable by lib/config/load.ts).
 * Lists of strings (`http.trustedProxies`) are comma-separated. `origins` is a list of
 * `[NAME=]URL` ({@link parseOrigins}), also what `serve --origin` takes. Keys inside other
 * lists (`mounts`, `auth.rules`) cannot be written as one variable, and an object with a
 * required key that cannot (`auth` needs `rules`) is left out whole: those need the file.
 * Precedence is applied by `mergeSources` (lib/config/load.ts), not here.
 */
import type { TSchema } from "@sinclair/typebox";
import { ConfigSchema } from "./schema.ts";

/** How a variable's text becomes a config value. */
export type EnvKind = "string" | "integer" | "number" | "boolean" | "list" | "origins";

/** One config key settable by a variable. */
export interface EnvKey {
  /** Dotted key path, as error messages write it: `health.interval`. */
  path: string;
  variable: string;
  kind: EnvKind;
}

/** Older names kept working (they were documented before the generated ones). */
export const ENV_ALIASES: Readonly<Record<string, string>> = { STATIC_REGISTRY_LOG: "log.level" };

/** `["health", "idleTimeout"]` → `STATIC_REGISTRY_HEALTH_IDLE_TIMEOUT`. */
export function envName(path: readonly string[]): string {
  const words = path.map((k) => k.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase());
  return ["STATIC_REGISTRY", ...words].join("_");
}

/** The kind of a scalar schema node, or null when one variable cannot hold it. */
function kindOf(s: TSchema, key: string): EnvKind | null {
  if (key === "origins" && s.type === "array") return "origins";
  if (s.type === "array") return s.items?.type === "string" ? "list" : null;
  if (s.type === "string" || s.type === "integer" || s.type === "number") return s.type;
  if (s.type === "boolean") return "boolean";
  if (Array.isArray(s.anyOf) && s.anyOf.every((a: TSchema) => typeof a.const === "string")) {
    return "string";
  }
  return null;
}

/** Every key a variable can set, in schema order. */
export function envKeys(schema: TSchema = ConfigSchema, at: string[] = []): EnvKey[] {
  const out: EnvKey[] = [];
  for (const [key, node] of Object.entries(schema.properties ?? {}) as [string, TSchema][]) {
    if (key === "$schema") continue;
    const p = [...at, key];
    if (node.type === "object") {
      const inner = envKeys(node, p);
      const settable = new Set(inner.map((k) => k.path.split(".")[p.length]));
      const required: string[] = node.required ?? [];
      if (required.every((r) => settable.has(r))) out.push(...inner);
      continue;
    }
    const kind = kindOf(node, key);
    if (kind) out.push({ path: p.join("."), variable: envName(p), kind });
  }
  return out;
}

/** The text of a variable as the value of a key of `kind` (see the module doc). */
export function envValue(raw: string, kind: EnvKind): unknown {
  const text = raw.trim();
  switch (kind) {
    case "integer":
    case "number":
      return /^-?[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : raw;
    case "boolean":
      return /^(true|1)$/i.test(text) ? true : /^(false|0)$/i.test(text) ? false : raw;
    case "list":
      return splitList(raw);
    case "origins":
      return parseOrigins(splitList(raw));
    default:
      return raw;
  }
}

function splitList(raw: string): string[] {
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/**
 * `[NAME=]URL` entries as `origins`. Without a name, the URL's host is the name (what logs
 * and metrics show), `-2`, `-3`… appended when two share a host. Bad URLs are kept as they
 * are: the schema refuses them with its message.
 */
export function parseOrigins(entries: readonly string[]): { name: string; url: string }[] {
  const taken = new Set<string>();
  return entries.map((entry, i) => {
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)=(.*)$/.exec(entry);
    const url = m ? m[2] : entry;
    let name = m ? m[1] : hostName(url) ?? `origin-${i + 1}`;
    if (!m) {
      const base = name;
      for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
    }
    taken.add(name);
    return { name, url };
  });
}

function hostName(url: string): string | null {
  try {
    const host = new URL(url).host.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
    return host === "" ? null : host;
  } catch {
    return null;
  }
}
