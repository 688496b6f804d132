#!/usr/bin/env bash
# The requests that need bytes or a value from an earlier answer, with curl, openssl and jq:
# the APDU bridge, OCSP, and the J-LIS status of the card's certificate. Against a running
# `jpki-sim up` (BASE, default http://127.0.0.1:8700); harness/cli/tests/examples.rs runs it.
set -euo pipefail
BASE=${BASE:-http://127.0.0.1:8700}
CARD=felica:0123456789ABCDEF
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Provision the card and keep its authentication certificate and serial.
curl -fsS -H 'Content-Type: application/json' -d "{\"card\": \"$CARD\"}" "$BASE/admin/v1/cards" >"$work/view.json"
jq -r .certificates.auth.pem "$work/view.json" >"$work/auth.pem"
serial=$(jq -r .certificates.auth.serial "$work/view.json")

# The APDU bridge: SELECT the JPKI AP (the answer is the status word, 90 00).
printf '\x00\xA4\x04\x0C\x0A\xD3\x92\xF0\x00\x26\x01\x00\x00\x00\x01' |
  curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @- "$BASE/cards/$CARD/apdu" | od -An -tx1

# OCSP for the authentication certificate, checked by OpenSSL.
curl -fsS "$BASE/ca/auth.pem" >"$work/auth-ca.pem"
openssl ocsp -issuer "$work/auth-ca.pem" -cert "$work/auth.pem" -url "$BASE/ocsp" \
  -CAfile "$work/auth-ca.pem" -validity_period 172800

# J-LIS: the certificate's status as a PF asks it.
curl -fsS "$BASE/jlis/v1/status/auth/$serial"
echo
