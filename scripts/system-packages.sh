#!/usr/bin/env bash
# Installs the Debian packages the tests drive for real, when missing: bubblewrap (the runtime's sandbox) and the
# OpenSSH client (`ssh` into a session through `ara connect`).
set -euo pipefail

missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi
