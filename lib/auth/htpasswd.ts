/**
 * @module
 * The users of pull access control: an htpasswd file of bcrypt entries, as
 * `htpasswd -B` writes them (`alice:$2y$05$…`), verified with bcryptjs. Other hash kinds
 * (apr1 MD5, SHA-1, crypt, plain) are refused at load, naming the file and the line and
 * never printing the hash: a bcrypt-only file is what distribution's own htpasswd auth
 * accepts too, and the weak kinds are offline-crackable.
 *
 * bcrypt costs ~50-100 ms a check by design, and Basic credentials come on every request,
 * so a successful check is remembered for a short while (an lru-cache with a TTL) keyed by
 * a salted SHA-256 of user and password: the password itself is never stored. A new file
 * (SIGHUP) is a new {@link Users}, so its cache starts empty.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs/promises";
import bcrypt from "bcryptjs";
import { LRUCache } from "lru-cache";

/**
 * A bad htpasswd or token key file: exit status 2 at start (like a ConfigError, recognised by
 * `exitCode`), a refused reload on SIGHUP (the old users keep working).
 */
export class AuthFileError extends Error {
  override name = "AuthFileError";
  readonly exitCode = 2;
}

/** bcrypt as `htpasswd -B` (`$2y$`), OpenBSD (`$2b$`) and older libraries (`$2a$`) write it. */
const BCRYPT = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;

/** What a hash that is not bcrypt looks like, for the refusal (the hash is never shown). */
function hashKind(hash: string): string {
  if (hash.startsWith("$apr1$")) return "an MD5 (apr1) hash";
  if (hash.startsWith("{SHA}")) return "a SHA-1 hash";
  if (/^\$[156]\$/.test(hash)) return "a crypt(3) MD5/SHA hash";
  if (hash.startsWith("$2")) return "a malformed bcrypt hash";
  return "not a bcrypt hash";
}

/** Parses an htpasswd file's text into user → bcrypt hash. Throws AuthFileError. */
export function parseHtpasswd(text: string, file: string): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const where = `htpasswd ${JSON.stringify(file)}: line ${i + 1}`;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new AuthFileError(`${where}: expected "user:hash"`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      throw new AuthFileError(
        `${where}: user ${JSON.stringify(user)}: ${hashKind(hash)}; only bcrypt entries ` +
          `are accepted (make them with "htpasswd -B")`,
      );
    }
    if (users.has(user)) throw new AuthFileError(`${where}: user ${JSON.stringify(user)} again`);
    users.set(user, hash);
  });
  return users;
}

/** How long, and how many, successful checks are remembered. */
export interface UsersOptions {
  cacheTtlMs?: number;
  cacheSize?: number;
}

/** The users of one htpasswd file. */
export class Users {
  readonly #hashes: ReadonlyMap<string, string>;
  /** Salted hash of verified credentials → the user they belong to. */
  readonly #ok: LRUCache<string, string>;
  readonly #salt = randomBytes(16);
  /** Compared against for unknown users, so a wrong name costs what a wrong password does. */
  readonly #dummy = bcrypt.hashSync("static-registry", 4);

  constructor(hashes: ReadonlyMap<string, string>, opts: UsersOptions = {}) {
    this.#hashes = hashes;
    this.#ok = new LRUCache({ max: opts.cacheSize ?? 10_000, ttl: opts.cacheTtlMs ?? 60_000 });
  }

  /** Whether `user` is in the file. */
  has(user: string): boolean {
    return this.#hashes.has(user);
  }

  /** The users, in file order. */
  names(): string[] {
    return [...this.#hashes.keys()];
  }

  /**
   * A short digest of the user's hash: a refresh token carries it, so changing the
   * password (or removing the user) revokes the refresh tokens issued before.
   */
  fingerprint(user: string): string | undefined {
    const h = this.#hashes.get(user);
    return h === undefined ? undefined : createHash("sha256").update(h).digest("hex").slice(0, 16);
  }

  /** Checks a password; a success is cached (see the module doc), a failure never. */
  async verify(user: string, password: string): Promise<boolean> {
    const key = this.#key("p", user, password);
    if (this.#ok.get(key) !== undefined) return true;
    const hash = this.#hashes.get(user);
    const ok = await bcrypt.compare(password, hash ?? this.#dummy) && hash !== undefined;
    if (ok) this.#ok.set(key, user);
    return ok;
  }

  /** Whether this user and password were verified recently (no bcrypt). */
  cached(user: string, password: string): boolean {
    return this.#ok.get(this.#key("p", user, password)) !== undefined;
  }

  /**
   * The user of a Basic credential (the header's base64 text) verified recently: the
   * per-request fast path, one hash and no decoding (lib/auth/caller.ts).
   */
  cachedBasic(encoded: string): string | undefined {
    return this.#ok.get(this.#key("b", encoded, ""));
  }

  /** Remembers a verified Basic credential for {@link cachedBasic}. */
  rememberBasic(encoded: string, user: string): void {
    this.#ok.set(this.#key("b", encoded, ""), user);
  }

  #key(kind: string, a: string, b: string): string {
    return createHash("sha256").update(this.#salt).update(kind).update(a).update("\0")
      .update(b).digest("base64");
  }
}

/** Reads and parses an htpasswd file. Throws AuthFileError naming the file. */
export async function loadUsers(file: string, opts?: UsersOptions): Promise<Users> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "file not found" : (e as Error).message;
    throw new AuthFileError(`cannot read htpasswd ${JSON.stringify(file)}: ${why}`, { cause: e });
  }
  return new Users(parseHtpasswd(text, file), opts);
}
