#!/usr/bin/env bash
# The test command (README, .ci/run): installs Ara with its dev extras, bubblewrap, the OpenSSH client, Chromium and
# PostgreSQL from Debian's packages (started here), then runs the whole suite with pytest in two phases: every
# test not marked `serial` on ARA_TEST_WORKERS (2) pytest-xdist workers, then the `serial` tests (wall-clock
# budgets) alone. Extra arguments go to both phases.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'
bash scripts/system-packages.sh
ARA_TEST_POSTGRES_URL="$(bash scripts/postgres.sh)"
export ARA_TEST_POSTGRES_URL
export ARA_REQUIRE_POSTGRES=1
export ARA_REQUIRE_BROWSER=1  # the web UI's browser tests fail, not skip, without Chromium

# pytest exits 5 when a phase collects nothing (extra arguments may select only one kind); both empty is a failure.
parallel=0
python3 -m pytest -n "${ARA_TEST_WORKERS:-2}" --dist loadgroup --no-loadscope-reorder -m "not serial" --durations=25 "$@" || parallel=$?
serial=0
python3 -m pytest -m serial --durations=10 "$@" || serial=$?
echo "test phases: parallel exit $parallel, serial exit $serial"
if [[ $parallel == 5 && $serial == 5 ]]; then exit 5; fi
for rc in "$parallel" "$serial"; do
    if [[ $rc != 0 && $rc != 5 ]]; then exit "$rc"; fi
done
