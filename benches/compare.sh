#!/usr/bin/env bash
# Compares the simulator's card with OpenSSL on this machine, in one run, and prints a markdown
# table (docs/performance.md explains every row):
#
#   * signature APDUs/s of the in-process card (one thread, 5 s, measured twice: before and
#     after OpenSSL) against `openssl speed -seconds 5 rsa2048` sign/s (one process);
#     target: ratio >= 0.90. OpenSSL divides by user CPU time, so the ratio uses our APDUs per
#     user CPU second (wall-clock figures are printed too); aws-lc-rs alone is the baseline;
#   * the median of a full PC/SC transaction through pcscd + vpcd (criterion bench `pcsc`);
#     target: < 5 ms.
#
#   benches/compare.sh            # from anywhere in the repository
#
# Needs no network. Starts pcscd with scripts/pcscd.sh when no vpcd listener is up (and leaves it
# running); without pcscd the PC/SC rows say "skipped". Builds in release mode first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
seconds=${JPKI_SIM_COMPARE_SECONDS:-5}
crit=$(mktemp -d "${TMPDIR:-/tmp}/jpki-sim-compare.XXXXXX")
trap 'rm -rf "$crit"' EXIT

commands=()
note() { # records a command for the report; call it outside $(...)
  commands+=("$*")
  echo "+ $*" >&2
}
run() {
  note "$@"
  "$@"
}

json_number() { # FILE KEY.PATH -> number
  if command -v jq >/dev/null; then
    jq -r ".$2" "$1"
  else
    python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(v)' "$1" "$2"
  fi
}

echo "== machine" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($cpu); load $load_before" >&2

echo "== build" >&2
run cargo build --release -p harness >&2
run cargo build --release -p jpki-sim-benches --example sign_rate >&2

echo "== signatures" >&2
sign_rate=$target/release/examples/sign_rate
field() { awk -v k="$1" '$1 == k {print $2}'; }
note "$sign_rate" "$seconds"
run1=$("$sign_rate" "$seconds")
note openssl speed -seconds "$seconds" rsa2048
openssl_out=$(openssl speed -seconds "$seconds" rsa2048 2>/dev/null)
echo "$openssl_out" | grep -E 'sign/s|^rsa' >&2
# The column of "sign/s" in the header row, counted on the "rsa 2048 bits" row after its three
# label words (OpenSSL 3.0 prints 4 columns, 3.2 and later 8).
openssl_sign=$(echo "$openssl_out" | awk '
  /sign\/s/ { for (i = 1; i <= NF; i++) if ($i == "sign/s") col = i }
  /^rsa +2048 bits/ && col { print $(col + 3); exit }')
note "$sign_rate" "$seconds"
run2=$("$sign_rate" "$seconds")
[ -n "$openssl_sign" ] || { echo "cannot parse openssl speed output:" >&2; echo "$openssl_out" >&2; exit 1; }
mean() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (a + b) / 2 }'; }
# `openssl speed` divides by user CPU time (no -elapsed): compare per CPU second.
cpu1=$(echo "$run1" | field sign_apdus_per_cpu_second)
cpu2=$(echo "$run2" | field sign_apdus_per_cpu_second)
ours=$(mean "$cpu1" "$cpu2")
wall=$(mean "$(echo "$run1" | field sign_apdus_per_second)" "$(echo "$run2" | field sign_apdus_per_second)")
lib1=$(echo "$run1" | field aws_lc_rs_signs_per_cpu_second)
lib2=$(echo "$run2" | field aws_lc_rs_signs_per_cpu_second)
lib=$(mean "$lib1" "$lib2")
ratio=$(awk -v a="$ours" -v b="$openssl_sign" 'BEGIN { printf "%.3f", a / b }')
lib_ratio=$(awk -v a="$lib" -v b="$openssl_sign" 'BEGIN { printf "%.3f", a / b }')
sign_verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.9 ? "met" : "MISSED") }')

echo "== PC/SC" >&2
grep -q ':8C7B 00000000:0000 0A' /proc/net/tcp || run scripts/pcscd.sh start || true
export CRITERION_HOME=$crit
# Criterion's report goes to stderr: stdout is the table alone.
run cargo bench -p jpki-sim-benches --bench pcsc -- --noplot >&2
run cargo bench -p jpki-sim-benches --bench card -- --noplot sign_sha256 >&2
median_ms() { # criterion bench id -> median in ms, or empty
  local f="$crit/$1/new/estimates.json"
  [ -f "$f" ] && awk -v ns="$(json_number "$f" median.point_estimate)" 'BEGIN { printf "%.3f", ns / 1e6 }'
}
tx=$(median_ms pcsc/transaction || true)
apdu=$(median_ms pcsc/select_ap_round_trip || true)
connect=$(median_ms pcsc/connect_disconnect || true)
crit_sign=$(median_ms card/sign_sha256_digest_info || true)
crit_sign_rate=$([ -n "$crit_sign" ] && awk -v ms="$crit_sign" 'BEGIN { printf "%.1f", 1000 / ms }' || true)
if [ -n "$tx" ]; then
  tx_verdict=$(awk -v t="$tx" 'BEGIN { print (t < 5 ? "met" : "MISSED") }')
else
  tx="skipped (no pcscd/vpcd, or the reader was busy)"
  tx_verdict="-"
  apdu="skipped"
  connect="skipped"
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cat <<TABLE

### jpki-sim vs OpenSSL, $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) cores, $cpu; $(openssl version); $(rustc --version).
Load average before: $load_before; after: $load_after.

| measurement | jpki-sim | reference | ratio | target | |
|---|---:|---:|---:|---|---|
| signature APDUs per CPU second, 1 thread, ${seconds} s (runs: $cpu1, $cpu2) | $ours | \`openssl speed rsa2048\`: $openssl_sign sign/s | $ratio | ≥ 0.90 × OpenSSL | $sign_verdict |
| signature APDUs per wall-clock second (same runs) | $wall | | | | |
| aws-lc-rs \`RsaKeyPair::sign\` per CPU second, same key (runs: $lib1, $lib2) | $lib | same | $lib_ratio | (library baseline) | |
| signature APDU, criterion median (card/sign_sha256_digest_info) | ${crit_sign_rate:-?}/s (${crit_sign:-?} ms) | | | | |
| PC/SC transaction, criterion median (pcsc/transaction) | $tx ms | | | < 5 ms | $tx_verdict |
| PC/SC single APDU, criterion median (pcsc/select_ap_round_trip) | $apdu ms | | | | |
| PC/SC SCardConnect + SCardDisconnect, criterion median (pcsc/connect_disconnect) | $connect ms | | | | |

Commands:

TABLE
for c in "${commands[@]}"; do echo "    $c"; done
