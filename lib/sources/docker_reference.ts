/**
 * @module
 * The `docker://HOST[:PORT]/REPO[:TAG|@DIGEST]` reference grammar, as skopeo reads it
 * (containers-transports(5) §"docker://docker-reference"): a first component with a `.`
 * or `:`, `localhost`, or a `[v6]` literal is a registry host; otherwise the image is on
 * Docker Hub (`docker.io`, one-component names get `library/`). HTTPS always, except
 * loopback hosts, which are spoken to in plain HTTP (docker_registry.ts says why).
 */
import { digestProblem } from "../oci/digest.ts";
import { isTag, nameProblem } from "../oci/reference.ts";
import { UsageError } from "../cli/usage.ts";
import { isLoopback } from "./registry_client.ts";

/** A parsed `docker://` reference. */
export interface DockerReference {
  /** As written (`127.0.0.1:5000`), or `docker.io`. */
  host: string;
  /** API origin: `http://127.0.0.1:5000`, `https://registry-1.docker.io`. */
  base: string;
  repository: string;
  /** The tag (`latest` when neither tag nor digest is given). */
  tag?: string;
  digest?: string;
}

/** Parses what follows `docker:`; throws UsageError naming the part that is wrong. */
export function parseDockerReference(rest: string, spec: string): DockerReference {
  const bad = (why: string) => new UsageError(`source "${spec}": ${why}`);
  if (!rest.startsWith("//")) throw bad('expected "docker://HOST/REPO[:TAG]"');
  let name = rest.slice(2);
  let tag: string | undefined;
  let digest: string | undefined;
  const at = name.indexOf("@");
  if (at >= 0) {
    digest = name.slice(at + 1);
    name = name.slice(0, at);
    const why = digestProblem(digest);
    if (why) throw bad(`digest "${digest}": ${why}`);
  } else if (name.lastIndexOf(":") > name.lastIndexOf("/")) {
    tag = name.slice(name.lastIndexOf(":") + 1);
    name = name.slice(0, name.lastIndexOf(":"));
    if (!isTag(tag)) throw bad(`tag "${tag}": must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
  }
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  let host = "docker.io";
  let repository = name;
  if (/[.:]/.test(first) || first === "localhost" || first.startsWith("[")) {
    host = first;
    repository = name.slice(slash + 1);
  } else if (!name.includes("/")) {
    repository = `library/${name}`;
  }
  if (!/^(\[[0-9a-fA-F:]+\]|[a-zA-Z0-9.-]+)(:\d{1,5})?$/.test(host)) {
    throw bad(`registry host "${host}" is not HOST[:PORT]`);
  }
  const why = nameProblem(repository);
  if (why) throw bad(`repository "${repository}": ${why}`);
  const base = host === "docker.io"
    ? "https://registry-1.docker.io"
    : `${isLoopback(host) ? "http" : "https"}://${host}`;
  return { host, base, repository, ...(digest ? { digest } : { tag: tag ?? "latest" }) };
}
