#!/usr/bin/env bash
# Starts or stops a pcscd with vsmartcard's vpcd readers, without systemd.
#
#   scripts/pcscd.sh start   # readers "Virtual PCD 00 00/01" on ports 35963/35964 and
#                            # "Virtual PCD B 00 00/01" on 35965/35966
#   scripts/pcscd.sh stop
#
# pcscd reads our own reader.conf directory (nothing in /etc changes). The second reader stanza
# loads a copy of the vpcd driver: two stanzas sharing one driver file break each other.
set -euo pipefail

cmd=${1:-start}
dir=${JPKI_SIM_PCSCD_DIR:-${TMPDIR:-/tmp}/jpki-sim-pcscd}
driver=/usr/lib/pcsc/drivers/serial/libifdvpcd.so
pidfile=$dir/pcscd.pid

sudo_if_needed() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

alive() { [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

listening() { grep -q ":$(printf '%04X' "$1") 00000000:0000 0A" /proc/net/tcp; }

case "$cmd" in
  start)
    if listening 35963; then
      echo "pcscd: vpcd already listening on 35963"
      exit 0
    fi
    [ -e "$driver" ] || { echo "pcscd: $driver missing: run scripts/setup-debian.sh" >&2; exit 1; }
    mkdir -p "$dir/conf"
    cp -f "$(readlink -f "$driver")" "$dir/libifdvpcd-b.so"
    cat > "$dir/conf/vpcd" <<CONF
FRIENDLYNAME "Virtual PCD"
DEVICENAME   /dev/null:35963
LIBPATH      $driver
CHANNELID    0x8C7B

FRIENDLYNAME "Virtual PCD B"
DEVICENAME   /dev/null:35965
LIBPATH      $dir/libifdvpcd-b.so
CHANNELID    0x8C7D
CONF
    # A pcscd that crashed leaves its run directory behind; a live one must be left alone.
    if [ -e /run/pcscd/pcscd.pid ] && ! kill -0 "$(tr -d '\0' < /run/pcscd/pcscd.pid)" 2>/dev/null; then
      sudo_if_needed rm -rf /run/pcscd
    fi
    # No --auto-exit: it would stop pcscd after 60 s without clients, cards attached or not.
    # Started directly (not through a shell function) so that $! is pcscd's own pid.
    if [ "$(id -u)" = 0 ]; then
      pcscd --foreground --info --config "$dir/conf" > "$dir/pcscd.log" 2>&1 &
    else
      sudo pcscd --foreground --info --config "$dir/conf" > "$dir/pcscd.log" 2>&1 &
    fi
    echo $! > "$pidfile"
    # Readiness from /proc: a probe connect() would be taken for a card.
    for _ in $(seq 200); do
      if listening 35963 && listening 35965; then echo "pcscd: ready (log $dir/pcscd.log)"; exit 0; fi
      sleep 0.05
    done
    echo "pcscd: vpcd did not start listening; log follows" >&2
    cat "$dir/pcscd.log" >&2
    exit 1
    ;;
  stop)
    if alive; then sudo_if_needed kill "$(cat "$pidfile")"; fi
    # A pcscd started from this configuration by an older copy of this script.
    sudo_if_needed pkill -f "pcscd --foreground --info --config $dir/conf" 2>/dev/null || true
    rm -f "$pidfile"
    for _ in $(seq 100); do listening 35963 || break; sleep 0.05; done
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
