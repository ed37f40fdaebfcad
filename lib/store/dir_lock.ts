/**
 * @module
 * The directory store's lock: an exclusive file `<dir>/<name>.lock` holding
 * `host pid token`, for read-modify-write of shared documents between publishers.
 *
 * Taking a free lock: the holder line is written to a temp file, then hard-linked into
 * place (link(2) fails with EEXIST while the lock is held). An O_EXCL create followed by a
 * write would leave an EMPTY lock file when the publisher is killed in between, and an
 * empty file names no holder whose death could be noticed.
 *
 * Taking over a stale lock (its holder died on this host, SIGKILL) must be done by ONE
 * waiter. "Read the holder, see it is dead, rm the file" is not: two waiters both judge
 * the lock stale, the first removes it and links its own, the second then removes the
 * first's live lock and links its own, and both hold it (issue 9, defect 4: a lost tag).
 * So the right to remove one lock INSTANCE is itself claimed by link(2): a claim file
 * named after that instance's random token (`<name>.lock.<token>.<level>`). Exactly one
 * waiter creates it; only that waiter removes the lock file, and only after reading back
 * the same holder line (the instance it judged: nobody else may remove that instance, and
 * its dead holder cannot release it, so the read and the removal cannot be separated by
 * another change). A waiter that finds another instance in place leaves it alone.
 * A claimant that dies between claim and removal leaves its claim: a claim whose own
 * holder is dead is passed by claiming the next level, so no claim blocks forever.
 *
 * A lock file of an older version holds `host pid` without a token; its claims are named
 * after its inode number instead (the holder line alone is not unique across instances).
 */
import * as fs from "node:fs/promises";
import { hostname } from "node:os";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";

/** Levels of claims passed over (each one's claimant dead) before giving up. */
const MAX_CLAIM_LEVELS = 16;

export interface DirLockOptions {
  /** How long to wait for a live holder before giving up (ms). */
  timeoutMs: number;
  signal?: AbortSignal;
  /** For messages: the store (`/srv/data`). */
  location: string;
}

/** Takes the lock `name` in directory `dir`; resolves to its release function. */
export async function acquireDirLock(
  dir: string,
  name: string,
  opts: DirLockOptions,
): Promise<() => Promise<void>> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name.replaceAll("/", "%2F")}.lock`);
  const tmp = path.join(dir, `.${randomUUID()}.tmp`);
  await fs.writeFile(tmp, `${hostname()} ${process.pid} ${randomUUID()}`);
  try {
    const deadline = Date.now() + opts.timeoutMs;
    for (let wait = 10;; wait = Math.min(wait * 2, 500)) {
      opts.signal?.throwIfAborted();
      try {
        await fs.link(tmp, file);
        return async () => {
          await fs.rm(file, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const holder = await readHolder(file);
      if (holder && isDead(holder.line) && await removeStale(file, holder, tmp)) {
        wait = 10;
        continue; // removed by us, or already gone: try to link again at once
      }
      if (Date.now() > deadline) {
        throw new Error(
          `store ${opts.location}: lock "${name}" is held by ${holder?.line ?? "?"}`,
        );
      }
      // Jitter, so waiters released together do not retry in lockstep.
      await sleep(wait * (0.5 + Math.random()), undefined, { signal: opts.signal }).catch(
        (e) => {
          throw opts.signal?.aborted ? opts.signal.reason : e;
        },
      );
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

interface Holder {
  /** The whole holder line: `host pid [token]`. */
  line: string;
  /** What names this instance's claims: its token, else its inode number. */
  instance: string;
}

/** The lock file's holder, or null when it is gone (or unreadable: treated as live). */
async function readHolder(file: string): Promise<Holder | null> {
  try {
    const [line, st] = await Promise.all([fs.readFile(file, "utf8"), fs.stat(file)]);
    const token = line.split(" ")[2];
    const instance = token && /^[0-9a-f-]{36}$/.test(token) ? token : `ino-${st.ino}`;
    return { line, instance };
  } catch {
    return null;
  }
}

/** Whether the holder line names a process of this host that no longer exists. */
export function isDead(line: string): boolean {
  const [host, pid] = line.split(" ");
  return host === hostname() && /^[0-9]+$/.test(pid ?? "") && isDeadPid(Number(pid));
}

/** Whether no process `pid` exists on this host (a live one, or one we may not signal, is not dead). */
export function isDeadPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * Removes the stale instance `judged` of `file` if this waiter wins the claim on it.
 * True when the lock file is worth linking again at once (we removed it, or the instance
 * is already gone); false when another live waiter is taking it over.
 */
async function removeStale(file: string, judged: Holder, tmp: string): Promise<boolean> {
  for (let level = 0; level < MAX_CLAIM_LEVELS; level++) {
    const claim = `${file}.${judged.instance}.${level}`;
    try {
      await fs.link(tmp, claim);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const claimant = await fs.readFile(claim, "utf8").catch(() => null);
      if (claimant === null) return true; // the winner already cleaned up: retry the link
      if (isDead(claimant)) continue; // died mid-takeover: claim the next level
      return false; // a live waiter is taking it over
    }
    // The claim is ours: nobody else removes this instance now.
    const now = await readHolder(file);
    if (now?.line === judged.line && now.instance === judged.instance) {
      await fs.rm(file, { force: true });
    }
    for (let l = level; l >= 0; l--) {
      await fs.rm(`${file}.${judged.instance}.${l}`, { force: true });
    }
    return true;
  }
  return false;
}
