/**
 * @module
 * Loading the config: read the file, parse JSON (errors with line and column), apply the
 * flag and environment overrides (precedence: flags > file > env, in {@link mergeSources}
 * only), validate against the schema, resolve. Every problem is a `ConfigError` (exit
 * status 2) that names the source, the key path and the value, so the process never starts
 * half-configured:
 *
 *   config "cfg.json": health.interval: expected a duration like "10s", got "ten"
 */
import * as fs from "node:fs/promises";
import { isIP } from "node:net";
import * as path from "node:path";
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { parse as parseJsonc, type ParseError, printParseErrorCode } from "jsonc-parser";
import { ConfigError, describeError, type Problem } from "./errors.ts";
import { ENV_ALIASES, envKeys, envValue, parseOrigins } from "./env.ts";
import { resolveConfig, type ResolvedConfig } from "./resolve.ts";
import { ConfigSchema, type UserConfig } from "./schema.ts";

/** Values given on the command line; they win over the file. */
export interface ConfigFlags {
  listen?: string;
  store?: string;
  /** `--origin [NAME=]URL[,...]`, each flag's text (see lib/config/env.ts parseOrigins). */
  origins?: string[];
}

/** Every variable read (only for keys neither a flag nor the file sets), by name. */
export const CONFIG_ENV: Readonly<Record<string, string>> = {
  ...Object.fromEntries(envKeys().map((k) => [k.variable, k.path])),
  ...ENV_ALIASES,
};
const ENV_KINDS = new Map(envKeys().map((k) => [k.path, k.kind]));
/** File paths: from a flag or variable they start at the working directory, not the file's. */
const CWD_RELATIVE = new Set(["tls.cert", "tls.key"]);

export interface LoadOptions {
  /** Config file path as the user wrote it (messages quote it like that). */
  file?: string;
  flags?: ConfigFlags;
  /** Environment to read {@link CONFIG_ENV} from; nothing is read when absent. */
  env?: Record<string, string | undefined>;
  /** Base for relative paths given by flags or env (default: process.cwd()). */
  cwd?: string;
  /**
   * Resolve the `listen` host name now (`serve` does: a name that does not resolve is a
   * config error, exit 2, rather than a bind failure the runtime words as EINVAL or
   * ENOTTY). Commands that do not listen leave it off and do no DNS.
   */
  resolveListen?: boolean;
  /** Told about a config that works but is unsafe (see {@link ConfigWarning}). */
  onWarning?: (w: ConfigWarning) => void;
}

/**
 * A config file every user of the machine can read that holds secrets (S3 credentials,
 * a password in a URL, any `*secret*`/`*token*`/`*password*` key): serve starts, and
 * says so once per load, naming the file and the keys.
 */
export interface ConfigWarning {
  message: string;
  file: string;
  keys: string[];
}

/** Reads, validates and resolves a config. Throws ConfigError naming what is wrong. */
export async function loadConfig(opts: LoadOptions): Promise<ResolvedConfig> {
  const cwd = opts.cwd ?? process.cwd();
  const fileDoc = opts.file === undefined ? undefined : await readConfigFile(opts.file, cwd);
  if (opts.file !== undefined && opts.onWarning) {
    const w = await exposedSecrets(opts.file, cwd, fileDoc);
    if (w) opts.onWarning(w);
  }
  const { doc, sources } = mergeSources(fileDoc, opts.flags ?? {}, opts.env ?? {}, cwd);
  const fileLabel = opts.file === undefined ? "config" : `config ${JSON.stringify(opts.file)}`;
  const label = (p: Problem): string => {
    const src = sourceOf(sources, p.path);
    if (src) return `${src}: ${p.problem}`;
    // No file: the problem is a key no flag or variable gave (tls.key): say which one would.
    const variable = Object.entries(CONFIG_ENV).find(([, k]) => k === p.path)?.[0];
    const hint = opts.file === undefined && variable ? ` (set ${variable})` : "";
    const from = opts.file === undefined ? "config from flags and environment" : fileLabel;
    return `${from}: ${p.path ? `${p.path}: ` : ""}${p.problem}${hint}`;
  };
  const fail = (problems: Problem[]): never => {
    throw new ConfigError(problems.map(label).join("\n"));
  };

  if (opts.file === undefined && doc.store === undefined) {
    throw new ConfigError(
      "no config: give --config FILE, or at least --store STORE or STATIC_REGISTRY_STORE",
    );
  }
  const problems = validate(doc);
  if (problems.length) fail(problems);

  const storeFromFile = !sources.has("store") && opts.file !== undefined;
  const baseDir = storeFromFile ? path.dirname(path.resolve(cwd, opts.file!)) : cwd;
  const file = opts.file === undefined ? undefined : path.resolve(cwd, opts.file);
  const r = resolveConfig(doc as UserConfig, { baseDir, file });
  if ("problems" in r) fail(r.problems);
  const config = (r as { config: ResolvedConfig }).config;
  if (opts.resolveListen) {
    const problem = await listenHostProblem(config.listen.hostname, String(doc.listen));
    if (problem) fail([problem]);
  }
  return config;
}

/** Why the `listen` host name does not resolve (null when it does, or is an IP address). */
async function listenHostProblem(hostname: string, text: string): Promise<Problem | null> {
  if (isIP(hostname) !== 0) return null;
  try {
    // Imported here: only a host name needs it, and on Bun node:dns costs a few ms of
    // every start (issue 13).
    const { lookup } = await import("node:dns/promises");
    await lookup(hostname);
    return null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOTFOUND" ? "no such host" : code ?? (e as Error).message;
    return {
      path: "listen",
      problem: `host ${JSON.stringify(hostname)} does not resolve (${why}), got ${
        JSON.stringify(text)
      }`,
    };
  }
}

/** Schema violations of a document, one per key path, in document order. */
export function validate(doc: unknown): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of Value.Errors(ConfigSchema, doc)) {
    // TypeBox may report one path twice (missing → "required" and "expected string").
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push(describeError(e, schemaAt));
  }
  return out;
}

/** The schema node at a JSON pointer (properties and array items only: all we use). */
function schemaAt(pointer: string): TSchema {
  let s = ConfigSchema as TSchema;
  for (const seg of pointer.split("/").slice(1)) {
    s = /^[0-9]+$/.test(seg) ? s.items : s.properties?.[seg];
    if (!s) return {} as TSchema;
  }
  return s;
}

/**
 * THE precedence rule: flags > file > env, key by key (a variable fills in a key the file
 * leaves out, even inside an object the file has). Returns the merged document and, for
 * each key not taken from the file, where it came from (`--listen`,
 * `STATIC_REGISTRY_HEALTH_INTERVAL`), so a bad value is reported against its real source.
 * The variables are {@link CONFIG_ENV} (lib/config/env.ts derives them from the schema).
 */
export function mergeSources(
  fileDoc: unknown,
  flags: ConfigFlags,
  env: Record<string, string | undefined>,
  cwd: string = process.cwd(),
): { doc: Record<string, unknown>; sources: Map<string, string> } {
  const sources = new Map<string, string>();
  // A non-object file is left for the schema to reject with a clear message.
  if (
    fileDoc !== undefined &&
    (typeof fileDoc !== "object" || fileDoc === null || Array.isArray(fileDoc))
  ) {
    return { doc: fileDoc as Record<string, unknown>, sources };
  }
  const doc = structuredClone((fileDoc ?? {}) as Record<string, unknown>);
  const set = (key: string, value: unknown, source: string, override: boolean): void => {
    const parts = key.split(".");
    let at: Record<string, unknown> = doc;
    for (const part of parts.slice(0, -1)) {
      if (at[part] === undefined) at[part] = {};
      // A non-object where an object belongs is the file's error, reported by the schema.
      if (!isObj(at[part])) return;
      at = at[part] as Record<string, unknown>;
    }
    const leaf = parts[parts.length - 1];
    if (!override && at[leaf] !== undefined) return;
    at[leaf] = CWD_RELATIVE.has(key) && typeof value === "string"
      ? path.resolve(cwd, value)
      : value;
    sources.set(key, source);
  };
  for (const [name, key] of Object.entries(CONFIG_ENV)) {
    const v = env[name];
    if (v === undefined || v === "") continue;
    set(key, envValue(v, ENV_KINDS.get(key) ?? "string"), name, false);
  }
  if (flags.listen !== undefined) set("listen", flags.listen, "--listen", true);
  if (flags.store !== undefined) set("store", flags.store, "--store", true);
  if (flags.origins?.length) {
    const entries = flags.origins.flatMap((o) => o.split(",")).map((o) => o.trim());
    set("origins", parseOrigins(entries.filter((o) => o !== "")), "--origin", true);
  }
  return { doc, sources };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The source of the key at `problemPath` or of the nearest key above it. */
function sourceOf(sources: Map<string, string>, problemPath: string): string | undefined {
  let best: string | undefined;
  for (const key of sources.keys()) {
    const under = problemPath === key || problemPath.startsWith(`${key}.`) ||
      problemPath.startsWith(`${key}[`);
    if (under && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : sources.get(best);
}

/** Keys whose values are secrets, whatever object they are in. */
const SECRET_KEY = /secret|password|passwd|token|accessKeyId|privateKey|credential/i;
/** A URL with a password in its user-info (`https://user:pw@host/`). */
const URL_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@]*:[^/?#@]*@/i;
/** Keys whose values NAME a file that holds secrets: the path itself is not one. */
const SECRET_FILE_PATHS = new Set(["auth.htpasswd", "auth.tokenKey", "tls.key", "tls.cert"]);

/** The key paths of `doc` that hold secrets (see {@link ConfigWarning}). */
export function secretKeys(doc: unknown, at = ""): string[] {
  if (typeof doc !== "object" || doc === null) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(doc)) {
    const p = Array.isArray(doc) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
    if (typeof v === "string") {
      if (SECRET_FILE_PATHS.has(p) && !URL_PASSWORD.test(v)) continue;
      if (v !== "" && (SECRET_KEY.test(k) || URL_PASSWORD.test(v))) out.push(p);
    } else out.push(...secretKeys(v, p));
  }
  return out;
}

/**
 * A warning when the config file is readable by others (mode & 0o004) and holds secrets.
 * POSIX permissions only: elsewhere the mode bits say nothing.
 */
async function exposedSecrets(
  file: string,
  cwd: string,
  doc: unknown,
): Promise<ConfigWarning | null> {
  if (process.platform === "win32") return null;
  const { mode } = await fs.stat(path.resolve(cwd, file));
  if ((mode & 0o004) === 0) return null;
  const keys = secretKeys(doc);
  if (keys.length === 0) return null;
  const perm = (mode & 0o777).toString(8).padStart(4, "0");
  return {
    file,
    keys,
    message: `config ${JSON.stringify(file)} is readable by every user (mode ${perm}) and ` +
      `holds secrets (${keys.join(", ")}): restrict it, e.g. chmod o-r`,
  };
}

/** Reads and parses a config file; the errors quote the file and say where it broke. */
export async function readConfigFile(file: string, cwd = process.cwd()): Promise<unknown> {
  const label = `config ${JSON.stringify(file)}`;
  let text: string;
  try {
    text = await fs.readFile(path.resolve(cwd, file), "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT"
      ? "file not found"
      : code === "EISDIR"
      ? "is a directory, not a file"
      : code === "EACCES"
      ? "permission denied"
      : (e as Error).message;
    throw new ConfigError(`cannot read ${label}: ${why}`, { cause: e });
  }
  return parseConfigJson(text, label);
}

/**
 * Strict JSON (no comments, no trailing commas). jsonc-parser gives the error offset on
 * every runtime (Bun's JSON.parse message has none), which we turn into line:column.
 */
export function parseConfigJson(text: string, label: string): unknown {
  const errs: ParseError[] = [];
  parseJsonc(text, errs, { disallowComments: true, allowTrailingComma: false });
  if (text.trim() === "") {
    throw new ConfigError(`${label}: the file is empty (expected a JSON object)`);
  }
  if (errs.length) {
    const { error, offset } = errs[0];
    const before = text.slice(0, offset).split("\n");
    const line = before.length;
    const column = before[before.length - 1].length + 1;
    throw new ConfigError(
      `${label}: invalid JSON at line ${line}, column ${column}: ${
        explain(printParseErrorCode(error))
      }`,
    );
  }
  return JSON.parse(text);
}

function explain(code: string): string {
  // printParseErrorCode gives names like "CommaExpected"; make them a phrase.
  return code.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}
