#!/usr/bin/env python3
"""A platform (PF) made of the OpenSSL command line, as a jpki-sim adapter process.

Speaks the adapter protocol (docs/adapter-protocol.md) on stdin/stdout; logs go to stderr.
Every verdict is OpenSSL's:

  enrol         `openssl verify -attime` of the certificate against the hierarchy the request
                names (sign or auth), `openssl dgst -verify` of the signature over the data, and
                the status by `openssl ocsp`;
  check_status  via ocsp: `openssl ocsp -issuer -cert -url -CAfile -attime`, with OpenSSL's own
                nonce and response checks; via crl: the hierarchy's full CRL from the world,
                `openssl crl -CAfile` to check its signature, then
                `openssl verify -crl_check -CRLfile -attime`.

Time is the world's (GET {base_url}/admin/v1/clock), given to OpenSSL as `-attime`: the world's
clock is not the host's. What OpenSSL only warns about (an OCSP response without a nonce, status
times outside the window by the host clock) it does not refuse, and neither does this PF.

latest_info, resolve_user and register_consent are not OpenSSL's business: they answer
`unsupported`, and the adapter does not claim the latest_info or linkage features.

Python 3 standard library only. Run: python3 harness/adapters/openssl_pf.py
"""

import datetime
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request

from adapter_protocol import Failed, UnknownEnrolment, serve

FEATURES = ["ocsp", "crl", "faults", "world_clock"]
# Seconds an HTTP request or an OpenSSL command may take; below the harness's step timeout.
TIMEOUT = 8

# RFC 5280 reason names as OpenSSL prints them (CRL text and OCSP summary), lower-cased with
# spaces removed, to the suite's names.
REASONS = {
    "unspecified": "unspecified",
    "keycompromise": "key_compromise",
    "cacompromise": "ca_compromise",
    "affiliationchanged": "affiliation_changed",
    "superseded": "superseded",
    "cessationofoperation": "cessation_of_operation",
    "certificatehold": "certificate_hold",
    "removefromcrl": "remove_from_crl",
    "privilegewithdrawn": "privilege_withdrawn",
    "aacompromise": "aa_compromise",
}
DIGESTS = {"sha1": "-sha1", "sha256": "-sha256", "sha384": "-sha384", "sha512": "-sha512"}
# `openssl verify` error numbers (X509_V_ERR_*) that mean the certificate is out of its validity.
CERT_NOT_YET_VALID, CERT_HAS_EXPIRED, CERT_REVOKED = 9, 10, 23


class Undetermined(Failed):
    """No status could be established; the message says why. Outside a status check (an
    OpenSSL command that hung), the operation failed as a program."""


def log(message):
    print(f"openssl-pf: {message}", file=sys.stderr, flush=True)


class OpenSslPf:
    def __init__(self, environment, workdir):
        self.base_url = environment["base_url"].rstrip("/")
        self.crl_url = environment["crl_url"].rstrip("/")
        self.ocsp_url = environment["ocsp_url"]
        self.workdir = workdir
        self.anchors = {
            "sign": self.write("sign-ca.pem", environment["sign_ca_pem"].encode()),
            "auth": self.write("auth-ca.pem", environment["auth_ca_pem"].encode()),
        }
        # name -> {"key": "sign"|"auth", "pem": path, "serial": HEX}
        self.enrolments = {}
        self.files = 0

    # Operations.

    def enrol(self, request):
        key = request["key"]
        if key not in self.anchors:
            raise ValueError(f"unknown key {key!r}: expected sign or auth")
        try:
            now = self.world_now()
        except Undetermined as err:
            return rejected("status_undetermined", str(err))
        cert_der = self.write_new("cert.der", bytes.fromhex(request["certificate"]))
        cert_pem = self.new_path("cert.pem")
        converted = openssl(["x509", "-inform", "DER", "-in", cert_der, "-out", cert_pem])
        if converted.returncode != 0:
            return rejected("untrusted", "not DER X.509: " + tail(converted))
        untrusted = []
        presented = request.get("intermediates", [])
        if presented:
            pems = []
            for index, der_hex in enumerate(presented):
                der = self.write_new(f"intermediate{index}.der", bytes.fromhex(der_hex))
                pem = self.new_path(f"intermediate{index}.pem")
                if openssl(["x509", "-inform", "DER", "-in", der, "-out", pem]).returncode != 0:
                    return rejected("untrusted", f"presented certificate {index} is not DER X.509")
                with open(pem, encoding="ascii") as text:
                    pems.append(text.read())
            bundle = self.write_new("intermediates.pem", "".join(pems).encode("ascii"))
            untrusted = ["-untrusted", bundle]
        chain = openssl(
            ["verify", "-attime", str(now), "-CAfile", self.anchors[key], *untrusted, cert_pem]
        )
        if chain.returncode != 0:
            code = verify_error(chain)
            reason = "expired" if code in (CERT_NOT_YET_VALID, CERT_HAS_EXPIRED) else "untrusted"
            return rejected(reason, f"{key} hierarchy: {tail(chain)}")
        public_key = self.new_path("pub.pem")
        extracted = openssl(["x509", "-in", cert_pem, "-pubkey", "-noout", "-out", public_key])
        if extracted.returncode != 0:
            return rejected("untrusted", "no public key: " + tail(extracted))
        digest = DIGESTS.get(request["hash"])
        if digest is None:
            raise ValueError(f"unknown hash {request['hash']!r}")
        data = self.write_new("data.bin", bytes.fromhex(request["data"]))
        signature = self.write_new("sig.bin", bytes.fromhex(request["signature"]))
        verified = openssl(["dgst", digest, "-verify", public_key, "-signature", signature, data])
        if verified.returncode != 0 or "Verified OK" not in verified.stdout:
            return rejected("bad_signature", tail(verified))
        try:
            status = self.ocsp(key, cert_pem, now)
        except Undetermined as err:
            return rejected("status_undetermined", str(err))
        if status["outcome"] == "revoked":
            return rejected("revoked", f"OCSP: revoked ({status['reason']})")
        if status["outcome"] == "unknown":
            return rejected("status_undetermined", "OCSP: the responder does not know it")
        self.enrolments[request["name"]] = {
            "key": key,
            "pem": cert_pem,
            "serial": self.serial(cert_pem),
        }
        return {"outcome": "accepted"}

    def check_status(self, request):
        enrolment = self.enrolments.get(request["enrolment"])
        if enrolment is None:
            raise UnknownEnrolment(request["enrolment"])
        try:
            now = self.world_now()
            if request["via"] == "ocsp":
                return self.ocsp(enrolment["key"], enrolment["pem"], now)
            if request["via"] == "crl":
                return self.crl(enrolment, now)
            raise ValueError(f"unknown channel {request['via']!r}")
        except Undetermined as err:
            return {"outcome": "undetermined", "detail": str(err)}

    # Status channels.

    def ocsp(self, key, cert_pem, now):
        """`openssl ocsp` with its default nonce; OpenSSL's exit status and messages decide."""
        anchor = self.anchors[key]
        asked = openssl(
            ["ocsp", "-issuer", anchor, "-cert", cert_pem, "-url", self.ocsp_url,
             "-CAfile", anchor, "-attime", str(now), "-timeout", str(TIMEOUT), "-resp_text"]
        )
        said = asked.stdout + asked.stderr
        refusals = ("Response Verify Failure", "Nonce Verify error", "Responder Error",
                    "Error querying OCSP responder")
        refused = [line for line in said.splitlines() if line.startswith(refusals)]
        if asked.returncode != 0 or refused:
            raise Undetermined("openssl ocsp: " + (refused[0] if refused else tail(asked)))
        # `NAME: good`, or with status times out of range by the host clock,
        # `NAME: WARNING: Status times invalid.`, OpenSSL's error lines, then `good`.
        match = re.search(
            "^" + re.escape(cert_pem) + r": (WARNING: Status times invalid\.\n(?:.*:error:.*\n)*)?"
            r"(good|revoked|unknown)$",
            asked.stdout,
            re.MULTILINE,
        )
        if match is None:
            raise Undetermined("openssl ocsp printed no status: " + tail(asked))
        status = match.group(2)
        for warning in ("WARNING: no nonce in response", "WARNING: Status times invalid."):
            if warning in said:
                log(f"openssl ocsp only warned, and answered {status}: {warning}")
        if status != "revoked":
            return {"outcome": status}
        reason = re.search(r"^\s*Reason: (\S+)$", asked.stdout[match.end():], re.MULTILINE)
        # RFC 5280 §5.3.1: an absent reason is unspecified.
        return {"outcome": "revoked", "reason": reason_name(reason.group(1) if reason else None)}

    def crl(self, enrolment, now):
        key = enrolment["key"]
        anchor = self.anchors[key]
        url = f"{self.crl_url}/{key}.crl"
        crl_der = self.write_new("crl.der", http_get(url))
        crl_pem = self.new_path("crl.pem")
        converted = openssl(["crl", "-inform", "DER", "-in", crl_der, "-out", crl_pem])
        if converted.returncode != 0:
            raise Undetermined(f"{url} is not a CRL: {tail(converted)}")
        signed = openssl(["crl", "-in", crl_pem, "-CAfile", anchor, "-noout"])
        if "verify OK" not in signed.stdout + signed.stderr:
            raise Undetermined(f"openssl crl -CAfile: {tail(signed)}")
        checked = openssl(
            ["verify", "-crl_check", "-attime", str(now), "-CAfile", anchor,
             "-CRLfile", crl_pem, enrolment["pem"]]
        )
        if checked.returncode == 0:
            return {"outcome": "good"}
        if verify_error(checked) != CERT_REVOKED:
            raise Undetermined(f"openssl verify -crl_check: {tail(checked)}")
        return {"outcome": "revoked", "reason": self.crl_reason(crl_pem, enrolment["serial"])}

    def crl_reason(self, crl_pem, serial):
        """The reason code of `serial`'s entry, as `openssl crl -text` prints it."""
        text = openssl(["crl", "-in", crl_pem, "-text", "-noout"]).stdout
        entries = re.split(r"^\s*Serial Number: ", text, flags=re.MULTILINE)[1:]
        for entry in entries:
            lines = entry.splitlines()
            if lines and normal_serial(lines[0]) == serial:
                for i, line in enumerate(lines):
                    if "CRL Reason Code" in line and i + 1 < len(lines):
                        return reason_name(lines[i + 1].strip())
                return reason_name(None)
        raise Undetermined(f"openssl verify says revoked, but the CRL has no entry {serial}")

    # Helpers.

    def world_now(self):
        """The world's clock as Unix seconds, for -attime."""
        url = f"{self.base_url}/admin/v1/clock"
        try:
            now = json.loads(http_get(url))["now"]
            parsed = datetime.datetime.fromisoformat(now.replace("Z", "+00:00"))
        except (Undetermined, ValueError, KeyError, TypeError) as err:
            raise Undetermined(f"no world time from {url}: {err}") from err
        return int(parsed.timestamp())

    def serial(self, cert_pem):
        shown = openssl(["x509", "-in", cert_pem, "-serial", "-noout"])
        return normal_serial(shown.stdout.strip().partition("=")[2])

    def new_path(self, name):
        self.files += 1
        return os.path.join(self.workdir, f"{self.files:04d}-{name}")

    def write_new(self, name, data):
        return self.write_path(self.new_path(name), data)

    def write(self, name, data):
        return self.write_path(os.path.join(self.workdir, name), data)

    @staticmethod
    def write_path(path, data):
        with open(path, "wb") as file:
            file.write(data)
        return path


def openssl(args):
    """Runs `openssl ARGS`; the result has text stdout and stderr."""
    log("openssl " + " ".join(args))
    try:
        return subprocess.run(["openssl", *args], capture_output=True, text=True,
                              timeout=TIMEOUT + 2, check=False)
    except subprocess.TimeoutExpired as err:
        raise Undetermined(f"openssl {args[0]} took more than {TIMEOUT + 2} s") from err


def http_get(url):
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
            return reply.read()
    except urllib.error.HTTPError as err:
        raise Undetermined(f"{url} answered HTTP {err.code}") from err
    except (urllib.error.URLError, OSError) as err:
        raise Undetermined(f"{url}: {err}") from err


def verify_error(result):
    """The first X509_V_ERR number `openssl verify` reported (`error 10 at 0 depth ...`)."""
    match = re.search(r"error (\d+) at \d+ depth", result.stdout + result.stderr)
    return int(match.group(1)) if match else None


def tail(result, lines=3):
    text = (result.stdout + result.stderr).strip().splitlines()
    return " | ".join(text[-lines:]) if text else f"exit status {result.returncode}"


def reason_name(printed):
    if printed is None:
        return "unspecified"
    return REASONS.get(printed.replace(" ", "").replace("_", "").lower(), "unspecified")


def normal_serial(text):
    return text.strip().replace(":", "").upper().lstrip("0") or "0"


def rejected(reason, detail):
    return {"outcome": "rejected", "reason": reason, "detail": detail}


def openssl_version():
    try:
        return subprocess.run(["openssl", "version"], capture_output=True, text=True,
                              timeout=TIMEOUT, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "OpenSSL (version unknown)"


def main():
    return serve(
        "pf",
        start=OpenSslPf,
        name=lambda: f"openssl-pf ({openssl_version()})",
        features=FEATURES,
        operations={"enrol", "check_status"},
        refusal=lambda op: f"{op} is not a job for the OpenSSL command line",
        log=log,
        workdir_prefix="openssl-pf-",
    )


if __name__ == "__main__":
    sys.exit(main())
