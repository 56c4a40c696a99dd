#!/usr/bin/env bash
# Builds the .NET client with Mono's mcs (the Mono 4.5 profile, System.Net.Http and Debian's Newtonsoft.Json),
# builds its NUnit tests, and runs them with Debian's nunit-console. The tests start the real Loopai server from the
# repository's dist/ (run `npm run build` at the root first) on free loopback ports, over temporary data dirs.
#
# Needs: apt-get install -y mono-devel libnewtonsoft-json-cil-dev libnunit-cil-dev nunit-console (and node).
# Prints one line per test and ends with "N passed, M failed"; exits non-zero if any test failed.
set -euo pipefail
cd "$(dirname "$0")"
HERE=$(pwd)
ROOT=$(cd ../.. && pwd)

for tool in mcs mono nunit-console node; do
  command -v "$tool" >/dev/null || {
    echo "test.sh: $tool is missing (apt-get install -y mono-devel libnewtonsoft-json-cil-dev libnunit-cil-dev nunit-console; node for the server)" >&2
    exit 2
  }
done
if [ ! -f "$ROOT/dist/src/main.js" ]; then
  echo "test.sh: $ROOT/dist/src/main.js is missing: run npm run build at the repository root first" >&2
  exit 2
fi

# A file that a Debian package installed (dpkg -L), or the path it has on Debian 12.
package_file() { # package, file name, fallback
  local found
  found=$(dpkg -L "$1" 2>/dev/null | grep -m1 "/$2\$" | grep -v policies.d || true)
  echo "${found:-$3}"
}
NEWTONSOFT=$(package_file libnewtonsoft-json5.0-cil Newtonsoft.Json.dll /usr/lib/cli/Newtonsoft.Json-5.0/Newtonsoft.Json.dll)
NUNIT=$(package_file libnunit-framework2.6.3-cil nunit.framework.dll /usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll)
for dll in "$NEWTONSOFT" "$NUNIT"; do
  [ -f "$dll" ] || { echo "test.sh: $dll is missing" >&2; exit 2; }
done

rm -rf build
mkdir -p build
started=$(date +%s.%N)

# The library: C# 6 (what every compiler of netstandard2.0 code reads), warnings are errors.
mcs -sdk:4.5 -langversion:6 -target:library -optimize+ -debug -warnaserror+ -nowarn:1591 \
  -out:build/Loopai.Client.dll -doc:build/Loopai.Client.xml \
  -r:System.Net.Http.dll -r:"$NEWTONSOFT" src/*.cs
# The tests (they see the client's internals: InternalsVisibleTo in src/AssemblyInfo.cs).
mcs -sdk:4.5 -target:library -debug -nowarn:1591 \
  -out:build/Loopai.Client.Tests.dll \
  -r:build/Loopai.Client.dll -r:System.Net.Http.dll -r:System.Xml.Linq.dll -r:"$NEWTONSOFT" -r:"$NUNIT" tests/*.cs
cp "$NEWTONSOFT" "$NUNIT" build/
built=$(date +%s.%N)

# Servers the tests start note their pids here, and their data dirs go under TESTTMP: whatever a crashed run
# leaves behind is stopped and removed on the way out.
PIDS=$(mktemp -d)
TESTTMP=$(mktemp -d)
cleanup() {
  for f in "$PIDS"/*.pid; do
    [ -e "$f" ] || continue
    kill -TERM "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$PIDS"
  sleep 0.2
  rm -rf "$TESTTMP"
}
trap cleanup EXIT

set +e
env -u LOOPAI_URL -u LOOPAI_API_KEY LOOPAI_REPO_ROOT="$ROOT" LOOPAI_TEST_PID_DIR="$PIDS" TMPDIR="$TESTTMP" \
  timeout -k 10 300 nunit-console -nologo -noshadow -nodots -xml=build/TestResult.xml build/Loopai.Client.Tests.dll \
  >build/nunit.log 2>&1
status=$?
set -e
finished=$(date +%s.%N)

if [ ! -s build/TestResult.xml ]; then
  cat build/nunit.log
  echo "0 passed, 1 failed: nunit-console exited with $status and wrote no results"
  exit 1
fi
# One line per test from the result file, then NUnit's account of the failures, then the count.
summary=$(grep -o '<test-case [^>]*>' build/TestResult.xml | awk '
  function attr(name,   m) { if (match($0, name "=\"[^\"]*\"")) return substr($0, RSTART + length(name) + 2, RLENGTH - length(name) - 3); return "" }
  {
    name = attr("name"); sub(/^Loopai\.Tests\./, "", name)
    result = attr("result"); executed = attr("executed")
    if (executed != "True") { skipped++; printf "SKIP %s\n", name; next }
    if (result == "Success") { passed++; printf "PASS %s (%.2f s)\n", name, attr("time") }
    else { failed++; printf "FAIL %s (%s)\n", name, result }
  }
  END { printf "%d passed, %d failed", passed, failed; if (skipped) printf ", %d skipped", skipped; printf "\n" }')
echo "$summary" | sed '$d'
if grep -q '^Errors and Failures:' build/nunit.log || [ "$status" -ne 0 ]; then
  sed -n '/^Errors and Failures:/,$p' build/nunit.log | grep -v '^  at \|^at ' || true
fi
awk -v s="$started" -v b="$built" -v f="$finished" 'BEGIN { printf "build %.1f s, tests %.1f s\n", b - s, f - b }' 
last=$(echo "$summary" | tail -n1)
echo "$last"
failed=$(echo "$last" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
passed=$(echo "$last" | sed -E 's/^([0-9]+) passed.*/\1/')
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -eq 0 ]; then
  exit 1
fi
