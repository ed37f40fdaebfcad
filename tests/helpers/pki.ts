/**
 * @module
 * A private test PKI with openssl only (as ../shared/reference/tls-auth/mkca.sh makes it):
 * a CA, and leaves signed by it for some host names plus IP:127.0.0.1 and IP:::1, valid
 * when the test says (`openssl ca -startdate/-enddate`, so expired and not-yet-valid
 * leaves are real certificates too). And what a client sees of a TLS server: the served
 * leaf's serial, whether a protocol version is accepted.
 *
 * @example
 * ```ts
 * const ca = await makeCa(`${tmp}/ca`);
 * const leaf = await makeLeaf(ca, `${tmp}/leaf`, { hosts: ["registry6.test"] });
 * assert.equal(await servedSerial("::1", port), leaf.serial);
 * ```
 */
import { run, runOk } from "./process.ts";

/** A test CA. `certDir` holds only `ca.crt` (what skopeo/podman/docker read as trust). */
export interface TestCa {
  dir: string;
  caPem: string;
  caKey: string;
  certDir: string;
}

/** A leaf: `certFile` is the chain (leaf then CA), as a server should send it. */
export interface TestLeaf {
  certFile: string;
  keyFile: string;
  /** Upper-case hex, as `openssl x509 -serial` and node:crypto print it. */
  serial: string;
}

const openssl = (args: string[]) => runOk("openssl", args, { timeoutMs: 30_000 });

/** A CA (RSA 2048, 10 years, CA:TRUE) in `dir`. */
export async function makeCa(dir: string, cn = "static-registry test CA"): Promise<TestCa> {
  await Deno.mkdir(`${dir}/certs`, { recursive: true });
  const caKey = `${dir}/ca.key`;
  const caPem = `${dir}/ca.pem`;
  await rsaKey(caKey);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    caKey,
    "-sha256",
    "-days",
    "3650",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
    "-out",
    caPem,
  ]);
  await Deno.writeTextFile(`${dir}/certs/ca.crt`, await Deno.readTextFile(caPem));
  // `openssl ca` bookkeeping: an index and a random serial per leaf.
  await Deno.writeTextFile(`${dir}/index.txt`, "");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `database = ${dir}/index.txt`,
      `new_certs_dir = ${dir}`,
      "rand_serial = yes",
      "default_md = sha256",
      "policy = anything",
      "unique_subject = no",
      "copy_extensions = none",
      "[anything]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  return { dir, caPem, caKey, certDir: `${dir}/certs` };
}

/** `YYYYMMDDHHMMSSZ`, what `openssl ca -startdate/-enddate` take. */
function asn1Time(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
}

/**
 * A leaf for `hosts` (DNS SANs; IP:127.0.0.1 and IP:::1 always added), RSA 2048, valid
 * from `notBefore` (default: an hour ago) to `notAfter` (default: in 365 days).
 */
export async function makeLeaf(
  ca: TestCa,
  dir: string,
  opts: { hosts: string[]; notBefore?: number; notAfter?: number },
): Promise<TestLeaf> {
  await Deno.mkdir(dir, { recursive: true });
  const keyFile = `${dir}/key.pem`;
  const csr = `${dir}/leaf.csr`;
  const ext = `${dir}/leaf.ext`;
  const leaf = `${dir}/leaf.pem`;
  const certFile = `${dir}/fullchain.pem`;
  const san = [...opts.hosts.map((h) => `DNS:${h}`), "IP:127.0.0.1", "IP:::1"].join(",");
  await rsaKey(keyFile);
  await openssl(["req", "-new", "-key", keyFile, "-subj", `/CN=${opts.hosts[0]}`, "-out", csr]);
  await Deno.writeTextFile(
    ext,
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      `subjectAltName=${san}`,
      "subjectKeyIdentifier=hash",
      "authorityKeyIdentifier=keyid,issuer",
      "",
    ].join("\n"),
  );
  const now = Date.now();
  await openssl([
    "ca",
    "-batch",
    "-notext",
    "-config",
    `${ca.dir}/ca.cnf`,
    "-cert",
    ca.caPem,
    "-keyfile",
    ca.caKey,
    "-in",
    csr,
    "-out",
    leaf,
    "-extfile",
    ext,
    "-startdate",
    asn1Time(opts.notBefore ?? now - 3600_000),
    "-enddate",
    asn1Time(opts.notAfter ?? now + 365 * 24 * 3600_000),
  ]);
  await Deno.writeTextFile(
    certFile,
    (await Deno.readTextFile(leaf)) + (await Deno.readTextFile(ca.caPem)),
  );
  const serial = (await openssl(["x509", "-in", leaf, "-noout", "-serial"])).stdout
    .trim().replace(/^serial=/, "").toUpperCase()
    // openssl pads to whole bytes (`055D…`), node:crypto does not (`55D…`): one number.
    .replace(/^0+(?=.)/, "");
  return { certFile, keyFile, serial };
}

/** `host` as openssl's `-connect` wants it (`[::1]:P`). */
const connectArg = (host: string, port: number) =>
  `${host.includes(":") ? `[${host}]` : host}:${port}`;

/** The serial of the leaf a NEW connection to `host:port` is served. */
export async function servedSerial(host: string, port: number): Promise<string> {
  const r = await run("sh", [
    "-c",
    `openssl s_client -connect '${connectArg(host, port)}' </dev/null 2>/dev/null | ` +
    "openssl x509 -noout -serial",
  ], { timeoutMs: 15_000 });
  const m = /serial=([0-9A-Fa-f]+)/.exec(r.stdout);
  if (!m) throw new Error(`no certificate served on ${connectArg(host, port)}: ${r.stderr}`);
  return m[1].toUpperCase().replace(/^0+(?=.)/, "");
}

/**
 * Whether a handshake with exactly `version` succeeds. The cipher list is opened to
 * SECLEVEL 0 so that OpenSSL 3's own client policy (which refuses TLS 1.0/1.1 at its
 * default level) cannot be what refuses it: only the server can.
 */
export async function handshakes(
  host: string,
  port: number,
  version: "tls1" | "tls1_1" | "tls1_2" | "tls1_3",
): Promise<{ ok: boolean; output: string }> {
  const r = await run("openssl", [
    "s_client",
    "-connect",
    connectArg(host, port),
    `-${version}`,
    ...(version === "tls1_3" ? [] : ["-cipher", "DEFAULT:@SECLEVEL=0"]),
  ], { timeoutMs: 15_000 });
  const output = r.stdout + r.stderr;
  return { ok: /^New, TLSv1/m.test(output), output };
}

/** A new RSA 2048 private key in `file` (PEM). */
function rsaKey(file: string) {
  return openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    file,
  ]);
}
