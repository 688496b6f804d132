#!/usr/bin/env node
// A template SDK adapter for jpki-sim in Node.js (18 or later; no dependencies): copy it, and
// replace `ExampleSdk` with calls into your own SDK. It speaks the adapter protocol, version 1
// (docs/adapter-protocol.md) two ways:
//
//   node jpki-sdk-adapter.mjs                      JSON lines on stdin/stdout (one process per scenario)
//   node jpki-sdk-adapter.mjs --listen 127.0.0.1:0 HTTP (one session per scenario), prints a ready line
//
// and is checked with `jpki-sim adapter check --sut sdk='node jpki-sdk-adapter.mjs'`.
// Logs go to stderr: on stdio, stdout carries protocol messages only.

import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { createInterface } from "node:readline";

const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// The card, as your SDK reaches it: a transport that exchanges one APDU. In a test it is the
// harness's APDU bridge; in your product it is a PC/SC reader or the phone's NFC (Android
// IsoDep.transceive, iOS Core NFC sendCommand) — the SDK above it does not change.

class NoCard extends Error {}

/** The protocol's APDU bridge: POST the command APDU, get the response APDU (409: no card). */
class BridgeTransport {
  constructor(url) {
    this.url = url;
  }

  async transceive(command) {
    const answer = await fetch(this.url, {
      method: "POST",
      headers: { "Content-Type": "application/octet-stream" },
      body: command,
    });
    if (answer.status === 409) throw new NoCard("the card is not in its reader");
    if (answer.status !== 200) {
      throw new Error(`the APDU bridge answered HTTP ${answer.status}: ${await answer.text()}`);
    }
    const bytes = Buffer.from(await answer.arrayBuffer());
    if (bytes.length < 2) throw new Error("a response APDU shorter than its status word");
    return { data: bytes.subarray(0, bytes.length - 2), status: bytes.subarray(-2).toString("hex").toUpperCase() };
  }
}

// ---------------------------------------------------------------------------------------------
// An example SDK over that transport: the JPKI AP's certificates, PINs and signatures
// (docs/card.md). Replace it with yours; keep the results' shape.

const JPKI_AP = "D392F000260100000001";
const CERTIFICATE_FILES = { sign: "0001", sign_ca: "0002", auth: "000A", auth_ca: "000B" };
const PIN_FILES = { auth: "0018", sign: "001B" };
const KEY_FILES = { auth: "0017", sign: "001A" };
// The DER prefix of each hash's DigestInfo (RFC 8017 §9.2, note 1).
const DIGEST_INFO = {
  sha1: "3021300906052b0e03021a05000414",
  sha256: "3031300d060960864801650304020105000420",
  sha384: "3041300d060960864801650304020205000430",
  sha512: "3051300d060960864801650304020305000440",
};

const hex = (text) => Buffer.from(text, "hex");
const apdu = (header, data) =>
  data === undefined ? hex(header) : Buffer.concat([hex(header), Buffer.from([data.length]), data]);
const ok = (status) => status === "9000";
const card = (status, data) => (data === undefined ? { outcome: "card", status } : { outcome: "card", status, data });
const retries = (status) => (/^63C[0-9A-F]$/.test(status) ? { kind: "retries_left", count: parseInt(status[3], 16) } : undefined);

class ExampleSdk {
  constructor(transport) {
    this.transport = transport;
    // Every exchange goes through `exchange`, which follows the card's `6C xx` (wrong Le).
    this.card = { transceive: (command) => this.exchange(command) };
  }

  /** One APDU; a `6C xx` answer (ISO/IEC 7816-4 §5.6: wrong Le) is sent again with Le = xx. */
  async exchange(command) {
    const answer = await this.transport.transceive(command);
    if (answer.status.startsWith("6C") && command.length === 5) {
      const again = Buffer.from(command);
      again[4] = parseInt(answer.status.slice(2), 16);
      return this.transport.transceive(again);
    }
    return answer;
  }

  /**
   * A refused certificate or key may be one the card does not hold (a holder under 15 has no
   * signature certificate): JPKI EF 0008 has a byte per certificate, 00 for none. Say so
   * rather than pass on the refusal alone.
   */
  async explain(key, result) {
    if (ok(result.status)) return result;
    let answer = await this.card.transceive(apdu("00A4020C", hex("0008")));
    if (!ok(answer.status)) return result;
    answer = await this.card.transceive(hex("00B0000003"));
    const byte = key === "sign" ? 0 : 1;
    return ok(answer.status) && answer.data[byte] === 0x00 ? card(result.status, { kind: "no_certificate" }) : result;
  }

  /** SELECT the JPKI AP, then the PIN file and VERIFY when a PIN is given; the refusal if any. */
  async open(pinFile, pin) {
    let answer = await this.card.transceive(apdu("00A4040C", hex(JPKI_AP)));
    if (!ok(answer.status)) return answer.status;
    if (pin === undefined) return null;
    answer = await this.card.transceive(apdu("00A4020C", hex(pinFile)));
    if (!ok(answer.status)) return answer.status;
    answer = await this.card.transceive(apdu("00200080", Buffer.from(pin, "ascii")));
    return ok(answer.status) ? null : answer.status;
  }

  /** SELECT `file` and READ BINARY the DER object it holds, sized from its header. */
  async readFile(file) {
    let answer = await this.card.transceive(apdu("00A4020C", hex(file)));
    if (!ok(answer.status)) return { status: answer.status };
    answer = await this.card.transceive(hex("00B0000005"));
    if (!ok(answer.status)) return { status: answer.status };
    const head = answer.data;
    let size;
    if (head[1] < 0x80) size = 2 + head[1];
    else if (head[1] === 0x81) size = 3 + head[2];
    else if (head[1] === 0x82) size = 4 + head.readUInt16BE(2);
    else throw new Error(`a DER length form this example does not read: ${head.toString("hex")}`);
    const chunks = [];
    let read = 0;
    while (read < size) {
      const length = Math.min(256, size - read);
      const command = Buffer.from([0x00, 0xb0, (read >> 8) & 0x7f, read & 0xff, length & 0xff]);
      answer = await this.card.transceive(command);
      if (!ok(answer.status)) return { status: answer.status };
      if (answer.data.length === 0) throw new Error("the card's file ends before its DER length");
      chunks.push(answer.data);
      read += answer.data.length;
    }
    return { status: "9000", der: Buffer.concat(chunks).subarray(0, size) };
  }

  async read_certificate({ which, password }) {
    const refused = await this.open(PIN_FILES.sign, password);
    let result;
    if (refused) {
      result = card(refused);
    } else {
      const file = await this.readFile(CERTIFICATE_FILES[which]);
      result = file.der ? card("9000", { kind: "certificate", der: file.der.toString("hex") }) : card(file.status);
    }
    return which === "sign" || which === "auth" ? this.explain(which, result) : result;
  }

  async pin_status({ pin }) {
    const refused = await this.open();
    if (refused) return card(refused);
    let answer = await this.card.transceive(apdu("00A4020C", hex(PIN_FILES[pin])));
    if (!ok(answer.status)) return card(answer.status);
    answer = await this.card.transceive(hex("00200080"));
    return card(answer.status, retries(answer.status));
  }

  async verify_pin({ pin, value }) {
    return card((await this.open(PIN_FILES[pin], value)) ?? "9000");
  }

  async sign(request) {
    return this.explain(request.key, await this.signOnce(request));
  }

  async signOnce({ key, data, hash, pin }) {
    const refused = await this.open(PIN_FILES[key], pin);
    if (refused) return card(refused);
    let answer = await this.card.transceive(apdu("00A4020C", hex(KEY_FILES[key])));
    if (!ok(answer.status)) return card(answer.status);
    const digest = createHash(hash).update(hex(data)).digest();
    const input = Buffer.concat([hex(DIGEST_INFO[hash]), digest]);
    answer = await this.card.transceive(Buffer.concat([apdu("802A0080", input), Buffer.from([0x00])]));
    return ok(answer.status) ? card("9000", { kind: "signature", signature: answer.data.toString("hex") }) : card(answer.status);
  }
}

// What the example SDK does, and what it claims in hello (docs/adapter-protocol.md, "hello").
const FEATURES = ["sign_key", "card_removal"];
const OPERATIONS = ["read_certificate", "pin_status", "verify_pin", "sign"];
const ALL_OPERATIONS = [...OPERATIONS, "change_pin", "read_basic_info", "read_my_number", "read_card_face"];

// ---------------------------------------------------------------------------------------------
// The protocol. Below here nothing is specific to the example SDK but the field rules.

class ProtocolError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

const isHex = (value) => typeof value === "string" && /^([0-9A-Fa-f]{2})*$/.test(value);
const oneOf = (...values) => (value) => values.includes(value);
const isString = (value) => typeof value === "string";
const isCard = (value) => value !== null && typeof value === "object" && Number.isInteger(value.index);

// The fields of each operation this adapter does: [name, check, required].
const FIELDS = {
  read_certificate: [["card", isCard, true], ["which", oneOf("sign", "auth", "sign_ca", "auth_ca"), true], ["password", isString, false]],
  pin_status: [["card", isCard, true], ["pin", oneOf("auth", "sign", "text", "pin_a", "pin_b"), true]],
  verify_pin: [["card", isCard, true], ["pin", oneOf("auth", "sign", "text", "pin_a", "pin_b"), true], ["value", isString, true]],
  sign: [["card", isCard, true], ["key", oneOf("auth", "sign"), true], ["data", isHex, true], ["hash", oneOf("sha1", "sha256", "sha384", "sha512"), true], ["pin", isString, false]],
};

/** The `result` or `error` of one request in a session that said hello with `environment`. */
async function respond(session, request) {
  const { op } = request;
  try {
    if (!ALL_OPERATIONS.includes(op)) throw new ProtocolError("unsupported", `unknown op ${JSON.stringify(op)}`);
    if (!OPERATIONS.includes(op)) throw new ProtocolError("unsupported", `this example SDK does not ${op}`);
    for (const [field, fits, required] of FIELDS[op]) {
      if (request[field] === undefined || request[field] === null) {
        if (required) throw new ProtocolError("bad_request", `${op}: missing field \`${field}\``);
      } else if (!fits(request[field])) {
        throw new ProtocolError("bad_request", `${op}: \`${field}\` is ${JSON.stringify(request[field]).slice(0, 60)}`);
      }
    }
    // PIN-based operations the example leaves out answer unsupported rather than guess.
    if ((op === "pin_status" || op === "verify_pin") && !(request.pin in PIN_FILES)) {
      throw new ProtocolError("unsupported", `this example SDK keeps no ${request.pin} PIN`);
    }
    const handle = session.cards.find((c) => c.index === request.card.index);
    if (!handle) throw new ProtocolError("bad_request", `${op}: no card ${request.card.index} in hello`);
    const sdk = new ExampleSdk(new BridgeTransport(handle.bridge));
    return { result: await sdk[op](request) };
  } catch (error) {
    if (error instanceof NoCard) return { result: { outcome: "no_card" } };
    if (error instanceof ProtocolError) return { error: { code: error.code, message: error.message } };
    return { error: { code: "failed", message: `${op}: ${error.message}` } };
  }
}

const hello = () => ({ type: "hello", version: PROTOCOL_VERSION, name: "jpki-sim Node template SDK", features: FEATURES });
const log = (text) => process.stderr.write(`jpki-sdk-adapter: ${text}\n`);

/** stdio: one session; exit 0 after bye or the end of input, 1 when the protocol breaks. */
async function serveStdio() {
  let session = null;
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    let message;
    try {
      message = JSON.parse(line);
    } catch (error) {
      log(`not JSON: ${error.message}`);
      return 1;
    }
    if (message.type === "hello") {
      if (message.version !== PROTOCOL_VERSION) {
        log(`protocol version ${message.version} is not ${PROTOCOL_VERSION}`);
        return 1;
      }
      if (message.role !== "sdk") {
        log(`asked to be ${message.role}; this adapter is an SDK`);
        return 1;
      }
      session = { cards: message.environment?.cards ?? [] };
      process.stdout.write(JSON.stringify(hello()) + "\n");
    } else if (message.type === "request") {
      const answer = session
        ? await respond(session, message)
        : { error: { code: "failed", message: "a request before hello" } };
      process.stdout.write(JSON.stringify({ type: "response", id: message.id, ...answer }) + "\n");
    } else if (message.type === "bye") {
      return 0;
    } else {
      log(`unknown message type ${JSON.stringify(message.type)}`);
      return 1;
    }
  }
  return 0;
}

/** HTTP: POST /hello opens a session (Session-Id), /request answers in it, /bye closes it. */
function serveHttp(listen) {
  const sessions = new Map();
  const MAX_BODY = 2 << 20;
  const send = (reply, status, body, headers = {}) => {
    reply.writeHead(status, body === undefined ? headers : { "Content-Type": "application/json", ...headers });
    reply.end(body === undefined ? undefined : JSON.stringify(body));
  };
  const refuse = (reply, status, error, message, headers) => send(reply, status, { error, message }, headers);
  const server = createServer(async (request, reply) => {
    const path = request.url.split("?")[0].replace(/^.*\//, "/");
    if (!["/hello", "/request", "/bye"].includes(path)) return refuse(reply, 404, "not_found", `no ${request.url}`);
    if (request.method !== "POST") return refuse(reply, 405, "method_not_allowed", `${path} takes POST`, { Allow: "POST" });
    const chunks = [];
    let size = 0;
    for await (const chunk of request) {
      size += chunk.length;
      if (size > MAX_BODY) return refuse(reply, 413, "unreadable_body", "a body over 2 MiB");
      chunks.push(chunk);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    let message = null;
    if (text.trim() || path !== "/bye") {
      try {
        message = JSON.parse(text);
      } catch (error) {
        return refuse(reply, 400, "malformed_message", `the body is not JSON: ${error.message}`);
      }
    }
    const want = path.slice(1);
    if (message !== null && message.type !== want) {
      return refuse(reply, 400, "wrong_message", `POST ${path} takes a ${want} message, not ${JSON.stringify(message.type)}`);
    }
    if (path === "/hello") {
      if (message.version !== PROTOCOL_VERSION) {
        return refuse(reply, 400, "unsupported_version", `protocol version ${message.version} is not ${PROTOCOL_VERSION}`);
      }
      const id = randomBytes(16).toString("hex");
      sessions.set(id, { cards: message.environment?.cards ?? [] });
      return send(reply, 200, hello(), { "Session-Id": id });
    }
    const id = request.headers["session-id"];
    if (!id) return refuse(reply, 400, "missing_session", `${path} needs a Session-Id header`);
    const session = sessions.get(id);
    if (!session) return refuse(reply, 404, "unknown_session", `no session ${id}`);
    if (path === "/bye") {
      sessions.delete(id);
      return send(reply, 204);
    }
    return send(reply, 200, { type: "response", id: message.id, ...(await respond(session, message)) });
  });
  const at = listen.lastIndexOf(":");
  server.listen(Number(listen.slice(at + 1)), listen.slice(0, at), () => {
    const { address, port } = server.address();
    process.stdout.write(`jpki-sdk-adapter: ready at http://${address}:${port}\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

const listenAt = process.argv.indexOf("--listen");
if (listenAt > 0) {
  serveHttp(process.argv[listenAt + 1] ?? "127.0.0.1:0");
} else {
  process.exitCode = await serveStdio();
}
