/**
 * @module
 * Credentials for `docker://` sources, from the file format docker, podman and skopeo
 * share (`~/.docker/config.json`, containers-auth.json(5)): `{"auths": {"HOST": {"auth":
 * base64("user:password")}}}` (or `username` + `password`). The file is
 * `REGISTRY_AUTH_FILE` if set (podman's variable; then it must exist), else
 * `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, and it is read only when a
 * registry asks for credentials. Credential helpers (`credsStore`, `credHelpers`) and
 * identity tokens are not supported: export the credentials to such a file instead.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";

export interface Credentials {
  username: string;
  password: string;
}

/** Credentials for a registry host as written in the source (`127.0.0.1:5000`). */
export type CredentialLookup = (host: string) => Promise<Credentials | undefined>;

/** The auth file to use, from the environment (see the module doc), and whether it must exist. */
export function authFile(
  env: Record<string, string | undefined>,
): { file: string; required: boolean } | undefined {
  if (env.REGISTRY_AUTH_FILE) return { file: env.REGISTRY_AUTH_FILE, required: true };
  if (env.DOCKER_CONFIG) {
    return { file: path.join(env.DOCKER_CONFIG, "config.json"), required: false };
  }
  if (env.HOME) return { file: path.join(env.HOME, ".docker", "config.json"), required: false };
  return undefined;
}

/** `https://index.docker.io/v1/` → `docker.io`; `HOST:PORT/path` → `HOST:PORT`. */
export function authKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, "").replace(/\/.*$/, "").toLowerCase();
  return host === "index.docker.io" || host === "registry-1.docker.io" ? "docker.io" : host;
}

/** A lookup over an auth file (read once, on first use). Errors name the file and the key. */
export function fileCredentials(file: string, required = true): CredentialLookup {
  let auths: Promise<Map<string, Credentials>> | undefined;
  const load = async () => {
    let doc: { auths?: Record<string, Record<string, unknown>> };
    try {
      doc = JSON.parse(await fs.readFile(file, "utf8"));
    } catch (e) {
      if (!required && (e as NodeJS.ErrnoException).code === "ENOENT") return new Map();
      throw new Error(`registry auth file "${file}": ${(e as Error).message}`);
    }
    const out = new Map<string, Credentials>();
    for (const [key, entry] of Object.entries(doc?.auths ?? {})) {
      const c = decode(entry);
      if (c === "bad") {
        throw new Error(
          `registry auth file "${file}": auths["${key}"].auth is not base64 "user:password"`,
        );
      }
      if (c) out.set(authKey(key), c);
    }
    return out;
  };
  return async (host) => (await (auths ??= load())).get(authKey(host));
}

function decode(entry: Record<string, unknown>): Credentials | undefined | "bad" {
  if (typeof entry?.username === "string" && typeof entry.password === "string") {
    return { username: entry.username, password: entry.password };
  }
  if (typeof entry?.auth !== "string" || entry.auth === "") return undefined;
  let text: string;
  try {
    text = new TextDecoder().decode(Uint8Array.from(atob(entry.auth), (c) => c.charCodeAt(0)));
  } catch {
    return "bad";
  }
  const i = text.indexOf(":");
  return i <= 0 ? "bad" : { username: text.slice(0, i), password: text.slice(i + 1) };
}
