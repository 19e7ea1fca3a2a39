#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real, when missing: bubblewrap (the runtime's sandbox), the
# OpenSSH client (`ssh` into a session through `ara connect`) and Chromium (the web UI's browser tests, driven by
# Playwright from PyPI with no browser download).
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi
