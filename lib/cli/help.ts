/**
 * @module
 * Usage texts of the CLI: `static-registry --help` and `static-registry <cmd> --help`.
 */
import { VERSION_TEXT } from "../version.ts";

export const MAIN_HELP = `${VERSION_TEXT}
A pull-only OCI container registry over a static layout (directory, S3 bucket, HTTP base URL).

Usage:
  static-registry [serve] --config FILE     run the registry (the default command); or
  static-registry [serve] --store STORE     with no file: flags and STATIC_REGISTRY_* variables
  static-registry publish SOURCE REPO[:TAG] --to DIR
                                            copy an image into a store
  static-registry check --config FILE       verify every origin holds every referenced object
  static-registry export --from STORE [REPO[:TAG]...] oci-archive:FILE
                                            write repositories as an OCI layout (air gap out)
  static-registry import oci-archive:FILE --to STORE
                                            publish every image of an OCI layout (air gap in)
  static-registry delete REPO:TAG|REPO@DIGEST... --from STORE [--dry-run]
                                            untag / remove manifests (retention: --keep-*)
  static-registry sync FILE --to STORE [--dry-run] [--json]
                                            mirror images from other registries (docker://)
  static-registry hosts --config FILE [--json]
                                            every host:port clients may be redirected to
  static-registry gc --store STORE [--grace 24h] [--dry-run] [--json]
                                            remove what no repository references
  static-registry migrate --store STORE [--dry-run]
                                            upgrade a store to layout version 2
  static-registry --help | -h               this text; "<command> --help" for one command
  static-registry --version                 print the version

Run "static-registry serve --help" for the server's flags and environment.
`;

export const SERVE_HELP =
  `Usage: static-registry [serve] --config FILE [--listen ADDR] [--store STORE] [--origin URL]
       static-registry [serve] --store STORE [--listen ADDR] [--origin URL]     (no file)

Serves the OCI distribution pull API from the store named in FILE (JSON; schema in
docs/config.schema.json). Blob GETs are redirected to the first healthy origin. Without a
file, the flags and the environment are the whole config (at least a store):
  static-registry serve --store ./data --listen 0.0.0.0:5000 --origin https://cdn.example/r

Options:
  -c, --config FILE   config file (JSON); relative paths in it resolve against its folder
      --listen ADDR   listen address, "host:port" or "[v6]:port" (overrides the file)
      --store STORE   directory, s3://bucket/prefix or http(s):// URL (overrides the file);
                      a relative directory starts at the working directory
      --origin [NAME=]URL[,...]
                      origins, in order of preference (repeatable; overrides the file's);
                      NAME defaults to the URL's host
  -h, --help          this text

Environment (used only for keys neither a flag nor the file sets): every scalar key of
the config as STATIC_REGISTRY_ and its path in words, e.g.
  STATIC_REGISTRY_LISTEN, STATIC_REGISTRY_STORE, STATIC_REGISTRY_ORIGINS ([NAME=]URL,...),
  STATIC_REGISTRY_LOG_LEVEL (or STATIC_REGISTRY_LOG), STATIC_REGISTRY_HEALTH_INTERVAL,
  STATIC_REGISTRY_S3_REGION, STATIC_REGISTRY_S3_FORCE_PATH_STYLE (true/false),
  STATIC_REGISTRY_TLS_CERT, STATIC_REGISTRY_TLS_KEY, STATIC_REGISTRY_HTTP_TRUSTED_PROXIES
  (comma-separated), STATIC_REGISTRY_RATE_LIMIT_PER_CLIENT. Lists of objects (mounts, auth)
  need the file.

Signals: SIGHUP re-reads FILE and refreshes the index (a broken file is reported and the
running config kept); SIGTERM/SIGINT stop accepting, drain requests and exit 0.
Exit status: 0 after a clean shutdown, 1 on a runtime failure, 2 on a usage/config error.
`;
