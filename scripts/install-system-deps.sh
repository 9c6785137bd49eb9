#!/usr/bin/env bash
# System packages the full test suite uses: Chromium (the human-study pages are
# tested in a real headless browser) and PostgreSQL (the study store is tested
# against a real server). Installed with apt where we are root and apt exists;
# elsewhere the tests that need them skip and say why.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "note: not installing ${need[*]} (needs root and apt-get); their tests will be skipped" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || true
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || echo "note: apt-get could not install ${need[*]}; their tests will be skipped" >&2
