#!/usr/bin/env bash
# Installs what jpki-sim's tests and PC/SC transport need on Debian 12 (bookworm) or later:
# pcscd with vsmartcard's vpcd driver, OpenSC, pcsc-tools, the PC/SC headers, jpki-cli
# (a third-party My Number Card client used as an independent check), python3 for the
# adapters in harness/adapters/, a JDK and Node.js for the adapter templates there, jwcrypto,
# authlib and requests (independent JOSE and OpenID Connect implementations that check
# mock-da's tokens), Chromium with a CJK font (the reports rendered as a person sees them) and
# chromedriver (Chromium clicking through mock-da's test-response page over WebDriver).
# Idempotent.
set -euo pipefail

packages=(pcscd vsmartcard-vpcd opensc pcsc-tools libpcsclite-dev pkg-config openssl util-linux curl jq python3 default-jdk-headless nodejs python3-jwcrypto python3-authlib python3-requests xxd chromium chromium-driver fonts-noto-cjk podman)
JPKI_CLI_VERSION=0.4.3
JPKI_CLI_ROOT=${JPKI_CLI_ROOT:-$HOME/.local/share/jpki-sim/jpki-cli}

sudo_if_needed() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! "$JPKI_CLI_ROOT/bin/jpki-cli" --version >/dev/null 2>&1; then
  echo "setup: building jpki-cli $JPKI_CLI_VERSION into $JPKI_CLI_ROOT (about a minute)"
  cargo install --quiet --locked jpki-cli --version "$JPKI_CLI_VERSION" --root "$JPKI_CLI_ROOT"
fi
echo "setup: ok (jpki-cli at $JPKI_CLI_ROOT/bin/jpki-cli)"
