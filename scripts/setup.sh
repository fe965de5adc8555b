#!/usr/bin/env bash
# Makes this machine ready to run and test the service; quick when everything is already there.
# Installs only from package registries: the Go module proxy, Debian's packages and npm.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
TEMPORAL_CLI_VERSION="v1.5.1"
# The server of `npm run cluster` and its SQL tool; docker-compose.yml names the same version.
TEMPORAL_SERVER_VERSION="v1.29.1"
# The S3-compatible server the shared artifact store is tested against (ARTIFACT_STORE=s3).
SEAWEEDFS_VERSION="v0.0.0-20261109003541-7506e5f91cd6"
tools="$root/.tools/bin"
say() { printf '[setup] %s\n' "$*"; }

# 1. Debian packages: the local sandbox, PostgreSQL, a compiler for native npm packages, tmux.
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/python3 ] || missing+=(python3)
if [ -x /usr/bin/python3 ]; then
  if ! /usr/bin/python3 -c 'import numpy, pandas, matplotlib' 2>/dev/null; then
    for module in numpy pandas matplotlib; do
      /usr/bin/python3 -c "import $module" 2>/dev/null || missing+=("python3-$module")
    done
  fi
  # Compiles the sandbox's seccomp filter; without it sandboxes run unfiltered, with a warning.
  /usr/bin/python3 -c 'import seccomp' 2>/dev/null || missing+=(python3-seccomp)
  # Lets the sandbox read Excel workbooks (data profiles and generated code alike).
  /usr/bin/python3 -c 'import openpyxl' 2>/dev/null || missing+=(python3-openpyxl)
else
  missing+=(python3-numpy python3-pandas python3-matplotlib python3-seccomp python3-openpyxl)
fi
# PostgreSQL for the service's database when DATABASE_URL is set (tests start one of their own), and a
# compiler for better-sqlite3, which npm builds from source where no prebuilt binary can be fetched.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || missing+=(g++ make)
# A terminal for the test that watches the CLI's progress bar being drawn (capture-pane).
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
# The browser the web console's tests drive (headless, through playwright-core).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The certificates of `npm run cluster` (mutual TLS) are made with openssl.
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. The Temporal CLI (dev server and Web UI), built from source once.
if [ ! -x "$tools/temporal" ] || ! "$tools/temporal" --version 2>/dev/null | grep -q 'Server'; then
  command -v go >/dev/null 2>&1 || { say "Go is needed to build the Temporal CLI: install Go 1.25 or newer"; exit 1; }
  say "building the Temporal CLI $TEMPORAL_CLI_VERSION with Go (a few minutes, once)..."
  mkdir -p "$tools"
  started=$(date +%s)
  GOBIN="$tools" GOFLAGS=-mod=mod go install -v "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_CLI_VERSION" 2>&1 |
    awk '{ n++; if (n % 40 == 0) printf "[setup]   %d packages compiled...\n", n; fflush() }'
  [ -x "$tools/temporal" ] || { say "building the Temporal CLI failed"; exit 1; }
  say "Temporal CLI built in $(($(date +%s) - started)) s: $("$tools/temporal" --version)"
fi

# 2b. The Temporal server and its SQL tool, for a cluster on PostgreSQL (`npm run cluster`, the
# cluster tests), built from source once, with the PostgreSQL schemas the module ships beside them.
if [ ! -x "$tools/temporal-server" ] || ! "$tools/temporal-server" --version 2>/dev/null | grep -q "${TEMPORAL_SERVER_VERSION#v}" ||
  [ ! -x "$tools/temporal-sql-tool" ] || [ ! -d "$root/.tools/temporal-schema/postgresql" ]; then
  command -v go >/dev/null 2>&1 || { say "Go is needed to build the Temporal server: install Go 1.25 or newer"; exit 1; }
  say "building the Temporal server $TEMPORAL_SERVER_VERSION and its SQL tool with Go (a few minutes, once)..."
  started=$(date +%s)
  build="$(mktemp -d)"
  for program in server tools/sql; do
    GOBIN="$build" GOFLAGS=-mod=mod go install -v "go.temporal.io/server/cmd/$program@$TEMPORAL_SERVER_VERSION" 2>&1 |
      awk '{ n++; if (n % 40 == 0) printf "[setup]   %d packages compiled...\n", n; fflush() }'
  done
  [ -x "$build/server" ] && [ -x "$build/sql" ] || { say "building the Temporal server failed"; exit 1; }
  mv -f "$build/server" "$tools/temporal-server"
  mv -f "$build/sql" "$tools/temporal-sql-tool"
  rm -rf "$build" "$root/.tools/temporal-schema"
  module="$(go env GOMODCACHE)/go.temporal.io/server@$TEMPORAL_SERVER_VERSION"
  mkdir -p "$root/.tools/temporal-schema"
  cp -R "$module/schema/postgresql" "$root/.tools/temporal-schema/"
  chmod -R u+w "$root/.tools/temporal-schema"
  say "Temporal server built in $(($(date +%s) - started)) s: $("$tools/temporal-server" --version)"
fi

# 2c. SeaweedFS, an S3-compatible server, for the tests of the shared artifact store, built from source
# once. Its go.mod has replace directives, which `go install` refuses, so it is built inside its module.
if [ ! -x "$tools/weed" ] || [ "$(cat "$root/.tools/weed.version" 2>/dev/null)" != "$SEAWEEDFS_VERSION" ]; then
  command -v go >/dev/null 2>&1 || { say "Go is needed to build SeaweedFS: install Go 1.25 or newer"; exit 1; }
  say "building SeaweedFS with Go for the S3 artifact tests (about 10 minutes, once)..."
  started=$(date +%s)
  go mod download "github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION"
  module="$(go env GOMODCACHE)/github.com/seaweedfs/seaweedfs@$SEAWEEDFS_VERSION"
  mkdir -p "$tools"
  rm -f "$tools/weed.partial"
  (cd "$module" && go build -v -trimpath -ldflags='-s -w' -o "$tools/weed.partial" ./weed) 2>&1 |
    awk '{ n++; if (n % 80 == 0) printf "[setup]   %d packages compiled...\n", n; fflush() }'
  [ -x "$tools/weed.partial" ] || { say "building SeaweedFS failed"; exit 1; }
  mv -f "$tools/weed.partial" "$tools/weed"
  echo "$SEAWEEDFS_VERSION" >"$root/.tools/weed.version"
  say "SeaweedFS built in $(($(date +%s) - started)) s: $("$tools/weed" version 2>&1 | head -n 1)"
fi

# 3. Node dependencies, when missing or older than the lock file. `npm install --no-save` installs the
# locked versions like `npm ci`, but tolerates a lock file without the native packages of other
# platforms, which some registries do not serve.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages..."
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

# 3b. The web console (src/console), built into dist/console for the gateway to serve at `/`, when its
# sources, the domain types it shows, or the lock file are newer than the build.
if [ ! -f dist/console/index.html ] ||
  [ -n "$(find src/console src/domain package-lock.json -newer dist/console/index.html -print -quit)" ]; then
  say "building the web console..."
  npm run --silent build:console
fi

# 4. The workflow bundle, built once per version of the sources, so that a worker starts without
# bundling (the worker builds it itself when it is missing).
node --import tsx scripts/build-workflow-bundle.ts
