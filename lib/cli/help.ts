/**
 * @module
 * Usage texts of the CLI: `static-registry --help` and `static-registry <cmd> --help`.
 */
import { VERSION_TEXT } from "../version.ts";

export const MAIN_HELP = `${VERSION_TEXT}
A pull-only OCI container registry over a static layout (directory, S3 bucket, HTTP base URL).

Usage:
  static-registry [serve] --config FILE     run the registry (the default command)
  static-registry publish SOURCE REPO[:TAG] --to DIR
                                            copy an image into a store
  static-registry check --config FILE       verify every origin holds every referenced object
  static-registry export --from STORE [REPO[:TAG]...] oci-archive:FILE
                                            write repositories as an OCI layout (air gap out)
  static-registry import oci-archive:FILE --to STORE
                                            publish every image of an OCI layout (air gap in)
  static-registry hosts --config FILE [--json]
                                            every host:port clients may be redirected to
  static-registry --help | -h               this text; "<command> --help" for one command
  static-registry --version                 print the version

Run "static-registry serve --help" for the server's flags and environment.
`;

export const SERVE_HELP =
  `Usage: static-registry [serve] --config FILE [--listen ADDR] [--store STORE]

Serves the OCI distribution pull API from the store named in FILE (JSON; schema in
docs/config.schema.json). Blob GETs are redirected to the first healthy origin.

Options:
  -c, --config FILE   config file (JSON); relative paths in it resolve against its folder
      --listen ADDR   listen address, "host:port" or "[v6]:port" (overrides the file)
      --store STORE   directory, s3://bucket/prefix or http(s):// URL (overrides the file)
  -h, --help          this text

Environment (used only when neither a flag nor the file sets the key):
  STATIC_REGISTRY_LISTEN, STATIC_REGISTRY_STORE, STATIC_REGISTRY_LOG (log level)

Signals: SIGHUP re-reads FILE and refreshes the index (a broken file is reported and the
running config kept); SIGTERM/SIGINT stop accepting, drain requests and exit 0.
Exit status: 0 after a clean shutdown, 1 on a runtime failure, 2 on a usage/config error.
`;
