/**
 * @module
 * The certificate of a running instance (lib/cli/instance.ts): read and checked at start
 * (a bad pair is a ConfigError, exit 2, before anything is started), re-read on every
 * reload (renewal tools overwrite the files in place, then send SIGHUP), and swapped into
 * the listener only when its bytes changed (lib/runtime/listener.ts: new connections get
 * the new pair, open ones keep theirs).
 *
 * Whether the server speaks HTTPS at all is fixed at start, like `listen`: adding or
 * removing `tls` in the file is logged as needing a restart.
 */
import type { ResolvedConfig } from "../config/resolve.ts";
import { expiryWarning, readTls, samePair, type TlsPair } from "../config/tls.ts";
import type { Logger } from "../log.ts";
import type { RunningServer } from "../runtime/runtime.ts";

/** The pair being served, if any. */
export class TlsState {
  private constructor(public pair: TlsPair | undefined) {}

  /** Reads `config.tls` (throws ConfigError naming key and file), warns near expiry. */
  static async load(config: ResolvedConfig, log: Logger): Promise<TlsState> {
    return new TlsState(await readChecked(config, log));
  }

  /** The leaf's notAfter in Unix seconds (`static_registry_tls_cert_expiry_seconds`). */
  expirySeconds = (): number | undefined =>
    this.pair === undefined ? undefined : Math.floor(this.pair.notAfter / 1000);

  /**
   * The pair `next` asks for, to hand to {@link apply}: the running one when nothing
   * changed (or a restart is needed to change it). Throws ConfigError on a bad pair, and
   * the caller refuses the reload.
   */
  async reread(next: ResolvedConfig, server: RunningServer, log: Logger) {
    const pair = await readChecked(next, log);
    if (server.tls !== (pair !== undefined)) {
      log.warn(
        { tls: pair !== undefined },
        "tls added to or removed from the config: restart to apply it",
      );
      return this.pair;
    }
    return samePair(pair, this.pair) ? this.pair : pair;
  }

  /** Serves `pair` to new connections (throws when the new listener cannot bind). */
  async apply(pair: TlsPair, server: RunningServer, log: Logger): Promise<void> {
    await server.setTls({ cert: pair.cert, key: pair.key });
    log.info(
      { certificate: pair.certFile, serial: pair.serial, previous: this.pair?.serial },
      "TLS certificate replaced: new connections use it, open ones keep the old one",
    );
    this.pair = pair;
  }
}

async function readChecked(config: ResolvedConfig, log: Logger) {
  if (!config.tls) return undefined;
  const pair = await readTls(config.tls, { configFile: config.file });
  const warning = expiryWarning(pair);
  if (warning) log.warn({ certificate: pair.certFile, notAfter: pair.notAfter }, warning);
  return pair;
}
