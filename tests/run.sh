#!/usr/bin/env bash
# Runs every test project of EdgeLlm and ends with the line "N passed, N failed[, N skipped]".
# Installs what the tests need when it is missing (Mosquitto and its clients, shellcheck for systemd/*.sh,
# from Debian/Ubuntu packages).
# Exits non-zero on any failure. Tests that need ../shared/models skip with a message when it is absent.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "tests/run.sh: the .NET 10 SDK is needed (dotnet is not on PATH)" >&2
  exit 1
fi

# The MQTT tests start their own Mosquitto brokers on free ports and talk to them with Mosquitto's clients;
# the systemd tests lint the install scripts with shellcheck.
missing=()
if [ ! -x /usr/sbin/mosquitto ] || ! command -v mosquitto_rr >/dev/null 2>&1; then missing+=(mosquitto mosquitto-clients); fi
if ! command -v shellcheck >/dev/null 2>&1; then missing+=(shellcheck); fi
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "tests/run.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package starts a system broker on port 1883, the node's default embedded port; the tests need none.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
    $sudo systemctl disable --now mosquitto
  fi
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
dotnet build EdgeLlm.sln -c Release --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
# One test project after another: the node tests are timing-sensitive, and this machine may have two cores.
for project in tests/*.Tests/*.Tests.csproj; do
  dotnet test "$project" -c Release --no-build --nologo --logger "trx" --results-directory "$results" || status=$?
done

passed=0; failed=0; skipped=0; reports=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  reports=$((reports + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  value() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  # Skipped tests are the ones counted but not executed.
  skipped=$((skipped + $(value total) - $(value executed)))
done

projects=$(find tests -name '*.Tests.csproj' | wc -l)
if [ "$reports" -lt "$projects" ]; then
  # A test host that crashed writes no report: count it as a failure rather than lose it.
  echo "tests/run.sh: $((projects - reports)) of $projects test projects reported no results" >&2
  failed=$((failed + projects - reports))
  status=1
fi
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then status=1; fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
