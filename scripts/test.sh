#!/usr/bin/env bash
# The test command (`pnpm test`): brings up Postgres/Redis/Chromium, installs dependencies, runs
# vitest, and ends with one plain line `N passed, N failed[, N skipped]`.
# Extra arguments go to vitest:  pnpm test packages/config   |   bash scripts/test.sh -t "loadConfig"
# Exit status: vitest's; non-zero as well when no test ran.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# `pnpm test -- x` may hand us a literal `--`; vitest does not want it.
if [ "${1:-}" = "--" ]; then shift; fi

bash scripts/ensure-services.sh || exit $?
pnpm install --frozen-lockfile || exit $?

report_dir="$(mktemp -d "${TMPDIR:-/tmp}/orbweaver-vitest.XXXXXX")"
trap 'rm -rf "$report_dir"' EXIT
report="$report_dir/report.json"

pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
code=$?

# Prints the summary line; exits 3 when no test passed or failed (nothing ran).
node - "$report" "$code" <<'EOF'
const fs = require("node:fs");
const [file, vitestCode] = process.argv.slice(2);
let r;
try {
  r = JSON.parse(fs.readFileSync(file, "utf8"));
} catch {
  console.log(`test.sh: vitest wrote no JSON report (exit code ${vitestCode})`);
  console.log("0 passed, 0 failed");
  process.exit(3);
}
const passed = r.numPassedTests ?? 0;
let failed = r.numFailedTests ?? 0;
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
// A test file that fails to load or whose hooks throw has no failing test of its own: count it.
const brokenFiles = (r.testResults ?? []).filter(
  (f) => f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed"),
);
if (brokenFiles.length > 0) {
  console.log(`test.sh: ${brokenFiles.length} test file(s) failed outside any test (counted as failed):`);
  for (const f of brokenFiles) console.log(`  ${f.name}${f.message ? `: ${f.message.split("\n")[0]}` : ""}`);
  failed += brokenFiles.length;
}
if (passed + failed === 0) {
  console.log("test.sh: no test ran");
} else if (vitestCode !== "0" && failed === 0) {
  console.log(`test.sh: vitest exited with code ${vitestCode} although no test failed (see errors above)`);
}
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(passed + failed === 0 ? 3 : 0);
EOF
summary=$?

if [ "$code" -ne 0 ]; then exit "$code"; fi
if [ "$summary" -ne 0 ]; then exit 1; fi
exit 0
