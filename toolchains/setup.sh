#!/usr/bin/env bash
# Sets up everything Lead Returns needs to build and test, on Debian 12, idempotently:
#   1. the Debian packages below (installed only when one is missing),
#   2. the pinned SQLite amalgamation for the wasm build, taken from the npm package
#      better-sqlite3 and checked against pinned SHA-256 sums,
#   3. the browser tests' npm packages (tests/browser/package-lock.json: pinned versions and
#      integrity hashes, installed with `npm ci` into <cache>/browser).
# Quick when everything is present. Works without a terminal (CI). Run as root, or with sudo.
#   RETURNS_CACHE_DIR  where downloads and the amalgamation go (default: <repo>/.cache)
set -euo pipefail

# --- Pins ---------------------------------------------------------------------------------------
# Debian packages. "name" is checked with dpkg-query; "name:cmd" is satisfied by command `cmd`
# (Node may come from another repository that bundles npm; Debian's npm conflicts with it).
PACKAGES=(
  make
  ca-certificates
  cmake
  ninja-build
  g++
  emscripten
  nodejs:node
  npm:npm
  libboost1.81-dev
  nlohmann-json3-dev
  libsqlite3-dev
  libssl-dev
  googletest
  libgtest-dev
  libbenchmark-dev
  clang-format
  openssl:openssl
  node-typescript:tsc
  chromium:chromium
  fonts-liberation
)

# SQLite amalgamation for the wasm build (SQLite 3.53.0, shipped inside better-sqlite3).
SQLITE_NPM_PACKAGE=better-sqlite3
SQLITE_NPM_VERSION=12.9.0
SQLITE_NPM_TARBALL_SHA256=ad0e29650140c49d0335b1d356596aa8166f12b758f418a98446130e3278f250
SQLITE_VERSION=3.53.0
SQLITE_C_SHA256=391855ddc7af04001364430884d263cbe8638f852c83865823a2d08358f6b87d
SQLITE_H_SHA256=8e43a79982422f4720685f62839718f0e41410c1b71355aa32af3615ccd9e31d
# ------------------------------------------------------------------------------------------------

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="${RETURNS_CACHE_DIR:-$ROOT/.cache}"
SQLITE_DIR="$CACHE_DIR/sqlite-wasm"

say() { printf 'setup: %s\n' "$*"; }
die() {
  printf 'setup: ERROR: %s\n' "$*" >&2
  exit 1
}
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- 1. Debian packages -------------------------------------------------------------------------
package_present() {
  local name="${1%%:*}" cmd=""
  [[ "$1" == *:* ]] && cmd="${1#*:}"
  if [[ -n "$cmd" ]]; then
    command -v "$cmd" >/dev/null 2>&1
  else
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null)" == "installed" ]]
  fi
}

missing=()
for entry in "${PACKAGES[@]}"; do
  package_present "$entry" || missing+=("${entry%%:*}")
done

if ((${#missing[@]} == 0)); then
  say "packages: all ${#PACKAGES[@]} present"
else
  say "packages: installing ${missing[*]}"
  SUDO=()
  if [[ "$(id -u)" -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
      die "must run as root (or have sudo) to install: ${missing[*]}"
    SUDO=(sudo)
  fi
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" </dev/null >/dev/null || die "apt-get install failed for: ${missing[*]}"
  for entry in "${PACKAGES[@]}"; do
    package_present "$entry" || die "package ${entry%%:*} still missing after install"
  done
  say "packages: installed ${#missing[@]}"
fi

# --- 2. SQLite amalgamation for the wasm build --------------------------------------------------
sqlite_verified() {
  [[ -f "$SQLITE_DIR/sqlite3.c" && -f "$SQLITE_DIR/sqlite3.h" ]] &&
    [[ "$(sha256_of "$SQLITE_DIR/sqlite3.c")" == "$SQLITE_C_SHA256" ]] &&
    [[ "$(sha256_of "$SQLITE_DIR/sqlite3.h")" == "$SQLITE_H_SHA256" ]]
}

if sqlite_verified; then
  say "sqlite-wasm: SQLite $SQLITE_VERSION present and verified"
else
  mkdir -p "$CACHE_DIR"
  tarball="$CACHE_DIR/$SQLITE_NPM_PACKAGE-$SQLITE_NPM_VERSION.tgz"
  if [[ ! -f "$tarball" || "$(sha256_of "$tarball")" != "$SQLITE_NPM_TARBALL_SHA256" ]]; then
    say "sqlite-wasm: fetching $SQLITE_NPM_PACKAGE@$SQLITE_NPM_VERSION from npm"
    rm -f "$tarball"
    # npm needs a cache folder; without a HOME (some CI shells) keep it beside the download.
    [[ -n "${HOME:-}" ]] || export npm_config_cache="$CACHE_DIR/npm"
    (cd "$CACHE_DIR" &&
      npm pack --silent --prefer-offline --no-fund --no-audit --no-update-notifier \
        "$SQLITE_NPM_PACKAGE@$SQLITE_NPM_VERSION" </dev/null >/dev/null) ||
      die "npm pack $SQLITE_NPM_PACKAGE@$SQLITE_NPM_VERSION failed"
    [[ -f "$tarball" ]] || die "npm pack did not produce $tarball"
  fi
  got="$(sha256_of "$tarball")"
  if [[ "$got" != "$SQLITE_NPM_TARBALL_SHA256" ]]; then
    rm -f "$tarball"
    die "SHA-256 mismatch for $SQLITE_NPM_PACKAGE-$SQLITE_NPM_VERSION.tgz:
  expected $SQLITE_NPM_TARBALL_SHA256
  got      $got
(the tarball was removed; if the pin changed on purpose, update toolchains/setup.sh)"
  fi
  say "sqlite-wasm: tarball verified, extracting sqlite3.c/.h"
  tmp="$(mktemp -d "$CACHE_DIR/.sqlite-extract.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  tar -xzmf "$tarball" -C "$tmp" package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h ||
    die "$SQLITE_NPM_PACKAGE-$SQLITE_NPM_VERSION.tgz lacks package/deps/sqlite3/sqlite3.{c,h}"
  for f in sqlite3.c sqlite3.h; do
    want="$SQLITE_C_SHA256"
    [[ "$f" == sqlite3.h ]] && want="$SQLITE_H_SHA256"
    got="$(sha256_of "$tmp/package/deps/sqlite3/$f")"
    [[ "$got" == "$want" ]] ||
      die "SHA-256 mismatch for $f from $SQLITE_NPM_PACKAGE@$SQLITE_NPM_VERSION:
  expected $want
  got      $got"
  done
  mkdir -p "$SQLITE_DIR"
  mv -f "$tmp/package/deps/sqlite3/sqlite3.c" "$tmp/package/deps/sqlite3/sqlite3.h" "$SQLITE_DIR/"
  rm -rf "$tmp"
  trap - EXIT
  sqlite_verified || die "verification of $SQLITE_DIR failed after extraction"
  say "sqlite-wasm: SQLite $SQLITE_VERSION placed in $SQLITE_DIR"
fi

# --- 3. Browser tests: playwright-core (drives Debian's chromium; it never downloads a browser) ---
BROWSER_DIR="$CACHE_DIR/browser"
browser_deps_current() {
  [[ -f "$BROWSER_DIR/node_modules/.package-lock.json" ]] &&
    cmp -s "$ROOT/tests/browser/package-lock.json" "$BROWSER_DIR/package-lock.json"
}
if browser_deps_current; then
  say "browser tests: npm packages present (tests/browser/package-lock.json)"
else
  say "browser tests: npm ci (tests/browser/package-lock.json)"
  mkdir -p "$BROWSER_DIR"
  cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$BROWSER_DIR/"
  [[ -n "${HOME:-}" ]] || export npm_config_cache="$CACHE_DIR/npm"
  (cd "$BROWSER_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-fund --no-audit \
    --no-update-notifier </dev/null >/dev/null) || die "npm ci in $BROWSER_DIR failed"
  browser_deps_current || die "browser test packages missing after npm ci"
  say "browser tests: installed into $BROWSER_DIR"
fi

say "done"
