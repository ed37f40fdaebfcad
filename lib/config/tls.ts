/**
 * @module
 * `tls` in the config: the certificate chain and private key the server speaks HTTPS with.
 *
 * {@link resolveTls} turns the file's paths into absolute ones (relative to the config
 * file's folder, like a directory store). {@link readTls} reads and checks the pair, at
 * start and on every SIGHUP, and refuses with a {@link ConfigError} naming the key and the
 * file when the server could not (or should not) serve it:
 *
 *   config "/etc/sr/cfg.json": tls.key: "/etc/sr/key.pem" does not match the certificate
 *   in tls.cert "/etc/sr/fullchain.pem"
 *
 * The checks are node:crypto's (`X509Certificate`, `createPrivateKey`, `checkPrivateKey`),
 * which Deno and Bun both provide, so a bad pair is refused before the listener is
 * touched: Bun.serve would otherwise fail at bind time with an OpenSSL error that names
 * neither key nor file, or — for an expired certificate — serve it happily.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { ConfigError, quote } from "./errors.ts";

/** Where the pair lives: absolute paths (what the resolved config holds). */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** A checked pair, ready for the listener: the PEM texts and what people are told about it. */
export interface TlsPair extends TlsFiles {
  /** The chain as read (leaf first), PEM. */
  cert: string;
  /** The private key, PEM. Never logged. */
  key: string;
  /** The leaf's serial number, upper-case hex (what `openssl x509 -serial` prints). */
  serial: string;
  subject: string;
  /** Validity of the leaf, in ms since the epoch. */
  notBefore: number;
  notAfter: number;
}

/** A certificate that expires sooner than this is warned about at load (not refused). */
export const EXPIRY_WARNING_MS = 14 * 24 * 3600_000;

/** Resolves `tls.cert`/`tls.key` against `baseDir` (the config file's folder). */
export function resolveTls(
  tls: { cert: string; key: string },
  baseDir: string,
): TlsFiles {
  return { certFile: path.resolve(baseDir, tls.cert), keyFile: path.resolve(baseDir, tls.key) };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Reads and checks the pair: both files readable, the cert file holds at least one PEM
 * certificate (the first is the leaf; the rest, the chain, are sent as they are), the key
 * is an unencrypted private key that matches the leaf, and the leaf is valid at `now`.
 * `configFile` labels the messages like every other config error.
 */
export async function readTls(
  files: TlsFiles,
  opts: { configFile?: string; now?: number } = {},
): Promise<TlsPair> {
  const label = opts.configFile === undefined ? "config" : `config ${quote(opts.configFile)}`;
  const fail = (key: "cert" | "key", file: string, why: string, cause?: unknown): never => {
    throw new ConfigError(`${label}: tls.${key}: ${quote(file)} ${why}`, { cause });
  };
  const cert = await readPem(files.certFile, (why, e) => fail("cert", files.certFile, why, e));
  const key = await readPem(files.keyFile, (why, e) => fail("key", files.keyFile, why, e));

  const blocks = cert.match(PEM_CERT);
  if (!blocks) return fail("cert", files.certFile, "holds no PEM certificate");
  let leaf: X509Certificate | undefined;
  try {
    leaf = new X509Certificate(blocks[0]);
  } catch (e) {
    fail("cert", files.certFile, `is not a valid certificate: ${(e as Error).message}`, e);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    fail(
      "key",
      files.keyFile,
      `is not an unencrypted PEM private key: ${(e as Error).message}`,
      e,
    );
  }
  if (!leaf!.checkPrivateKey(privateKey!)) {
    fail(
      "key",
      files.keyFile,
      `does not match the certificate in tls.cert ${quote(files.certFile)}`,
    );
  }
  const notBefore = Date.parse(leaf!.validFrom);
  const notAfter = Date.parse(leaf!.validTo);
  const now = opts.now ?? Date.now();
  if (now >= notAfter) {
    fail("cert", files.certFile, `expired on ${new Date(notAfter).toISOString()}`);
  }
  if (now < notBefore) {
    fail("cert", files.certFile, `is not valid before ${new Date(notBefore).toISOString()}`);
  }
  return {
    ...files,
    cert,
    key,
    serial: leaf!.serialNumber.toUpperCase().replace(/^0+(?=.)/, ""), // one number, however padded
    subject: leaf!.subject.replaceAll("\n", ", "),
    notBefore,
    notAfter,
  };
}

/** The warning to log when the pair expires within {@link EXPIRY_WARNING_MS}, if it does. */
export function expiryWarning(pair: TlsPair, now = Date.now()): string | undefined {
  const left = pair.notAfter - now;
  if (left >= EXPIRY_WARNING_MS) return undefined;
  const days = Math.floor(left / (24 * 3600_000));
  return `the TLS certificate in ${quote(pair.certFile)} expires in ${days} days (${
    new Date(pair.notAfter).toISOString()
  }): renew it and send SIGHUP`;
}

/** Whether two pairs would serve the same thing (a reload with unchanged files is a no-op). */
export function samePair(a: TlsPair | undefined, b: TlsPair | undefined): boolean {
  return a?.cert === b?.cert && a?.key === b?.key;
}

async function readPem(
  file: string,
  fail: (why: string, cause: unknown) => never,
): Promise<string> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(
      code === "ENOENT"
        ? "cannot be read: file not found"
        : code === "EISDIR"
        ? "cannot be read: is a directory, not a file"
        : code === "EACCES"
        ? "cannot be read: permission denied"
        : `cannot be read: ${(e as Error).message}`,
      e,
    );
  }
}
