#!/usr/bin/env bash
# The test command (README, .ci/run): installs Ara with its dev extras, bubblewrap, the OpenSSH client and
# PostgreSQL from Debian's packages (started here), then runs the whole suite with pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash scripts/system-packages.sh
ARA_TEST_POSTGRES_URL="$(bash scripts/postgres.sh)"
export ARA_TEST_POSTGRES_URL
export ARA_REQUIRE_POSTGRES=1

python3 -m pytest "$@"
