#!/usr/bin/env bash
# Compares the simulator's revocation services with OpenSSL on this machine and prints two
# markdown tables (docs/performance.md, "Revocation services", explains every column):
#
#   * OCSP: `jpki-sim up --no-vpcd` answering `POST /ocsp` against `openssl ocsp -index ...
#     -port` (two processes with -multi 2 where OpenSSL has it), both loaded with wrk from the
#     same request files for the same card certificate and the same CA key: a request without a
#     nonce (cached by jpki-sim for the 15-minute window; OpenSSL signs every answer) and one
#     with a nonce (signed per request by both). Targets: cached >= 10 x OpenSSL and >= 20,000
#     responses/s.
#   * CRL: the `crl_scale` example (build_crl_pem, written to a file) against `openssl ca
#     -gencrl` over an index.txt, both with the same 10k, 100k and 1M revoked entries and the
#     same CA; wall-clock time and peak RSS (/usr/bin/time -v) per run. Target: >= 10 x OpenSSL.
#
#   benches/compare-revocation.sh          # from anywhere in the repository
#
# Environment: JPKI_SIM_LOAD_SECONDS (wrk duration per run, default 10, at most 10),
# JPKI_SIM_LOAD_CONNECTIONS (default 32), JPKI_SIM_CRL_SIZES (default "10000 100000 1000000"),
# JPKI_SIM_CRL_RUNS (runs per size and side, the median is reported; default 3),
# JPKI_SIM_REVOCATION_PARTS (default "ocsp crl").
#
# Installs wrk, time (GNU /usr/bin/time), curl and jq with apt-get when they are missing, builds
# in release mode, and sends load to 127.0.0.1 only, each run bounded by the wrk duration. Every
# server it starts is stopped on exit. OpenSSL 3.0's `ocsp -port` takes a port number only and
# listens on the wildcard address while it runs (about 25 s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
seconds=${JPKI_SIM_LOAD_SECONDS:-10}
((seconds >= 1 && seconds <= 10)) || { echo "JPKI_SIM_LOAD_SECONDS must be 1..10" >&2; exit 2; }
connections=${JPKI_SIM_LOAD_CONNECTIONS:-32}
sizes=${JPKI_SIM_CRL_SIZES:-10000 100000 1000000}
runs=${JPKI_SIM_CRL_RUNS:-3}
parts=${JPKI_SIM_REVOCATION_PARTS:-ocsp crl}
card=felica:0123456789ABCDEF
openssl_crl_timeout=600

work=$(mktemp -d "${TMPDIR:-/tmp}/jpki-sim-revocation.XXXXXX")
servers=()
stop_servers() {
  local pid
  for pid in "${servers[@]}"; do
    # `openssl ocsp -multi` leads its own process group; jpki-sim is a plain child.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${servers[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  servers=()
}
trap 'stop_servers; rm -rf "$work"' EXIT

commands=()
note() { # records a command for the report
  commands+=("$*")
  echo "+ $*" >&2
}
run() {
  note "$@"
  "$@"
}

apt_updated=
need() { # COMMAND PACKAGE: installs PACKAGE with apt-get when COMMAND is missing
  command -v "$1" >/dev/null && return
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  command -v apt-get >/dev/null || { echo "$1 is missing and there is no apt-get: install $2" >&2; exit 1; }
  if [ -z "$apt_updated" ]; then
    $sudo apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >&2
}
need wrk wrk
need /usr/bin/time time
need curl curl
need jq jq
need openssl openssl

port_in_use() { # PORT: whether any TCP socket (v4 or v6) has it as local port
  local hex
  hex=$(printf ':%04X' "$1")
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    port_in_use "$port" || { echo "$port"; return; }
  done
  echo "no free port found" >&2
  exit 1
}

echo "== machine" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
started=$(date -u '+%Y-%m-%d %H:%M UTC')
echo "$started; $(nproc) cores ($cpu); load $load_before" >&2

echo "== build" >&2
run cargo build --release -p jpki-sim -p jpki-sim-benches --examples >&2
bin=$target/release/jpki-sim
examples=$target/release/examples

# The authentication CA's key (and a certificate of it) as OpenSSL files: both sides sign as the
# same CA.
ca_dir=$work/ca
run "$examples/ca_key" "$ca_dir" >&2
openssl pkey -inform DER -in "$ca_dir/ca.key.der" -out "$ca_dir/ca.key"

# ---------------------------------------------------------------------------------------------
# OCSP
# ---------------------------------------------------------------------------------------------

ms() { # wrk latency (779.00us, 1.66ms, 2.01s) -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
    printf "%.2f", n }'
}

load() { # NAME URL REQUEST.der keep-alive|close -> wrk output in $work/NAME.wrk
  local name=$1 url=$2 request=$3 connection=$4
  {
    echo "local f = assert(io.open(\"$request\", \"rb\"))"
    echo 'wrk.method = "POST"'
    echo 'wrk.body = f:read("*a")'
    echo 'f:close()'
    echo 'wrk.headers["Content-Type"] = "application/ocsp-request"'
    [ "$connection" = close ] && echo 'wrk.headers["Connection"] = "close"'
  } >"$work/$name.lua"
  note wrk -t2 "-c$connections" "-d${seconds}s" --timeout 5s --latency -s "$name.lua" "$url"
  wrk -t2 "-c$connections" "-d${seconds}s" --timeout 5s --latency -s "$work/$name.lua" "$url" \
    | tee "$work/$name.wrk" >&2
}

wrk_field() { # NAME WHAT
  local f=$work/$1.wrk
  case $2 in
    rps) awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f" ;;
    p50) ms "$(awk '$1 == "50%" { print $2 }' "$f")" ;;
    p99) ms "$(awk '$1 == "99%" { print $2 }' "$f")" ;;
    errors) # non-2xx answers plus socket errors
      awk '/Non-2xx/ { n += $NF } /Socket errors/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' "$f" ;;
  esac
}

check_answer() { # URL REQUEST.der NAME: one request by curl, the answer must be a good status
  local url=$1 request=$2 name=$3 text
  curl -fsS --max-time 10 --data-binary "@$request" -H 'Content-Type: application/ocsp-request' \
    -o "$work/$name.resp" "$url"
  text=$(openssl ocsp -respin "$work/$name.resp" -resp_text -noverify 2>&1)
  if ! grep -q 'OCSP Response Status: successful' <<<"$text" || ! grep -q 'Cert Status: good' <<<"$text"; then
    echo "$name: unexpected answer from $url:" >&2
    echo "$text" >&2
    exit 1
  fi
  stat -c %s "$work/$name.resp"
}

ocsp_table=
if [[ " $parts " == *" ocsp "* ]]; then
  echo "== OCSP: jpki-sim up" >&2
  note "$bin" up --no-vpcd --listen 127.0.0.1:0 --card "$card" --key-cache keys.sqlite
  "$bin" up --no-vpcd --listen 127.0.0.1:0 --card "$card" --key-cache "$work/keys.sqlite" \
    >"$work/up.out" 2>"$work/up.log" </dev/null &
  servers+=($!)
  url=
  for _ in $(seq 600); do
    url=$(sed -n 's/^jpki-sim: ready at \([^ ]*\).*/\1/p' "$work/up.out")
    [ -n "$url" ] && break
    kill -0 "${servers[-1]}" 2>/dev/null || { cat "$work/up.log" >&2; exit 1; }
    sleep 0.2
  done
  [ -n "$url" ] || { echo "jpki-sim up printed no ready line" >&2; exit 1; }
  case $url in http://127.0.0.1:*) ;; *) echo "not a loopback URL: $url" >&2; exit 1 ;; esac

  ocsp_dir=$work/ocsp
  mkdir -p "$ocsp_dir"
  curl -fsS "$url/ca/auth.pem" -o "$ocsp_dir/ca.pem"
  curl -fsS "$url/admin/v1/cards/$card" | jq -r .certificates.auth.pem >"$ocsp_dir/ee.pem"
  note openssl ocsp -issuer ca.pem -cert ee.pem -no_nonce -reqout plain.der
  openssl ocsp -issuer "$ocsp_dir/ca.pem" -cert "$ocsp_dir/ee.pem" -no_nonce -reqout "$ocsp_dir/plain.der"
  openssl ocsp -issuer "$ocsp_dir/ca.pem" -cert "$ocsp_dir/ee.pem" -reqout "$ocsp_dir/nonce.der"
  note openssl ocsp -issuer ca.pem -cert ee.pem -reqout nonce.der
  ours_plain_bytes=$(check_answer "$url/ocsp" "$ocsp_dir/plain.der" ours-plain)
  ours_nonce_bytes=$(check_answer "$url/ocsp" "$ocsp_dir/nonce.der" ours-nonce)

  echo "== OCSP: load on jpki-sim" >&2
  ours_load_before=$(cut -d' ' -f1 /proc/loadavg)
  for request in plain nonce; do
    for connection in keep-alive close; do
      load "ours-$request-$connection" "$url/ocsp" "$ocsp_dir/$request.der" "$connection"
    done
  done
  stop_servers

  echo "== OCSP: openssl ocsp -index" >&2
  # The same CA certificate and key, and an index.txt listing the card certificate as valid.
  cp "$ca_dir/ca.key" "$ocsp_dir/ca.key"
  serial=$(openssl x509 -in "$ocsp_dir/ee.pem" -noout -serial | cut -d= -f2)
  not_after=$(openssl x509 -in "$ocsp_dir/ee.pem" -noout -enddate | cut -d= -f2)
  expiry=$(date -u -d "$not_after" +%y%m%d%H%M%SZ)
  subject=$(openssl x509 -in "$ocsp_dir/ee.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
  printf 'V\t%s\t\t%s\tunknown\t%s\n' "$expiry" "$serial" "$subject" >"$ocsp_dir/index.txt"
  multi=()
  if openssl ocsp -help 2>&1 | grep -q -- '-multi'; then
    multi=(-multi 2)
  fi
  start_openssl() { # -> $openssl_url
    local port
    port=$(free_port)
    note openssl ocsp -index index.txt -port "$port" -rsigner ca.pem -rkey ca.key -CA ca.pem -nmin 15 "${multi[@]}"
    # Not under setsid: with -multi, OpenSSL makes itself a process group leader, which fails in
    # a session leader.
    (cd "$ocsp_dir" && exec openssl ocsp -index index.txt -port "$port" -rsigner ca.pem -rkey ca.key \
      -CA ca.pem -nmin 15 "${multi[@]}" >"$work/openssl-ocsp.log" 2>&1 </dev/null) &
    servers+=($!)
    openssl_url=http://127.0.0.1:$port/
    for _ in $(seq 100); do
      curl -fsS --max-time 2 --data-binary "@$ocsp_dir/plain.der" -o /dev/null "$openssl_url" 2>/dev/null && return
      kill -0 "${servers[-1]}" 2>/dev/null || { cat "$work/openssl-ocsp.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "openssl ocsp does not answer on $openssl_url" >&2
    exit 1
  }
  # OpenSSL 3.0 keeps an HTTP/1.1 connection open and serves it alone until the client closes
  # it; each responder process then spins on the closed connection and answers nobody. wrk
  # closes its connections at the end of a run, so every run gets a fresh responder, and its
  # requests say "Connection: close" (one request per connection, served in turn).
  start_openssl
  openssl_plain_bytes=$(check_answer "$openssl_url" "$ocsp_dir/plain.der" openssl-plain)
  openssl_nonce_bytes=$(check_answer "$openssl_url" "$ocsp_dir/nonce.der" openssl-nonce)
  load openssl-plain-close "$openssl_url" "$ocsp_dir/plain.der" close
  stop_servers
  start_openssl
  load openssl-nonce-close "$openssl_url" "$ocsp_dir/nonce.der" close
  stop_servers
  ocsp_load_after=$(cut -d' ' -f1 /proc/loadavg)

  ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }
  row() { # LABEL OURS THEIRS VERDICT: one table row from two wrk outputs
    echo "| $1 | $(wrk_field "$2" rps) | $(wrk_field "$2" p50) / $(wrk_field "$2" p99) | $(wrk_field "$2" errors)" \
      "| $(wrk_field "$3" rps) | $(wrk_field "$3" p50) / $(wrk_field "$3" p99) | $(wrk_field "$3" errors)" \
      "| $(ratio "$(wrk_field "$2" rps)" "$(wrk_field "$3" rps)") | $4 |"
  }
  plain_best=$(wrk_field ours-plain-keep-alive rps)
  openssl_plain=$(wrk_field openssl-plain-close rps)
  verdict=$(awk -v a="$plain_best" -v b="$openssl_plain" 'BEGIN {
    printf "%s ≥ 10 ×, %s ≥ 20,000/s", (b > 0 && a / b >= 10 ? "met" : "MISSED"), (a >= 20000 ? "met" : "MISSED") }')
  multi_note=${multi[*]:-"(no -multi in this OpenSSL: one process)"}
  ocsp_table=$(
    cat <<TABLE
### OCSP, \`POST /ocsp\` under wrk (-t2 -c$connections -d${seconds}s), $(date -u '+%H:%M UTC')

Load average (1 min) before the jpki-sim runs: $ours_load_before; after the OpenSSL runs: $ocsp_load_after.
OpenSSL responder: \`openssl ocsp -index -port -nmin 15 $multi_note\`, restarted for each run, requests with
\`Connection: close\`. Response sizes: jpki-sim $ours_plain_bytes B (no nonce) and $ours_nonce_bytes B (nonce);
OpenSSL $openssl_plain_bytes B and $openssl_nonce_bytes B. Ratios are jpki-sim / OpenSSL \`Connection: close\`.

| request, jpki-sim connection | jpki-sim responses/s | p50 / p99 ms | errors | OpenSSL responses/s | p50 / p99 ms | errors | ratio | target |
|---|---:|---:|---:|---:|---:|---:|---:|---|
$(row "no nonce (cached), keep-alive" ours-plain-keep-alive openssl-plain-close "$verdict")
$(row "no nonce (cached), Connection: close" ours-plain-close openssl-plain-close "")
$(row "nonce (signed per request), keep-alive" ours-nonce-keep-alive openssl-nonce-close "")
$(row "nonce (signed per request), Connection: close" ours-nonce-close openssl-nonce-close "")
TABLE
  )
fi

# ---------------------------------------------------------------------------------------------
# CRL
# ---------------------------------------------------------------------------------------------

measure() { # OUT -- COMMAND...: one run; appends "wall_seconds max_rss_kb exit_status" to OUT
  local out=$1 t0 t1 status=0
  shift 2
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/stdout.txt" 2>"$work/stderr.txt" || status=$?
  t1=$EPOCHREALTIME
  local rss
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') ${rss:-0} $status" >>"$out"
}
median() { # FILE COLUMN
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

crl_table=
if [[ " $parts " == *" crl "* ]]; then
  echo "== CRL" >&2
  crl_dir=$work/crl
  mkdir -p "$crl_dir"
  cp "$ca_dir/ca.pem" "$ca_dir/ca.key" "$crl_dir/"
  cat >"$crl_dir/ca.cnf" <<'CNF'
[ ca ]
default_ca = CA_default
[ CA_default ]
dir = .
database = $dir/index.txt
certificate = $dir/ca.pem
private_key = $dir/ca.key
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 1
unique_subject = no
crl_extensions = crl_ext
[ crl_ext ]
authorityKeyIdentifier = keyid:always
CNF
  index() { # N: index.txt with revoked entries 1..N, as jpki_sim_benches::revocation makes them
    awk -v n="$1" 'BEGIN {
      for (i = 1; i <= n; i++)
        printf "R\t300101000000Z\t250101000000Z,affiliationChanged\t40000000%08X\tunknown\t/CN=x\n", i }' \
      >"$crl_dir/index.txt"
    echo 01 >"$crl_dir/crlnumber"
    rm -f "$crl_dir/index.txt.attr" "$crl_dir/crlnumber.old"
  }
  note "$examples/crl_scale" --key ca.key.der --out ours.pem N
  note "awk 'BEGIN { for (i = 1; i <= N; i++) printf \"R\\t300101000000Z\\t250101000000Z,affiliationChanged\\t40000000%08X\\tunknown\\t/CN=x\\n\", i }' > index.txt"
  note openssl ca -gencrl -config ca.cnf -out crl.pem
  note "/usr/bin/time -v around each, 'timeout $openssl_crl_timeout' around OpenSSL; median of $runs runs"

  rows=()
  for n in 0 $sizes; do
    ours=$work/ours-$n.runs
    theirs=$work/openssl-$n.runs
    : >"$ours"
    : >"$theirs"
    : >"$work/build-$n"
    for _ in $(seq "$runs"); do
      measure "$ours" -- "$examples/crl_scale" --key "$ca_dir/ca.key.der" --out "$crl_dir/ours.pem" "$n"
      tr ' ' '\n' <"$work/stdout.txt" | sed -n 's/^build_seconds=//p' >>"$work/build-$n"
    done
    index "$n"
    for _ in $(seq "$runs"); do
      echo 01 >"$crl_dir/crlnumber"
      (cd "$crl_dir" && measure "$theirs" -- timeout "$openssl_crl_timeout" openssl ca -gencrl -config ca.cnf -out crl.pem)
      # One run past the time limit is enough to know.
      [ "$(tail -1 "$theirs" | cut -d' ' -f3)" = 124 ] && break
    done
    # The two lists must match: same size, and (for the smallest list) the same entries.
    openssl crl -in "$crl_dir/ours.pem" -CAfile "$crl_dir/ca.pem" -noout 2>&1 | grep -q 'verify OK' ||
      { echo "our $n-entry CRL does not verify" >&2; exit 1; }
    ours_bytes=$(stat -c %s "$crl_dir/ours.pem")
    if [ "$(tail -1 "$theirs" | cut -d' ' -f3)" = 0 ]; then
      theirs_bytes=$(stat -c %s "$crl_dir/crl.pem")
      if [ "$n" = "$(echo $sizes | cut -d' ' -f1)" ]; then
        entries() { openssl crl -in "$1" -noout -text | sed -n '/^Revoked Certificates/,/^ *Signature Algorithm/p'; }
        cmp -s <(entries "$crl_dir/ours.pem") <(entries "$crl_dir/crl.pem") ||
          { echo "the $n-entry CRLs list different entries" >&2; exit 1; }
      fi
    else
      theirs_bytes="-"
    fi
    ours_wall=$(median "$ours" 1)
    ours_rss=$(median "$ours" 2)
    build=$(median "$work/build-$n" 1)
    if [ "$(tail -1 "$theirs" | cut -d' ' -f3)" = 124 ]; then
      theirs_wall="> $openssl_crl_timeout (did not finish)"
      theirs_rss="-"
      wall_ratio="-"
      rss_ratio="-"
    else
      grep -qv ' 0$' "$theirs" && { echo "openssl ca -gencrl failed for $n entries:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
      theirs_wall=$(median "$theirs" 1)
      theirs_rss=$(median "$theirs" 2)
      wall_ratio=$(awk -v a="$theirs_wall" -v b="$ours_wall" 'BEGIN { printf "%.1f", a / b }')
      rss_ratio=$(awk -v a="$theirs_rss" -v b="$ours_rss" 'BEGIN { printf "%.1f", a / b }')
    fi
    mb() { awk -v k="$1" 'BEGIN { if (k ~ /^[0-9]+$/) printf "%.1f", k / 1024; else print k }'; }
    rows+=("| $n | $ours_wall | $build | $(mb "$ours_rss") | $theirs_wall | $(mb "$theirs_rss") | $wall_ratio | $rss_ratio | $ours_bytes / $theirs_bytes |")
  done
  crl_table=$(
    cat <<TABLE
### CRL build, \`crl_scale --out\` vs \`openssl ca -gencrl -out\`, $(date -u '+%H:%M UTC'), median of $runs runs

Load average (1 min) after: $(cut -d' ' -f1 /proc/loadavg). Row 0 is the empty list: the fixed cost of each process.

| revoked entries | jpki-sim process, s | of which build_crl_pem, s | jpki-sim peak RSS, MB | OpenSSL process, s | OpenSSL peak RSS, MB | time ratio | RSS ratio | PEM bytes (jpki-sim / OpenSSL) |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|
$(printf '%s\n' "${rows[@]}")
TABLE
  )
fi

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cat <<REPORT

## jpki-sim revocation services vs OpenSSL, $started

Machine: $(nproc) cores, $cpu; $(openssl version); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(rustc --version).
Load average before: $load_before; after: $load_after.

$ocsp_table

$crl_table

Commands:

REPORT
for c in "${commands[@]}"; do echo "    $c"; done
