#!/usr/bin/env python3
"""jpki-cli (https://github.com/siketyan/jpki-rs) as the SDK under test, as a jpki-sim adapter.

Speaks the adapter protocol (docs/adapter-protocol.md) on stdin/stdout; logs go to stderr.
Every operation is one run of `jpki-cli`, driven through a pseudo-terminal (its PIN prompts
and its document input read the terminal), with its standard output in a file:

  read_certificate  `crypto [--auth] [--ca] read-certificate` (the signature certificate asks
                    for the password first); the DER it prints.
  pin_status        `crypto [--auth] stat`, `support stat` (text), `surface stat a|b`: the
                    number it prints.
  verify_pin        jpki-cli has no verify command: the command that verifies that PIN before
                    anything else, whose output is then thrown away: sign `crypto
                    read-certificate`, auth `crypto --auth sign` of an empty document, text
                    `support get attributes`, pin_a/pin_b `surface get date-of-birth`.
  sign              `crypto [--auth] sign FILE`, the data typed on the terminal up to EOF, then
                    the PIN; jpki-cli signs a SHA-1 DigestInfo only.
  read_basic_info   `support get attributes` (JSON) after the text PIN.
  read_my_number    `support get my-number` after the text PIN.

Answered `unsupported`, and the feature not claimed: change_pin (no command), read_card_face
(`surface get` prints single fields, never the card-face file), a signature over any hash but
SHA-1, a signature or a signature certificate without its PIN (jpki-cli always asks for it),
the basic 4 info with 照合番号B and the my number with 照合番号A (its text-AP commands verify the
input-assist PIN only), and data that cannot be typed on a terminal (the EOF character ^D).

Readers: jpki-cli always uses the first reader PC/SC lists, card or not, and waits (silently,
forever) until a card is in it. `jpki-sim run --pcsc` puts card 0 of every scenario there; an
operation on a card in another reader (card 1 of a two-card scenario) is an error `failed`
saying so, and while jpki-cli is still waiting after CARD_WAIT seconds with PC/SC showing its
reader empty, the answer is `no_card`.

Status words, claimed only where jpki-cli's output implies them:

  a command that ends without an error            -> 9000
  the number `stat` prints, N                     -> 63CN, with retries_left N (jpki prints 0 for
                                                     both 63C0 and 9000; our card always answers
                                                     the retry query with 63Cx, so 0 is 63C0)
  `Verify failed: N tries left` (apdu crate, 63Cx) -> 63CN
  `Security condition is not satisfied`           -> 6982
  `Authentication method is blocked`              -> 6983
  `Referenced data is reversibly blocked or invalidated` -> 6984
  `Conditions of use is not satisfied`            -> 6985
  `The parameters in the data field is incorrect` -> 6A80
  `The file is not found`                         -> 6A82

Any other error is answered as an error `failed` with jpki-cli's own words.

Python 3 standard library only. Run: python3 harness/adapters/jpki_cli.py
Needs: jpki-cli ($JPKI_CLI, or on PATH, or ~/.local/share/jpki-sim/jpki-cli/bin/jpki-cli) and
pcsc-lite's libpcsclite.so.1.
"""

import ctypes
import ctypes.util
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import termios
import time

from adapter_protocol import Failed, NoCard, Unsupported, card_result, serve

FEATURES = ["pcsc", "sign_key", "text_ap", "card_removal"]
# Seconds one jpki-cli run may take; below the harness's default step timeout (20 s).
TIMEOUT = 8
# Seconds jpki-cli may wait without prompting or finishing before the reader is looked at.
CARD_WAIT = 1.5
DEFAULT_CLI = os.path.expanduser("~/.local/share/jpki-sim/jpki-cli/bin/jpki-cli")

# jpki-cli's error messages (the apdu crate's names of status words) to the one status word
# each stands for.
IMPLIED_STATUS = {
    "Security condition is not satisfied": "6982",
    "Authentication method is blocked": "6983",
    "Referenced data is reversibly blocked or invalidated": "6984",
    "Conditions of use is not satisfied": "6985",
    "The parameters in the data field is incorrect": "6A80",
    "The file is not found": "6A82",
}
SEXES = {"Male": "1", "Female": "2", "NotApplicable": "9"}
# A PIN prompt: jpki-cli's translated hint (`PIN for ...: `) or, when its translations are
# missing, the message key (`en.messages.pin_hint.signing: `).
PROMPT = re.compile(rb"(pin_hint\.[a-z_]+|PIN[^\r\n]*): $")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
EOF_CHAR = b"\x04"


def log(message):
    print(f"jpki-cli: {message}", file=sys.stderr, flush=True)


class JpkiCliSdk:
    def __init__(self, environment, workdir, cli):
        self.cards = {card["index"]: card for card in environment.get("cards", [])}
        self.workdir = workdir
        self.cli = cli
        self.files = 0
        self.pcsc = None

    # Operations.

    def read_certificate(self, request):
        self.check_reader(request)
        which, password = request["which"], request.get("password")
        flags = {"sign": [], "auth": ["--auth"], "sign_ca": ["--ca"],
                 "auth_ca": ["--auth", "--ca"]}.get(which)
        if flags is None:
            raise ValueError(f"unknown certificate {which!r}")
        if which == "sign" and password is None:
            raise Unsupported("jpki-cli asks for the signature password before it reads the "
                              "signature certificate")
        if which != "sign" and password is not None:
            raise Unsupported(f"jpki-cli verifies no password before reading the {which} "
                              "certificate")
        out = self.run(["crypto", *flags, "read-certificate"], pin=password)
        if out.error is not None:
            return refusal(out)
        return card_result("9000", {"kind": "certificate", "der": out.stdout.hex()})

    def pin_status(self, request):
        self.check_reader(request)
        args = {"auth": ["crypto", "--auth", "stat"], "sign": ["crypto", "stat"],
                "text": ["support", "stat"], "pin_a": ["surface", "stat", "a"],
                "pin_b": ["surface", "stat", "b"]}.get(request["pin"])
        if args is None:
            raise ValueError(f"unknown PIN {request['pin']!r}")
        out = self.run(args)
        if out.error is not None:
            return refusal(out)
        printed = out.stdout.decode(errors="replace").strip()
        if not printed.isdigit():
            raise Failed(f"jpki-cli {' '.join(args)} printed {printed!r}, not a count")
        tries = int(printed)
        return card_result(f"63C{tries:X}", {"kind": "retries_left", "count": tries})

    def verify_pin(self, request):
        self.check_reader(request)
        pin, value = request["pin"], request["value"]
        if pin == "sign":
            args = ["crypto", "read-certificate"]
        elif pin == "auth":
            args = ["crypto", "--auth", "sign", self.new_path("verify.sig")]
        elif pin == "text":
            args = ["support", "get", "attributes"]
        elif pin in ("pin_a", "pin_b"):
            collation_number(pin, value)
            args = ["surface", "get", "date-of-birth"]
        else:
            raise ValueError(f"unknown PIN {pin!r}")
        document = b"" if pin == "auth" else None
        out = self.run(args, pin=value, document=document)
        if out.error is not None:
            return refusal(out)
        return card_result("9000")

    def change_pin(self, request):
        raise Unsupported("jpki-cli has no command to change a PIN")

    def sign(self, request):
        self.check_reader(request)
        key = request["key"]
        if key not in ("auth", "sign"):
            raise ValueError(f"unknown key {key!r}")
        if request["hash"] != "sha1":
            raise Unsupported(f"jpki-cli signs a SHA-1 DigestInfo only, not {request['hash']}")
        if request.get("pin") is None:
            raise Unsupported("jpki-cli asks for the PIN for every signature")
        data = bytes.fromhex(request["data"])
        if EOF_CHAR in data:
            raise Unsupported("jpki-cli reads the document from the terminal, where ^D (04) "
                              "ends it")
        if len(data) > 4000:
            raise Unsupported("jpki-cli reads the document from the terminal, whose input "
                              "buffer holds 4095 bytes")
        signature = self.new_path("sig.bin")
        flags = ["--auth"] if key == "auth" else []
        out = self.run(["crypto", *flags, "sign", signature], pin=request["pin"], document=data)
        if out.error is not None:
            return refusal(out)
        if not os.path.exists(signature):
            raise Failed("jpki-cli reported no error but wrote no signature")
        with open(signature, "rb") as file:
            return card_result("9000", {"kind": "signature", "signature": file.read().hex()})

    def read_basic_info(self, request):
        self.check_reader(request)
        if request["pin"] != "text":
            raise Unsupported("jpki-cli reads the basic 4 info after the input-assist PIN only")
        out = self.run(["support", "get", "attributes"], pin=request["value"])
        if out.error is not None:
            return refusal(out)
        try:
            attributes = json.loads(out.stdout)
        except ValueError as err:
            raise Failed(f"jpki-cli printed no JSON: {out.stdout[:200]!r}") from err
        sex = SEXES.get(attributes.get("sex"))
        if sex is None:
            raise Failed(f"jpki-cli printed the sex {attributes.get('sex')!r}, which keeps no "
                         "code (it knows 1, 2 and 9 only)")
        return card_result("9000", {
            "kind": "basic_info",
            "name": attributes["name"],
            "address": attributes["address"],
            "birth_date": attributes["date_of_birth"],
            "sex": sex,
        })

    def read_my_number(self, request):
        self.check_reader(request)
        if request["pin"] != "text":
            raise Unsupported("jpki-cli reads the my number after the input-assist PIN only")
        out = self.run(["support", "get", "my-number"], pin=request["value"])
        if out.error is not None:
            return refusal(out)
        number = out.stdout.decode(errors="replace").strip()
        return card_result("9000", {"kind": "my_number", "number": number})

    def read_card_face(self, request):
        raise Unsupported("jpki-cli prints single card-face fields (surface get TY), never the "
                          "card-face file")

    # Readers.

    def check_reader(self, request):
        """Refuses a card that is not in the reader jpki-cli will use."""
        card = request.get("card", {})
        reader = self.cards.get(card.get("index"), card).get("reader") or card.get("reader")
        if not reader:
            raise Failed(f"card {card.get('index')} is in no PC/SC reader; jpki-cli reaches "
                         "cards only through PC/SC: run the harness with --pcsc")
        first = self.first_reader()
        if reader != first:
            raise Failed(f"jpki-cli always uses the first PC/SC reader ({first!r}), and card "
                         f"{card.get('index')} is in {reader!r}")

    def first_reader(self):
        if self.pcsc is None:
            self.pcsc = Pcsc()
        readers = self.pcsc.readers()
        if not readers:
            raise Failed("PC/SC lists no reader")
        return readers[0]

    # Running jpki-cli.

    def run(self, args, pin=None, document=None):
        """Runs jpki-cli ARGS on a terminal: types `document` then ^D, then `pin` at the PIN
        prompt. Standard output comes back as bytes; `error` is its error message, if any."""
        log(" ".join(["jpki-cli", *args]))
        stdout_path = self.new_path("stdout")
        pid, terminal = pty.fork()
        if pid == 0:
            try:
                out = os.open(stdout_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(out, 1)
                os.execv(self.cli, [self.cli, *args])
            finally:
                os._exit(127)
        try:
            said = self.converse(pid, terminal, pin, document)
        finally:
            os.close(terminal)
        with open(stdout_path, "rb") as file:
            stdout = file.read()
        text = ANSI.sub("", said.decode(errors="replace"))
        errors = [line.split(" ERROR ", 1)[1] for line in text.splitlines() if " ERROR " in line]
        error = errors[-1].strip() if errors else None
        if error is not None:
            log(f"jpki-cli said: {error}")
        return Ran(stdout, error)

    def converse(self, pid, terminal, pin, document):
        typing_mode(terminal)
        if document is not None:
            # ^D sends a line without its newline; a second one, at a line's start, is EOF.
            ends_line = document == b"" or document.endswith(b"\n")
            os.write(terminal, document + (EOF_CHAR if ends_line else EOF_CHAR * 2))
        said = b""
        sent_pin = pin is None
        prompted = False
        started = time.monotonic()
        looked = started
        exit_status = None
        while exit_status is None:
            elapsed = time.monotonic() - started
            if elapsed > TIMEOUT:
                kill(pid)
                raise Failed(f"jpki-cli did not finish within {TIMEOUT} s; it said: "
                             + ANSI.sub("", said.decode(errors="replace"))[-300:])
            prompted = prompted or PROMPT.search(said) is not None
            if not sent_pin and prompted and not echoing(terminal):
                # Typed only once the prompt has turned echo off: typed earlier, the PIN would
                # be flushed (or echoed).
                os.write(terminal, pin.encode() + b"\n")
                sent_pin = True
            # jpki-cli connects to the card before it prompts or reads anything, and waits
            # there while its reader is empty.
            now = time.monotonic()
            if elapsed > CARD_WAIT and not prompted and now - looked > 0.5:
                looked = now
                if self.reader_empty():
                    kill(pid)
                    raise NoCard()
            ready, _, _ = select.select([terminal], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(terminal, 4096)
                except OSError:
                    chunk = b""
                said += chunk
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                exit_status = status
        # What it wrote just before it exited.
        while select.select([terminal], [], [], 0)[0]:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
        if os.waitstatus_to_exitcode(exit_status) == 127:
            raise Failed(f"cannot run {self.cli}")
        return said

    def reader_empty(self):
        try:
            return not self.pcsc.present(self.first_reader())
        except Failed:
            return False

    # Files.

    def new_path(self, name):
        self.files += 1
        return os.path.join(self.workdir, f"{self.files:04d}-{name}")


class Ran:
    def __init__(self, stdout, error):
        self.stdout = stdout
        self.error = error


def refusal(out):
    """A jpki-cli error as the status word it names, else `failed`."""
    error = out.error
    card_error = error.partition("The card returned an error: ")[2]
    match = re.fullmatch(r"Verify failed: (\d+) tries left", card_error)
    if match:
        return card_result(f"63C{int(match.group(1)):X}")
    status = IMPLIED_STATUS.get(card_error)
    if status is not None:
        return card_result(status)
    raise Failed(f"jpki-cli said: {error}")


def collation_number(pin, value):
    """jpki-cli takes a 12-character value as 照合番号A and anything else as 照合番号B."""
    if (pin == "pin_a") != (len(value) == 12):
        raise Unsupported(f"jpki-cli would take a {len(value)}-character value as "
                          f"{'照合番号A' if len(value) == 12 else '照合番号B'}, not {pin}")


def typing_mode(terminal):
    """Lets every byte of a document through the terminal but ^D: no signals, no flow
    control, no line editing, no CR-to-NL translation."""
    attrs = termios.tcgetattr(terminal)
    attrs[0] &= ~(termios.ICRNL | termios.INLCR | termios.IGNCR | termios.IXON | termios.ISTRIP)
    attrs[3] &= ~(termios.ISIG | termios.IEXTEN)
    for special in (termios.VERASE, termios.VKILL):
        attrs[6][special] = b"\x00"
    termios.tcsetattr(terminal, termios.TCSANOW, attrs)


def echoing(terminal):
    return bool(termios.tcgetattr(terminal)[3] & termios.ECHO)


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


class Pcsc:
    """The two PC/SC questions jpki-cli's behaviour depends on, asked of pcsc-lite directly:
    which reader is first, and whether it holds a card."""

    SCARD_S_SUCCESS = 0
    SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
    SCARD_STATE_PRESENT = 0x0020

    class ReaderState(ctypes.Structure):
        _fields_ = [
            ("reader", ctypes.c_char_p),
            ("user_data", ctypes.c_void_p),
            ("current_state", ctypes.c_ulong),
            ("event_state", ctypes.c_ulong),
            ("atr_len", ctypes.c_ulong),
            ("atr", ctypes.c_ubyte * 33),
        ]

    def __init__(self):
        name = ctypes.util.find_library("pcsclite") or "libpcsclite.so.1"
        try:
            self.lib = ctypes.CDLL(name)
        except OSError as err:
            raise Failed(f"cannot load pcsc-lite ({name}): {err}") from err
        for function in ("SCardEstablishContext", "SCardListReaders", "SCardGetStatusChange"):
            getattr(self.lib, function).restype = ctypes.c_long
        self.context = ctypes.c_long()
        rv = self.lib.SCardEstablishContext(ctypes.c_ulong(2), None, None,
                                            ctypes.byref(self.context))
        if rv != self.SCARD_S_SUCCESS:
            raise Failed(f"SCardEstablishContext failed: 0x{rv & 0xFFFFFFFF:08X}")

    def readers(self):
        length = ctypes.c_ulong()
        rv = self.lib.SCardListReaders(self.context, None, None, ctypes.byref(length))
        if rv == self.SCARD_E_NO_READERS_AVAILABLE:
            return []
        if rv != self.SCARD_S_SUCCESS:
            raise Failed(f"SCardListReaders failed: 0x{rv & 0xFFFFFFFF:08X}")
        buffer = ctypes.create_string_buffer(length.value)
        rv = self.lib.SCardListReaders(self.context, None, buffer, ctypes.byref(length))
        if rv != self.SCARD_S_SUCCESS:
            raise Failed(f"SCardListReaders failed: 0x{rv & 0xFFFFFFFF:08X}")
        return [name.decode() for name in buffer.raw[:length.value].split(b"\0") if name]

    def present(self, reader):
        state = self.ReaderState(reader=reader.encode(), current_state=0)
        rv = self.lib.SCardGetStatusChange(self.context, ctypes.c_ulong(0), ctypes.byref(state),
                                           ctypes.c_ulong(1))
        if rv != self.SCARD_S_SUCCESS:
            raise Failed(f"SCardGetStatusChange failed: 0x{rv & 0xFFFFFFFF:08X}")
        return bool(state.event_state & self.SCARD_STATE_PRESENT)


def find_cli():
    for candidate in (os.environ.get("JPKI_CLI"), shutil.which("jpki-cli"), DEFAULT_CLI):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


OPERATIONS = {
    "read_certificate", "pin_status", "verify_pin", "change_pin", "sign", "read_basic_info",
    "read_my_number", "read_card_face",
}


def cli_version(cli):
    try:
        done = subprocess.run([cli, "--version"], capture_output=True, text=True, timeout=5,
                              check=False)
        return done.stdout.strip() or "version unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "version unknown"


def main():
    cli = find_cli()
    if cli is None:
        log("jpki-cli not found: set JPKI_CLI or put it on PATH")
        return 1
    return serve(
        "sdk",
        start=lambda environment, workdir: JpkiCliSdk(environment, workdir, cli),
        name=lambda: f"jpki-cli ({cli_version(cli)})",
        features=FEATURES,
        operations=OPERATIONS,
        refusal=lambda op: f"{op} is not an SDK operation",
        log=log,
        workdir_prefix="jpki-cli-sdk-",
    )


if __name__ == "__main__":
    sys.exit(main())
