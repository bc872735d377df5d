#!/usr/bin/env bash
# Runs every test project of EdgeLlm and ends with the line "N passed, N failed[, N skipped]".
# Installs what the tests need when it is missing, from Debian/Ubuntu packages: Mosquitto and its clients,
# the shellcheck linter for systemd/*.sh, Chromium with its ChromeDriver for the fleet page, Prometheus for
# the Grafana dashboard's queries, qemu-user-static with the arm64 C/C++ runtime and OpenSSL for the
# emulated Raspberry Pi run.
# Exits non-zero on any failure. The test models are the repository's own (models/stories260k).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "tests/run.sh: the .NET 10 SDK is needed (dotnet is not on PATH)" >&2
  exit 1
fi

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
install_packages() {
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The MQTT tests start their own Mosquitto brokers on free ports and talk to them with Mosquitto's clients.
if [ ! -x /usr/sbin/mosquitto ] || ! command -v mosquitto_rr >/dev/null 2>&1; then
  echo "tests/run.sh: installing mosquitto and mosquitto-clients" >&2
  install_packages mosquitto mosquitto-clients
  # The package starts a system broker on port 1883, the node's default embedded port; the tests need none.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
    $sudo systemctl disable --now mosquitto
  fi
fi

# The systemd tests lint the install scripts; without shellcheck that test is skipped, saying so.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "tests/run.sh: installing shellcheck" >&2
  install_packages shellcheck || echo "tests/run.sh: could not install shellcheck: the script lint test will be skipped" >&2
fi

# The fleet page is tested in a real browser: headless Chromium driven through its ChromeDriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "tests/run.sh: installing chromium and chromium-driver" >&2
  install_packages chromium chromium-driver || echo "tests/run.sh: could not install chromium: the fleet page's browser tests will be skipped" >&2
fi

# The Grafana dashboard's queries are run by a real Prometheus that scrapes a real node.
if [ ! -x /usr/bin/prometheus ]; then
  echo "tests/run.sh: installing prometheus" >&2
  install_packages prometheus || echo "tests/run.sh: could not install prometheus: the dashboard's query test will be skipped" >&2
  # Like Mosquitto's, the package starts a system service; the tests start their own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    $sudo systemctl disable --now prometheus
  fi
fi

# The emulated arm64 tests run the linux-arm64 publish under qemu-aarch64-static with Debian's arm64 cross
# runtime (/usr/aarch64-linux-gnu); without them those tests are skipped, saying so.
if [ ! -x /usr/bin/qemu-aarch64-static ] || [ ! -e /usr/aarch64-linux-gnu/lib/libstdc++.so.6 ] || [ ! -e /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 ]; then
  echo "tests/run.sh: installing qemu-user-static and the arm64 C/C++ runtime" >&2
  install_packages qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross libgcc-s1-arm64-cross \
    || echo "tests/run.sh: could not install qemu-user-static and the arm64 runtime: the emulated arm64 tests will be skipped" >&2
fi

# .NET hashes (sha256) and speaks TLS through OpenSSL, which every Raspberry Pi OS has; Debian ships no cross
# package of it, so its arm64 build is unpacked into the emulator's sysroot beside the C/C++ runtime.
if [ -d /usr/aarch64-linux-gnu/lib ] && [ ! -e /usr/aarch64-linux-gnu/lib/libssl.so.3 ]; then
  echo "tests/run.sh: unpacking Debian's arm64 OpenSSL (libssl3:arm64) into /usr/aarch64-linux-gnu/lib" >&2
  openssl_deb=$(mktemp -d)
  chmod 777 "$openssl_deb"
  ( $sudo dpkg --add-architecture arm64 && $sudo apt-get update -qq && cd "$openssl_deb" && apt-get download -qq libssl3:arm64 2>/dev/null \
      && dpkg-deb -x libssl3_*_arm64.deb . && $sudo cp usr/lib/aarch64-linux-gnu/libssl.so.3 usr/lib/aarch64-linux-gnu/libcrypto.so.3 /usr/aarch64-linux-gnu/lib/ ) \
    || echo "tests/run.sh: could not unpack the arm64 OpenSSL: the emulated arm64 tests will be skipped" >&2
  rm -rf "$openssl_deb"
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

status=0
dotnet build EdgeLlm.sln -c Release --nologo -v quiet || { echo "0 passed, 1 failed"; exit 1; }
# One test project after another: the node tests are timing-sensitive, and this machine may have two cores.
crashed=0
for project in tests/*.Tests/*.Tests.csproj; do
  out="$results/$(basename "$project" .csproj)"
  if ! dotnet test "$project" -c Release --no-build --nologo --logger "trx" --results-directory "$out"; then
    status=1
    # A run that fails with no failed test in its report was aborted (a crashed test host): count it. (The
    # report's summary of an aborted run says outcome="Failed" too: only a test's own result counts here.)
    if ! grep -qs '<UnitTestResult [^>]*outcome="Failed"' "$out"/*.trx; then
      echo "tests/run.sh: $project did not finish (its test host crashed or the run was aborted)" >&2
      crashed=$((crashed + 1))
    fi
  fi
done

passed=0; failed=0; skipped=0
for trx in "$results"/*/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  value() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  # Skipped tests are the ones counted but not executed.
  skipped=$((skipped + $(value total) - $(value executed)))
done

# A crashed test host's report, if it wrote one, counts only the tests that ran before: count the crash too.
failed=$((failed + crashed))
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then status=1; fi

summary="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
