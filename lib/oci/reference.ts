/**
 * @module
 * Grammars for repository names, tags and references, from the OCI distribution spec
 * §"Pulling manifests" (`<name>` and `<reference>`), pure and without I/O.
 */
import { errors } from "./errors.ts";
import { isDigest, parseDigest } from "./digest.ts";

/**
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`
 * (distribution-spec §"Pulling manifests").
 */
export const NAME_RE =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
/** `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}` (distribution-spec §"Pulling manifests"). */
export const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
/**
 * Distribution (the reference implementation) caps a name at 255 characters in total;
 * the spec says clients SHOULD keep host+name under 255. We refuse longer names.
 */
export const NAME_MAX = 255;

/**
 * Why `name` is not a valid repository name, or null when it is: in words a person can act
 * on ("must be lowercase"), not the grammar's regex. {@link NAME_RE} decides; the reason
 * is looked for only when it refuses.
 */
export function nameProblem(name: string): string | null {
  if (name.length === 0) return "empty";
  if (name.length > NAME_MAX) return `longer than ${NAME_MAX} characters`;
  if (!NAME_RE.test(name)) return grammarProblem(name);
  return null;
}

/** The first rule of the name grammar that `name` breaks, in words. */
function grammarProblem(name: string): string {
  if (/[A-Z]/.test(name)) return "must be lowercase";
  const odd = /[^a-z0-9._\-/]/u.exec(name);
  if (odd) {
    return `may contain only a-z, 0-9, ".", "_", "-" and "/", not ${JSON.stringify(odd[0])}`;
  }
  for (const part of name.split("/")) {
    if (part === "") return 'components separated by "/" must not be empty';
    if (!/^[a-z0-9]/.test(part) || !/[a-z0-9]$/.test(part)) {
      return `each component must start and end with a letter or digit, got ${
        JSON.stringify(part)
      }`;
    }
    for (const sep of part.match(/[._-]+/g) ?? []) {
      if (!/^(?:\.|_|__|-+)$/.test(sep)) {
        return `letters and digits are joined by one ".", one "_", "__" or "-"s, got ${
          JSON.stringify(sep)
        } in ${JSON.stringify(part)}`;
      }
    }
  }
  return `must match ${NAME_RE.source}`; // not reached: the rules above are the grammar
}

export function isName(name: string): boolean {
  return nameProblem(name) === null;
}

/** Throws NAME_INVALID unless `name` is a valid repository name. */
export function assertName(name: string): string {
  const why = nameProblem(name);
  if (why) throw errors.nameInvalid(name, why);
  return name;
}

export function isTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

/** A manifest reference: a tag or a digest. */
export type Reference = { kind: "tag"; tag: string } | { kind: "digest"; digest: string };

/**
 * Parses the `<reference>` of `/v2/<name>/manifests/<reference>`. A reference containing
 * `:` must be a digest; anything else must be a tag. Throws MANIFEST_UNKNOWN for a
 * malformed tag (distribution answers 404 there) and DIGEST_INVALID for a bad digest.
 */
export function parseReference(ref: string): Reference {
  if (ref.includes(":")) return { kind: "digest", digest: parseDigest(ref).digest };
  if (!isTag(ref)) {
    throw errors.manifestUnknown(ref);
  }
  return { kind: "tag", tag: ref };
}

export { isDigest };

/**
 * Splits a CLI image argument `repo[:tag]` or `repo@digest`.
 * `demo/hello` → `{ name: "demo/hello", tag: undefined }`.
 */
export function splitRepoTag(arg: string): { name: string; tag?: string; digest?: string } {
  const at = arg.indexOf("@");
  if (at >= 0) return { name: arg.slice(0, at), digest: arg.slice(at + 1) };
  const slash = arg.lastIndexOf("/");
  const colon = arg.lastIndexOf(":");
  if (colon > slash) return { name: arg.slice(0, colon), tag: arg.slice(colon + 1) };
  return { name: arg };
}
