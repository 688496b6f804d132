#!/usr/bin/env bash
# The requests that need bytes or a value from an earlier answer, with curl, openssl, xxd and
# jq: the APDU bridge, OCSP, the J-LIS status of the card's certificate, and the latest
# basic-4-info service (a consent signed on the card, an address change, the holder's latest
# 4 info and the linkage from the enrolled certificate to the new one). Against a running
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

# The latest basic-4-info service. The holder signs a consent document on the card with the
# signature key: SELECT the JPKI AP, SELECT and VERIFY the signature password (EF 001B, the
# default ABC123), SELECT the key (EF 001A), and COMPUTE DIGITAL SIGNATURE (80 2A 00 80) over
# the document's SHA-256 DigestInfo. Each call to the bridge is one APDU (hex in, hex out).
apdu() {
  printf '%s' "$1" | xxd -r -p |
    curl -fsS -H 'Content-Type: application/octet-stream' --data-binary @- "$BASE/cards/$CARD/apdu" |
    xxd -p | tr -d '\n'
}
expect_ok() {
  case $2 in *9000) ;; *) echo "$1 answered $2" >&2; exit 1 ;; esac
}
printf 'I consent to the latest basic-4-info service for this example.\n' >"$work/consent.txt"
digest_info=3031300d060960864801650304020105000420$(openssl dgst -sha256 -binary "$work/consent.txt" | xxd -p -c 64)
expect_ok "SELECT JPKI AP" "$(apdu 00A4040C0AD392F000260100000001)"
expect_ok "SELECT 001B" "$(apdu 00A4020C02001B)"
expect_ok "VERIFY" "$(apdu 0020008006414243313233)"
expect_ok "SELECT 001A" "$(apdu 00A4020C02001A)"
answer=$(apdu "802A008033${digest_info}00")
expect_ok "COMPUTE DIGITAL SIGNATURE" "$answer"
printf '%s' "${answer%9000}" | xxd -r -p >"$work/consent.sig"
jq -r .certificates.sign.pem "$work/view.json" | openssl x509 -outform DER >"$work/sign.der"
enrolled=$(jq -r .certificates.sign.serial "$work/view.json")
jq -n --arg document "$(base64 -w0 "$work/consent.txt")" \
  --arg signature "$(base64 -w0 "$work/consent.sig")" \
  --arg certificate "$(base64 -w0 "$work/sign.der")" \
  '{document: $document, signature: $signature, certificate: $certificate, valid_for: "365d"}' |
  curl -fsS -H 'Content-Type: application/json' -d @- "$BASE/jlis/v1/consents"
echo

# The holder moves: the signature certificate is revoked and a new one issued.
curl -fsS -H 'Content-Type: application/json' -d "{\"card\": \"$CARD\", \"kind\": \"address_change\"}" \
  "$BASE/admin/v1/events" >/dev/null
# The PF asks with the serial it enrolled: the new address, and the certificate now current.
curl -fsS "$BASE/jlis/v1/latest/$enrolled" | tee "$work/latest.json"
echo
jq -e --arg enrolled "$enrolled" '.changed and .latest_serial != $enrolled' "$work/latest.json" >/dev/null
curl -fsS "$BASE/jlis/v1/linkage/sign/$enrolled"
echo
# The holder withdraws the consent; the service answers no more.
curl -fsS -X DELETE "$BASE/jlis/v1/consents/$enrolled"
echo
if curl -fsS "$BASE/jlis/v1/latest/$enrolled" >/dev/null 2>&1; then
  echo "the latest 4 info were answered after the consent was withdrawn" >&2
  exit 1
fi
