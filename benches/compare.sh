#!/usr/bin/env bash
# Compares the simulator's card with OpenSSL on this machine, in one run, and prints a markdown
# table (docs/performance.md explains every row):
#
#   * signature APDUs/s of the in-process card (one thread, 5 s, measured twice: before and
#     after OpenSSL) against `openssl speed -seconds 5 rsa2048` sign/s (one process);
#     target: ratio >= 0.90. OpenSSL divides by user CPU time, so the ratio uses our APDUs per
#     user CPU second (wall-clock figures are printed too); aws-lc-rs alone is the baseline;
#   * the median of a full PC/SC transaction through pcscd + vpcd (criterion bench `pcsc`);
#     target: < 5 ms;
#   * the PC/SC round trip of one APDU (GET CHALLENGE, `00 84 00 00 08`, which both answer with
#     8 bytes and 9000) to our card and to vsmartcard's `vicc -t iso7816`, each in turn in reader
#     "Virtual PCD 00 01" (vpcd port 35964) of the same pcscd, timed by the same client (the
#     `pcsc_round_trip` example); target: ours >= 5x faster (median).
#
#   * then benches/compare-revocation.sh: OCSP responses/s against `openssl ocsp -index` under
#     the same wrk load, and CRL build time against `openssl ca -gencrl` (its own tables).
#
#   benches/compare.sh            # from anywhere in the repository
#   JPKI_SIM_COMPARE_PARTS=card benches/compare.sh   # the card rows only
#
# Starts pcscd with scripts/pcscd.sh when no vpcd listener is up (and leaves it running); without
# pcscd the PC/SC rows say "skipped". Installs vicc (Debian's vsmartcard-vpicc, with
# python3-pycryptodome) with apt-get when it is missing. While it puts cards in reader 00 01 it
# holds that reader's lock file (${TMPDIR:-/tmp}/jpki-sim-vpcd-35964.lock, as `jpki-sim run --pcsc`
# and the PC/SC tests do), waiting up to 5 minutes for it. Builds in release mode first.
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

apt_updated=
need() { # COMMAND PACKAGE...: installs the packages with apt-get when COMMAND is missing
  local command=$1
  shift
  command -v "$command" >/dev/null && return
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  command -v apt-get >/dev/null || { echo "$command is missing and there is no apt-get: install $*" >&2; exit 1; }
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >&2
}
need vicc vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome
need flock util-linux

echo "== build" >&2
run cargo build --release -p jpki-sim >&2
run cargo build --release -p jpki-sim-benches --example sign_rate --example pcsc_round_trip >&2

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
# The pcsc bench puts a card in reader 00 00: hold that reader's lock while it runs.
run cargo bench -p jpki-sim-benches --bench pcsc --no-run >&2
run flock -w 300 "${TMPDIR:-/tmp}/jpki-sim-vpcd-35963.lock" \
  cargo bench -p jpki-sim-benches --bench pcsc -- --noplot >&2 || true
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

echo "== PC/SC round trip: jpki-sim vs vicc" >&2
vicc_port=35964
vicc_reader="Virtual PCD 00 01"
vicc_apdu=0084000008
rtt=$target/release/examples/pcsc_round_trip
rtt_seconds=$seconds
# Debian's python3-virtualsmartcard 3.3 installs its package one directory too deep, and vicc
# imports pycryptodome as `Crypto` where Debian names it `Cryptodome`: point Python at both.
vicc_env() {
  local module shim
  module=$(dpkg -L python3-virtualsmartcard 2>/dev/null | grep -m1 '/virtualsmartcard/VirtualSmartcard\.py$' || true)
  shim=$crit/python
  mkdir -p "$shim"
  [ -d /usr/lib/python3/dist-packages/Cryptodome ] && ln -sfn /usr/lib/python3/dist-packages/Cryptodome "$shim/Crypto"
  echo "${module:+$(dirname "$(dirname "$module")"):}$shim"
}
port_busy() { # PORT -> whether a card is connected to that vpcd port
  local hex
  hex=$(printf '%04X' "$1")
  awk -v p=":$hex" 'NR > 1 && $4 == "01" && (substr($2, length($2) - 4) == p || substr($3, length($3) - 4) == p) { found = 1 } END { exit !found }' /proc/net/tcp
}
wait_port_free() { # PORT: until no card is connected, then one pcscd poll (400 ms) more
  local i
  for i in $(seq 100); do port_busy "$1" || { sleep 1; return 0; }; sleep 0.1; done
  return 1
}
field_of() { awk -v k="$1" '$1 == k {print $2}'; }
# Run while holding the reader lock (fd 9, closed for the cards so that none outlives it): our
# card, then vicc, same reader, same APDU, same client.
rtt_pair() {
  local up_log vicc_log up_pid vicc_pid i
  up_log=$crit/up-rtt.log
  vicc_log=$crit/vicc.log
  wait_port_free "$vicc_port" || { echo "a card is still attached to vpcd port $vicc_port" >&2; return 1; }
  RUST_LOG=warn "$target/release/jpki-sim" up --listen 127.0.0.1:0 --card felica:0123456789ABCDEF \
    --vpcd "127.0.0.1:$vicc_port" >"$up_log" 2>&1 9>&- &
  up_pid=$!
  for i in $(seq 600); do grep -q 'ready at' "$up_log" && break; sleep 0.2; done
  "$rtt" "$vicc_reader" "$vicc_apdu" "$rtt_seconds" >"$crit/ours.txt" || { kill "$up_pid"; wait "$up_pid" || true; return 1; }
  kill "$up_pid"
  wait "$up_pid" || true
  wait_port_free "$vicc_port" || return 1
  PYTHONPATH=$(vicc_env) vicc -t iso7816 --hostname 127.0.0.1 --port "$vicc_port" >"$vicc_log" 2>&1 9>&- &
  vicc_pid=$!
  "$rtt" "$vicc_reader" "$vicc_apdu" "$rtt_seconds" >"$crit/vicc.txt" || { kill "$vicc_pid"; wait "$vicc_pid" || true; cat "$vicc_log" >&2; return 1; }
  kill "$vicc_pid"
  wait "$vicc_pid" || true
  wait_port_free "$vicc_port" || true
}
vicc_lock=${TMPDIR:-/tmp}/jpki-sim-vpcd-$vicc_port.lock
ours_rtt= vicc_rtt= rtt_ratio= rtt_verdict=- rtt_load=
if grep -qi ":$(printf '%04X' "$vicc_port") 00000000:0000 0A" /proc/net/tcp; then
  note flock -w 300 "$vicc_lock" ... "$rtt" "'$vicc_reader'" "$vicc_apdu" "$rtt_seconds" "(our card, then vicc -t iso7816 --hostname 127.0.0.1 --port $vicc_port)"
  rtt_load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  exec 9>"$vicc_lock"
  if flock -w 300 9 && rtt_pair; then
    ours_rtt=$(field_of median_ms <"$crit/ours.txt")
    vicc_rtt=$(field_of median_ms <"$crit/vicc.txt")
    ours_mean=$(field_of mean_ms <"$crit/ours.txt")
    vicc_mean=$(field_of mean_ms <"$crit/vicc.txt")
    ours_n=$(field_of round_trips <"$crit/ours.txt")
    vicc_n=$(field_of round_trips <"$crit/vicc.txt")
    rtt_ratio=$(awk -v a="$vicc_rtt" -v b="$ours_rtt" 'BEGIN { printf "%.1f", a / b }')
    rtt_verdict=$(awk -v r="$rtt_ratio" 'BEGIN { print (r >= 5 ? "met" : "MISSED") }')
  fi
  exec 9>&-
  rtt_load=" (load $rtt_load_before → $(cut -d' ' -f1-3 /proc/loadavg))"
fi
if [ -z "$ours_rtt" ]; then
  ours_rtt="skipped (no vpcd listener on $vicc_port, the reader stayed locked, or a card failed; see stderr)"
  vicc_rtt=skipped
  ours_mean=- vicc_mean=- ours_n=- vicc_n=-
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
| PC/SC round trip of GET CHALLENGE in $vicc_reader, median, ${seconds} s each$rtt_load (mean: $ours_mean / $vicc_mean ms; round trips: $ours_n / $vicc_n) | $ours_rtt ms | \`vicc -t iso7816\`: $vicc_rtt ms | ${rtt_ratio:--}× faster | ≥ 5× faster than vicc | $rtt_verdict |

Commands:

TABLE
for c in "${commands[@]}"; do echo "    $c"; done

# The revocation services (OCSP under wrk, CRL build) complete the comparison in the same run;
# JPKI_SIM_COMPARE_PARTS=card leaves them out.
if [ "${JPKI_SIM_COMPARE_PARTS:-all}" != card ]; then
  echo
  "$root/benches/compare-revocation.sh"
fi
