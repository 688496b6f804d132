#!/usr/bin/env python3
"""OpenSC as the SDK under test: a jpki-sim adapter process made of OpenSC's own tools.

Speaks the adapter protocol (docs/adapter-protocol.md) on stdin/stdout; logs go to stderr.
Cards are reached only through PC/SC, in the reader `hello` names for each card (run the
harness with `jpki-sim run --pcsc`); every operation is one or two OpenSC commands against
that reader, and every answer is read from what those commands print:

  read_certificate  `pkcs15-tool --reader R --read-certificate ID -o FILE` (ID 01 auth, 02 sign,
                    03 auth CA, 04 sign CA), with `--verify-pin --auth-id 02 --pin P` first
                    when a password is given; the PEM it writes, as DER.
  pin_status        `pkcs15-tool --reader R --list-pins`: the `Tries left` of the PIN object
                    (auth-id 01 the authentication PIN, 02 the signature password).
  verify_pin        `pkcs15-tool --reader R --verify-pin --auth-id ID --pin V`.
  sign              `pkcs11-tool --module opensc-pkcs11.so --slot S --login --pin P --sign
                    -m SHA*-RSA-PKCS --id ID`: the slot is the one `pkcs11-tool -L` lists for
                    reader R with the token of that key's PIN.

What OpenSC's JPKI driver does not do is answered `unsupported`, and the features are not
claimed: the text and visual APs (no driver support: read_basic_info, read_my_number,
read_card_face, and the text, pin_a and pin_b PINs), change_pin (`pkcs15-tool --change-pin`
says `Not supported`), and a signature without a PIN in the same request (`pkcs11-tool` logs in
for every signature: the keys are private objects; `pkcs15-crypt` likewise verifies the key's
PIN first).

Status words are claimed only where OpenSC's output implies them:

  a command that succeeds                          -> 9000
  `Tries left : N` (--list-pins)                   -> 63CN, with retries_left N
  `PIN code or key incorrect` (SC_ERROR_PIN_CODE_INCORRECT, OpenSC's reading of 63Cx) or
  `CKR_PIN_INCORRECT`, then `Tries left : N` from --list-pins  -> 63CN
  `CKR_PIN_LOCKED`, then `Tries left : 0` from --list-pins     -> 63C0
  `Reference data not usable` (SC_ERROR_REF_DATA_NOT_USABLE)   -> 6984
  `Authentication method blocked` (SC_ERROR_AUTH_METHOD_BLOCKED) -> 6983
  `Security status not satisfied` (SC_ERROR_SECURITY_STATUS_NOT_SATISFIED) -> 6982
  `Card not present`, or no token in the reader's slots        -> no_card

Anything else (for instance `EF offset too large`, `CKR_GENERAL_ERROR`, `Invalid PIN length`)
says no status word, and is answered as an error `failed` carrying OpenSC's own words.

Python 3 standard library only. Run: python3 harness/adapters/opensc.py
Needs: opensc (pkcs15-tool, pkcs11-tool, opensc-pkcs11.so), pcscd with the readers.
"""

import base64
import os
import re
import subprocess
import sys

from adapter_protocol import Failed, NoCard, Unsupported, card_result, serve

FEATURES = ["pcsc", "sign_key", "card_removal"]
# Seconds one OpenSC command may take; below the harness's default step timeout (20 s).
TIMEOUT = 8
# Runs of pkcs11-tool when its slot list changes while it reads it (see `run`).
SLOT_LIST_ATTEMPTS = 3
PKCS11_MODULES = [
    "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/aarch64-linux-gnu/opensc-pkcs11.so",
    "/usr/lib/opensc-pkcs11.so",
    "/usr/lib64/opensc-pkcs11.so",
]

# The PKCS#15 objects OpenSC's JPKI emulation lists (`pkcs15-tool --dump`).
CERTIFICATE_IDS = {"auth": "01", "sign": "02", "auth_ca": "03", "sign_ca": "04"}
PIN_IDS = {"auth": "01", "sign": "02"}
KEY_IDS = {"auth": "01", "sign": "02"}
# The PIN object names in --list-pins, and the PKCS#11 token of each key.
PIN_NAMES = {"auth": "User Authentication PIN", "sign": "Digital Signature PIN"}
MECHANISMS = {
    "sha1": "SHA1-RSA-PKCS",
    "sha256": "SHA256-RSA-PKCS",
    "sha384": "SHA384-RSA-PKCS",
    "sha512": "SHA512-RSA-PKCS",
}

# OpenSC messages that imply the status word the card answered (OpenSC's iso7816 error table).
IMPLIED_STATUS = [
    ("Reference data not usable", "6984"),
    ("Authentication method blocked", "6983"),
    ("Security status not satisfied", "6982"),
]
WRONG_PIN = ("PIN code or key incorrect", "CKR_PIN_INCORRECT")
NO_CARD = ("Card not present", "No smart card present", "CKR_TOKEN_NOT_PRESENT")


def log(message):
    print(f"opensc: {message}", file=sys.stderr, flush=True)


class OpenScSdk:
    def __init__(self, environment, workdir):
        self.cards = {card["index"]: card for card in environment.get("cards", [])}
        self.workdir = workdir
        self.files = 0
        self.module = next((m for m in PKCS11_MODULES if os.path.exists(m)), None)

    # Operations.

    def read_certificate(self, request):
        reader = self.reader(request)
        which = request["which"]
        cert_id = CERTIFICATE_IDS.get(which)
        if cert_id is None:
            raise ValueError(f"unknown certificate {which!r}")
        pem = self.new_path("cert.pem")
        args = ["--reader", reader, "--read-certificate", cert_id, "-o", pem]
        if request.get("password") is not None:
            args += ["--verify-pin", "--auth-id", PIN_IDS["sign"], "--pin", request["password"]]
        done = run(["pkcs15-tool", *args])
        if done.returncode != 0 or not os.path.exists(pem):
            return self.refusal(done, reader, "sign")
        return card_result("9000", {"kind": "certificate", "der": pem_to_der(pem).hex()})

    def pin_status(self, request):
        reader = self.reader(request)
        pin = self.jpki_pin(request["pin"])
        tries = self.tries_left(reader, pin)
        return card_result(f"63C{tries:X}", {"kind": "retries_left", "count": tries})

    def verify_pin(self, request):
        reader = self.reader(request)
        pin = self.jpki_pin(request["pin"])
        done = run(["pkcs15-tool", "--reader", reader, "--verify-pin", "--auth-id", PIN_IDS[pin],
                    "--pin", request["value"]])
        if done.returncode != 0:
            return self.refusal(done, reader, pin)
        return card_result("9000")

    def change_pin(self, request):
        raise Unsupported("OpenSC's JPKI driver answers `PIN code change failed: Not supported`")

    def sign(self, request):
        reader = self.reader(request)
        key = request["key"]
        if key not in KEY_IDS:
            raise ValueError(f"unknown key {key!r}")
        mechanism = MECHANISMS.get(request["hash"])
        if mechanism is None:
            raise Unsupported(f"no OpenSC mechanism for {request['hash']}")
        if self.module is None:
            raise Failed("opensc-pkcs11.so not found in " + ", ".join(PKCS11_MODULES))
        # The token first: without a card there is nothing to log in to.
        slot = self.slot(reader, PIN_NAMES[key])
        pin = request.get("pin")
        if pin is None:
            raise Unsupported(
                "OpenSC's signing tools verify the key's PIN in the same command (pkcs11-tool "
                "logs in: the JPKI keys are private objects; pkcs15-crypt verifies the key's "
                "auth id), so a signature relying on an earlier verify_pin cannot be asked of "
                "them"
            )
        data = self.write_new("data.bin", bytes.fromhex(request["data"]))
        signature = self.new_path("sig.bin")
        done = run(["pkcs11-tool", "--module", self.module, "--slot", slot, "--login",
                    "--pin", pin, "--sign", "-m", mechanism, "--id", KEY_IDS[key], "-i", data,
                    "-o", signature])
        if done.returncode != 0 or not os.path.exists(signature):
            return self.refusal(done, reader, key)
        with open(signature, "rb") as file:
            return card_result("9000", {"kind": "signature", "signature": file.read().hex()})

    def read_basic_info(self, request):
        raise Unsupported("OpenSC has no driver for the text AP (券面事項入力補助AP)")

    def read_my_number(self, request):
        raise Unsupported("OpenSC has no driver for the text AP (券面事項入力補助AP)")

    def read_card_face(self, request):
        raise Unsupported("OpenSC has no driver for the visual AP (券面AP)")

    # What OpenSC said, as a result.

    def refusal(self, done, reader, pin):
        """A failed command's answer: the status word its message implies, else `failed`."""
        said = done.stdout + done.stderr
        if any(text in said for text in NO_CARD):
            raise NoCard()
        if any(text in said for text in WRONG_PIN):
            tries = self.tries_left(reader, pin)
            return card_result(f"63C{tries:X}")
        if "CKR_PIN_LOCKED" in said:
            tries = self.tries_left(reader, pin)
            if tries == 0:
                return card_result("63C0")
        for text, status in IMPLIED_STATUS:
            if text in said:
                return card_result(status)
        raise Failed(f"{done.args[0]} said: {tail(done)}")

    def tries_left(self, reader, pin):
        """`Tries left` of `pin` in `pkcs15-tool --list-pins`."""
        done = run(["pkcs15-tool", "--reader", reader, "--list-pins"])
        said = done.stdout + done.stderr
        if any(text in said for text in NO_CARD):
            raise NoCard()
        blocks = re.split(r"^PIN \[", done.stdout, flags=re.MULTILINE)
        for block in blocks[1:]:
            if block.startswith(PIN_NAMES[pin] + "]"):
                match = re.search(r"^\s*Tries left\s*:\s*(\d+)\s*$", block, re.MULTILINE)
                if match:
                    return int(match.group(1))
        raise Failed(f"pkcs15-tool --list-pins shows no tries left for {PIN_NAMES[pin]}: "
                     + tail(done))

    # Readers and slots.

    def reader(self, request):
        card = request.get("card", {})
        known = self.cards.get(card.get("index"), card)
        reader = known.get("reader") or card.get("reader")
        if not reader:
            raise Failed(
                f"card {card.get('index')} is in no PC/SC reader; OpenSC reaches cards only "
                "through PC/SC: run the harness with --pcsc"
            )
        return reader

    def slot(self, reader, pin_name):
        """The PKCS#11 slot id of `reader`'s token for `pin_name`, from `pkcs11-tool -L`."""
        done = run(["pkcs11-tool", "--module", self.module, "-L"])
        slots = re.findall(
            r"^Slot \d+ \((0x[0-9a-fA-F]+)\): (.*?)\s*\n((?:[ \t].*\n?)*)", done.stdout,
            re.MULTILINE,
        )
        in_reader = [(slot, body) for slot, name, body in slots if name == reader]
        if not in_reader:
            raise Failed(f"pkcs11-tool -L lists no slot for reader {reader!r}: {tail(done)}")
        for slot, body in in_reader:
            if re.search(r"token label\s*:.*\(" + re.escape(pin_name) + r"\)", body):
                return slot
        if all("(empty)" in body or "token label" not in body for _, body in in_reader):
            raise NoCard()
        raise Failed(f"pkcs11-tool -L lists no token for {pin_name} in {reader!r}")

    @staticmethod
    def jpki_pin(pin):
        if pin not in PIN_IDS:
            raise Unsupported(f"OpenSC's JPKI driver knows only the auth and sign PINs, not {pin}")
        return pin

    # Files.

    def new_path(self, name):
        self.files += 1
        return os.path.join(self.workdir, f"{self.files:04d}-{name}")

    def write_new(self, name, data):
        path = self.new_path(name)
        with open(path, "wb") as file:
            file.write(data)
        return path


def pem_to_der(path):
    with open(path, encoding="ascii") as file:
        text = file.read()
    match = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", text, re.S)
    if match is None:
        raise Failed(f"pkcs15-tool wrote no PEM certificate to {path}")
    return base64.b64decode("".join(match.group(1).split()))


def run(args):
    """Runs an OpenSC command; text stdout and stderr. PINs are left out of the log."""
    shown = ["***" if previous in ("--pin", "--new-pin") else arg
             for previous, arg in zip([None, *args], args)]
    log(" ".join(shown))
    for attempt in range(1, SLOT_LIST_ATTEMPTS + 1):
        try:
            done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT,
                                  stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired as err:
            raise Failed(f"{args[0]} took more than {TIMEOUT} s") from err
        except OSError as err:
            raise Failed(f"cannot run {args[0]}: {err}") from err
        # pkcs11-tool counts the slots, then lists them, and gives up when a card came or went
        # in another reader between the two calls (OpenSC adds a slot per token), before it
        # has talked to any card: run it again.
        if "C_GetSlotList() failed: rv = CKR_BUFFER_TOO_SMALL" not in done.stderr:
            break
        log(f"{args[0]}: the slot list changed under it (attempt {attempt})")
    if done.returncode != 0:
        log(f"{args[0]} exited {done.returncode}: {tail(done)}")
    return done


def tail(done, lines=3):
    text = [line for line in (done.stdout + done.stderr).strip().splitlines()
            if not line.startswith("Using ")]
    return " | ".join(text[-lines:]) if text else f"exit status {done.returncode}"


def opensc_version():
    try:
        done = subprocess.run(["opensc-tool", "--info"], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False)
        return done.stdout.splitlines()[0].strip()
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "OpenSC (version unknown)"


OPERATIONS = {
    "read_certificate", "pin_status", "verify_pin", "change_pin", "sign", "read_basic_info",
    "read_my_number", "read_card_face",
}


def main():
    return serve(
        "sdk",
        start=OpenScSdk,
        name=lambda: f"opensc ({opensc_version()})",
        features=FEATURES,
        operations=OPERATIONS,
        refusal=lambda op: f"{op} is not an SDK operation",
        log=log,
        workdir_prefix="opensc-sdk-",
    )


if __name__ == "__main__":
    sys.exit(main())
