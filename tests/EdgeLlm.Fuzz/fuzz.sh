#!/usr/bin/env bash
# Fuzzes EdgeLlm's parsers of outside input with afl-fuzz (AFL++) through SharpFuzz, each target for a given
# time from its seed corpus (tests/EdgeLlm.Fuzz/corpus/TARGET), and prints per target the executions, the
# speed, the inputs kept and the branches (edges) of EdgeLlm's own code reached, then every distinct finding
# replayed with its stack. Not part of the test suite: EdgeLlm.Fuzz.Tests replays the corpus and every input
# kept in tests/EdgeLlm.Fuzz/regressions/TARGET, so a finding fixed stays fixed.
#
#   tests/EdgeLlm.Fuzz/fuzz.sh [--seconds N] [--jobs N] [--out DIR] [TARGET...]
#
# --seconds: how long each target runs (default 60); --jobs: targets run at once, one core each (default:
# the number of cores); --out: where afl-fuzz keeps its findings (default /tmp/edgellm-fuzz, emptied first).
# No TARGET runs them all (`dotnet tests/EdgeLlm.Fuzz/bin/Release/net10.0/EdgeLlm.Fuzz.dll list` names them).
# Installs afl++ from Debian/Ubuntu packages and the SharpFuzz instrumenter (.config/dotnet-tools.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."

seconds=60
jobs=$(nproc)
out=/tmp/edgellm-fuzz
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

if ! command -v afl-fuzz >/dev/null 2>&1; then
  echo "fuzz.sh: installing afl++" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++ >/dev/null
fi
dotnet tool restore >/dev/null

rm -rf "$out" && mkdir -p "$out"
bin="$out/bin"
dotnet publish tests/EdgeLlm.Fuzz -c Release -o "$bin" --nologo -v quiet
# Findings are replayed by a copy left as built: instrumented code writes to afl-fuzz's shared memory.
cp -r "$bin" "$out/replay"
# afl-fuzz sees coverage only in instrumented assemblies: EdgeLlm's own, not the runtime's or the packages'.
for assembly in EdgeLlm.Core EdgeLlm.Mqtt EdgeLlm.Onnx; do
  dotnet sharpfuzz "$bin/$assembly.dll" >/dev/null
done
fuzz=(dotnet "$bin/EdgeLlm.Fuzz.dll")
replay=(dotnet "$out/replay/EdgeLlm.Fuzz.dll")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <("${replay[@]}" list | awk '{print $1}')

# SharpFuzz's binary is `dotnet`, with no AFL marks of its own; the machine's CPU governor and crash handler
# are not the fuzzer's business here, and the jobs share the cores without pinning.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
run_target() {
  local target="$1" dictionary=()
  case "$target" in llama2c-*|safetensors) ;; *) dictionary=(-x "$here/json.dict") ;; esac
  afl-fuzz -V "$seconds" -i "$here/corpus/$target" -o "$out/$target" -t 5000 -m none "${dictionary[@]}" \
    -- "${fuzz[@]}" "$target" >"$out/$target.log" 2>&1 || echo "fuzz.sh: afl-fuzz on $target failed: see $out/$target.log" >&2
}
running=0
for target in "${targets[@]}"; do
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

stat() { grep -s "^$2 " "$out/$1/default/fuzzer_stats" | awk '{print $3}'; }
printf '%-22s %10s %8s %7s %6s %8s %6s\n' target executions execs/s inputs edges crashes hangs
total_findings=0
for target in "${targets[@]}"; do
  printf '%-22s %10s %8s %7s %6s %8s %6s\n' "$target" "$(stat "$target" execs_done)" "$(stat "$target" execs_per_sec)" \
    "$(stat "$target" corpus_count)" "$(stat "$target" edges_found)" "$(stat "$target" saved_crashes)" "$(stat "$target" saved_hangs)"
done
echo "edges: branches of EdgeLlm.Core, EdgeLlm.Mqtt and EdgeLlm.Onnx taken at least once (afl-fuzz's map of 65,536)"

# Replayed, crashes fall into few distinct faults: one line each (the exception and where it was thrown).
for target in "${targets[@]}"; do
  findings=("$out/$target"/default/crashes/id* "$out/$target"/default/hangs/id*)
  [ -e "${findings[0]}" ] || [ -e "${findings[-1]}" ] || continue
  existing=()
  for f in "${findings[@]}"; do [ -e "$f" ] && existing+=("$f"); done
  [ ${#existing[@]} -gt 0 ] || continue
  total_findings=$((total_findings + ${#existing[@]}))
  echo
  echo "$target: ${#existing[@]} inputs in $out/$target/default/{crashes,hangs}; distinct faults (first input of each):"
  "${replay[@]}" "$target" "${existing[@]}" 2>&1 | awk '
    / FINDING / { file = $1; sub(/:$/, "", file); fault = $0; sub(/^[^ ]*: FINDING /, "", fault); key = fault; sub(/:.*$/, "", key)
                  if (!(key in seen)) { seen[key] = 1; print "  " fault; print "    input: " file } }
    /: (accepted|refused)$/ { print "  not reproduced outside afl-fuzz (a hang?): " $0 }' || true
done
[ "$total_findings" -eq 0 ] && echo "no findings"
exit 0
