"""The adapter side of the jpki-sim adapter protocol, version 1 (docs/adapter-protocol.md), shared
by the bundled adapters: JSON lines on stdin and stdout, `hello`, one `request` per step, `bye`.

An adapter supplies an object whose methods are named after the operations it performs; each
takes the request and returns the operation's `result`, or raises one of the exceptions below.
Python 3 standard library only.
"""

import atexit
import json
import shutil
import signal
import sys
import tempfile

PROTOCOL_VERSION = 1


class Unsupported(Exception):
    """The adapter does not do this operation: an `unsupported` error."""


class Failed(Exception):
    """The operation failed as a program (a tool died, its output did not parse): `failed`."""


class NoCard(Exception):
    """An SDK operation found no card in the reader: the result `no_card`."""


class UnknownEnrolment(Exception):
    """A PF operation names an enrolment the PF does not hold: `unknown_enrolment`."""


class BadRequest(Exception):
    """The request names a known op but its fields do not fit it: `bad_request`."""


PINS = ("auth", "sign", "text", "pin_a", "pin_b")
KEYS = ("auth", "sign")
HASHES = ("sha1", "sha256", "sha384", "sha512")

# The fields of each op (docs/adapter-protocol.md): name -> (kind, required). A kind is "hex",
# "str", "card", "consent", "hex_list", or a tuple of the values allowed.
FIELDS = {
    "read_certificate": {"card": ("card", True), "which": (("sign", "auth", "sign_ca", "auth_ca"), True),
                         "password": ("str", False)},
    "pin_status": {"card": ("card", True), "pin": (PINS, True)},
    "verify_pin": {"card": ("card", True), "pin": (PINS, True), "value": ("str", True)},
    "change_pin": {"card": ("card", True), "pin": (PINS, True), "old": ("str", True), "new": ("str", True)},
    "sign": {"card": ("card", True), "key": (KEYS, True), "data": ("hex", True), "hash": (HASHES, True),
             "pin": ("str", False)},
    "read_basic_info": {"card": ("card", True), "pin": (PINS, True), "value": ("str", True)},
    "read_my_number": {"card": ("card", True), "pin": (PINS, True), "value": ("str", True)},
    "read_card_face": {"card": ("card", True), "pin": (PINS, True), "value": ("str", True)},
    "enrol": {"name": ("str", True), "key": (KEYS, True), "certificate": ("hex", True),
              "intermediates": ("hex_list", False), "data": ("hex", True), "hash": (HASHES, True),
              "signature": ("hex", True)},
    "check_status": {"enrolment": ("str", True), "via": (("ocsp", "crl"), True)},
    "register_consent": {"enrolment": ("str", True), "consent": ("consent", True)},
    "latest_info": {"enrolment": ("str", True)},
    "resolve_user": {"enrolment": ("str", True)},
}


def is_hex(value):
    return isinstance(value, str) and len(value) % 2 == 0 and all(
        c in "0123456789abcdefABCDEF" for c in value)


def fits(kind, value):
    if isinstance(kind, tuple):
        return value in kind
    if kind == "str":
        return isinstance(value, str)
    if kind == "hex":
        return is_hex(value)
    if kind == "hex_list":
        return isinstance(value, list) and all(is_hex(v) for v in value)
    if kind == "card":
        return isinstance(value, dict) and isinstance(value.get("index"), int) and not isinstance(
            value.get("index"), bool)
    if kind == "consent":
        return isinstance(value, dict) and is_hex(value.get("document")) and is_hex(value.get("signature"))
    return False


def check_fields(op, request):
    """Raises BadRequest naming the first field of `request` that does not fit `op`; fields the
    op does not have are ignored, as the protocol says."""
    for field, (kind, required) in FIELDS.get(op, {}).items():
        if field not in request or request[field] is None:
            if required:
                raise BadRequest(f"{op}: missing field `{field}`")
            continue
        if not fits(kind, request[field]):
            expected = " or ".join(kind) if isinstance(kind, tuple) else kind
            raise BadRequest(f"{op}: `{field}` is {json.dumps(request[field])[:60]}, not {expected}")


def card_result(status, data=None):
    """An SDK result: what the card said (status word as four hex digits) and its data."""
    result = {"outcome": "card", "status": status}
    if data is not None:
        result["data"] = data
    return result


def answer(adapter, request, operations, refusal):
    """The `result` or `error` part of the response to `request`. `operations` are the ops
    `adapter` has methods for; any other op is refused with `refusal(op)`."""
    op = request.get("op")
    try:
        if adapter is None:
            raise ValueError("a request before hello")
        if op not in operations:
            raise Unsupported(refusal(op))
        check_fields(op, request)
        return {"result": getattr(adapter, op)(request)}
    except NoCard:
        return {"result": {"outcome": "no_card"}}
    except Unsupported as err:
        return {"error": {"code": "unsupported", "message": str(err)}}
    except BadRequest as err:
        return {"error": {"code": "bad_request", "message": str(err)}}
    except UnknownEnrolment as err:
        return {"error": {"code": "unknown_enrolment", "message": f"no enrolment named {err}"}}
    except Failed as err:
        return {"error": {"code": "failed", "message": f"{op}: {err}"}}
    except (ValueError, KeyError, OSError) as err:
        return {"error": {"code": "failed", "message": f"{op}: {err!r}"}}


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def serve(role, start, name, features, operations, refusal, log, workdir_prefix):
    """Runs one adapter session on stdin/stdout and returns the exit status: 0 after `bye` or
    the end of input, 1 when the harness speaks another version or asks for another role.

    `start(environment, workdir)` builds the adapter object at `hello`; `name()` is the name
    hello answers with. Files go in a temporary directory removed at exit, also when the
    harness ends a stuck adapter with SIGTERM."""
    workdir = tempfile.mkdtemp(prefix=workdir_prefix)
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    adapter = None
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        kind = message.get("type")
        if kind == "hello":
            if message.get("version") != PROTOCOL_VERSION:
                log(f"protocol version {message.get('version')} is not {PROTOCOL_VERSION}")
                return 1
            if message.get("role") != role:
                log(f"asked to be {message.get('role')!r}; this adapter is {role!r}")
                return 1
            adapter = start(message["environment"], workdir)
            send({"type": "hello", "version": PROTOCOL_VERSION, "name": name(),
                  "features": features})
        elif kind == "request":
            send({"type": "response", "id": message["id"],
                  **answer(adapter, message, operations, refusal)})
        elif kind == "bye":
            return 0
        else:
            log(f"unknown message type {kind!r}")
            return 1
    return 0
