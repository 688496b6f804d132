/*
 * An SDK adapter template for the JVM: puts a My Number Card (JPKI) SDK under test with
 * jpki-sim through the adapter protocol, version 1 (docs/adapter-protocol.md).
 *
 *   java harness/adapters/templates/jvm/JpkiSdkAdapter.java
 *   jpki-sim adapter check --sut "sdk=java harness/adapters/templates/jvm/JpkiSdkAdapter.java"
 *
 * Plain Java 17, no dependencies. Read from the top:
 *
 *   ApduTransport   what an SDK sends APDUs through (Android IsoDep, iOS Core NFC)
 *   BridgeTransport that interface over the harness's APDU bridge: the simulated card
 *   ExampleSdk      a small JPKI SDK over ApduTransport: REPLACE IT WITH YOUR SDK
 *   SdkOperations   one branch per protocol operation: your SDK's calls and results go here
 *   Protocol, Json  the message loop and a small JSON reader/writer; leave them as they are
 *
 * harness/adapters/templates/jvm/README.md says how to copy it and check it.
 */

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static java.nio.charset.StandardCharsets.UTF_8;

/** The entry point: the first class of the file, as `java File.java` requires. */
public final class JpkiSdkAdapter {
    /** The name this adapter says hello with; reports show it. Put your SDK's name here. */
    static final String NAME = "example-jvm-sdk 0.1";

    /**
     * The scenario features the SDK supports (docs/adapter-protocol.md, hello). Claim only what
     * it does: a scenario needing a feature not listed is skipped, not failed. Add `text_ap`,
     * `visual_ap` or `pin_change` when your SDK does those operations.
     */
    static final List<String> FEATURES = List.of("sign_key", "card_removal");

    private JpkiSdkAdapter() {}

    public static void main(String[] args) throws IOException {
        // stdout carries protocol messages only: anything else printed there (an SDK's own
        // logging, a stray println) would break the session, so System.out goes to stderr and
        // the protocol writes to the file descriptor itself.
        PrintStream protocolOut =
                new PrintStream(new FileOutputStream(FileDescriptor.out), false, UTF_8);
        System.setOut(System.err);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, UTF_8));
        System.exit(Protocol.serve(in, protocolOut));
    }

    /** Logs go to stderr: the harness shows the last 20 lines when an adapter breaks. */
    static void log(String message) {
        System.err.println("jvm-sdk-adapter: " + message);
    }
}

// ---------------------------------------------------------------------------------------------
// The transport: where the SDK meets the card.
// ---------------------------------------------------------------------------------------------

/**
 * What an SDK sends command APDUs through. This is the seam between an SDK and the NFC stack:
 * on Android it is {@code IsoDep.transceive(byte[])}, on iOS Core NFC's
 * {@code NFCISO7816Tag.sendCommand(apdu:)}. An SDK written against such an interface runs
 * unchanged in a JVM test with {@link BridgeTransport} in place of the phone's NFC: the mobile
 * path of the suite.
 */
interface ApduTransport {
    /**
     * Sends one command APDU and answers the response APDU: data, then SW1 SW2.
     *
     * @throws CardRemovedException when the card has left the field
     * @throws IOException when the transport itself failed
     */
    byte[] transceive(byte[] command) throws IOException;
}

/**
 * The card left the field. An IOException, as Android's {@code TagLostException} is, so an SDK
 * that handles a lost tag as an IOException handles this too.
 */
class CardRemovedException extends IOException {
    private static final long serialVersionUID = 1L;

    CardRemovedException(String message) {
        super(message);
    }
}

/**
 * {@link ApduTransport} over the harness's APDU bridge (docs/adapter-protocol.md, SDK
 * operations): each command is a POST of the raw APDU to the card's `bridge` URL, answered 200
 * with the response APDU, or 409 {@code {"error":"no_card"}} while the scenario has taken the
 * card out. HttpURLConnection rather than java.net.http, so that this class also runs on
 * Android (an instrumented test on a device pointed at the harness).
 */
final class BridgeTransport implements ApduTransport {
    private final URL bridge;

    BridgeTransport(String bridge) throws IOException {
        try {
            this.bridge = URI.create(bridge).toURL();
        } catch (IllegalArgumentException e) {
            throw new IOException("the card's bridge is not a URL: " + bridge, e);
        }
    }

    @Override
    public byte[] transceive(byte[] command) throws IOException {
        HttpURLConnection http = (HttpURLConnection) bridge.openConnection();
        http.setRequestMethod("POST");
        http.setDoOutput(true);
        http.setConnectTimeout(10_000);
        // A scenario can make the card slow (up to 10 s an APDU); the harness's step timeout,
        // not this one, is what decides that a step hangs.
        http.setReadTimeout(120_000);
        http.setRequestProperty("Content-Type", "application/octet-stream");
        http.setFixedLengthStreamingMode(command.length);
        try (OutputStream body = http.getOutputStream()) {
            body.write(command);
        }
        int code = http.getResponseCode();
        if (code == 200) {
            try (InputStream response = http.getInputStream()) {
                return response.readAllBytes();
            }
        }
        String text = "";
        try (InputStream error = http.getErrorStream()) {
            if (error != null) {
                text = new String(error.readAllBytes(), UTF_8);
            }
        }
        if (code == 409 && text.contains("no_card")) {
            throw new CardRemovedException("the card is out of the reader");
        }
        throw new IOException("the APDU bridge answered HTTP " + code + ": " + text);
    }
}

// ---------------------------------------------------------------------------------------------
// The example SDK. Replace it with yours: construct your SDK over an ApduTransport (or adapt
// its transport interface to one) and call it from SdkOperations.
// ---------------------------------------------------------------------------------------------

/** Which certificate of the JPKI AP. */
enum Slot { SIGN, AUTH, SIGN_CA, AUTH_CA }

/** The two JPKI keys: authentication (利用者証明用) and signature (署名用). */
enum Key { AUTH, SIGN }

/** The card's PINs: JPKI auth PIN and signature password, the text PIN, 照合番号A and B. */
enum Pin { AUTH, SIGN, TEXT, PIN_A, PIN_B }

/** The digests a DigestInfo can carry, with their DER prefix (RFC 8017 §9.2, note 1). */
enum Hash {
    SHA1("SHA-1", "3021300906052b0e03021a05000414"),
    SHA256("SHA-256", "3031300d060960864801650304020105000420"),
    SHA384("SHA-384", "3041300d060960864801650304020205000430"),
    SHA512("SHA-512", "3051300d060960864801650304020305000440");

    final String algorithm;
    final byte[] prefix;

    Hash(String algorithm, String prefix) {
        this.algorithm = algorithm;
        this.prefix = Hex.decode(prefix);
    }

    /** DER DigestInfo { algorithm, OCTET STRING digest } of `data`: what the card signs. */
    byte[] digestInfo(byte[] data) {
        byte[] digest;
        try {
            digest = MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has " + algorithm, e);
        }
        byte[] info = Arrays.copyOf(prefix, prefix.length + digest.length);
        System.arraycopy(digest, 0, info, prefix.length, digest.length);
        return info;
    }
}

/**
 * What the card said to an operation: the status word of the APDU that decided it and, on
 * success, its data. `kind` is null (a status only), or `certificate`, `signature` (`bytes`),
 * `retries_left` (`count`), `no_certificate`.
 */
record Reply(int status, String kind, byte[] bytes, int count) {
    static final int OK = 0x9000;

    static Reply status(int status) {
        return new Reply(status, null, null, 0);
    }

    boolean ok() {
        return status == OK;
    }
}

/** The card's data did not parse (a file shorter than its header says, a broken TLV). */
class SdkException extends Exception {
    private static final long serialVersionUID = 1L;

    SdkException(String message) {
        super(message);
    }
}

/**
 * A small JPKI SDK: the command sequences of docs/card.md, as a mobile SDK sends them. It reads
 * certificates, asks and verifies PINs, and signs with either JPKI key; it keeps no state
 * between operations but what the card keeps (a verified PIN while its AP stays selected).
 */
final class ExampleSdk {
    // Application identifiers (docs/card.md).
    static final byte[] JPKI_AP = Hex.decode("D392F000260100000001");
    static final byte[] TEXT_AP = Hex.decode("D3921000310001010408");
    static final byte[] VISUAL_AP = Hex.decode("D3921000310001010402");

    // Files of the JPKI AP.
    static final int SIGN_CERT = 0x0001;
    static final int SIGN_CA_CERT = 0x0002;
    static final int CERTIFICATE_AVAILABILITY = 0x0008;
    static final int AUTH_CERT = 0x000A;
    static final int AUTH_CA_CERT = 0x000B;
    static final int AUTH_KEY = 0x0017;
    static final int AUTH_PIN = 0x0018;
    static final int SIGN_KEY = 0x001A;
    static final int SIGN_PASSWORD = 0x001B;
    // The PIN files of the text and visual APs, for pin_status and verify_pin.
    static final int TEXT_PIN = 0x0011;
    static final int VISUAL_PIN_B = 0x0012;
    static final int VISUAL_PIN_A = 0x0013;

    /** Enough of a file's start for a 2-byte tag and a 3-byte length. */
    private static final int HEAD_LEN = 5;

    private final ApduTransport card;

    ExampleSdk(ApduTransport card) {
        this.card = card;
    }

    /** A JPKI certificate; the signature password is verified first when given. */
    Reply readCertificate(Slot slot, String password) throws IOException, SdkException {
        int ef = switch (slot) {
            case SIGN -> SIGN_CERT;
            case AUTH -> AUTH_CERT;
            case SIGN_CA -> SIGN_CA_CERT;
            case AUTH_CA -> AUTH_CA_CERT;
        };
        Reply refused = open(JPKI_AP, password == null ? -1 : SIGN_PASSWORD, password);
        Reply reply;
        if (refused != null) {
            reply = refused;
        } else {
            Response file = readFile(ef);
            reply = file.ok()
                    ? new Reply(Reply.OK, "certificate", file.data, 0)
                    : Reply.status(file.sw);
        }
        return switch (slot) {
            case SIGN -> explainRefusal(Key.SIGN, reply);
            case AUTH -> explainRefusal(Key.AUTH, reply);
            default -> reply;
        };
    }

    /** How many tries `pin` has left: an empty VERIFY, which uses none (always 63Cx). */
    Reply pinStatus(Pin pin) throws IOException {
        Reply refused = open(apOf(pin), -1, null);
        if (refused != null) {
            return refused;
        }
        Response selected = exchange(selectEf(fileOf(pin)));
        if (!selected.ok()) {
            return Reply.status(selected.sw);
        }
        int sw = exchange(command(0x00, 0x20, 0x00, 0x80, null, -1)).sw;
        return (sw & 0xFFF0) == 0x63C0
                ? new Reply(sw, "retries_left", null, sw & 0x0F)
                : Reply.status(sw);
    }

    /** VERIFY `value` as `pin`: 9000, or the card's refusal (63Cx with the tries left, 6984). */
    Reply verifyPin(Pin pin, String value) throws IOException {
        Reply refused = open(apOf(pin), fileOf(pin), value);
        return refused != null ? refused : Reply.status(Reply.OK);
    }

    /**
     * Signs the `hash` DigestInfo of `data` with a JPKI key (COMPUTE DIGITAL SIGNATURE
     * 80 2A 00 80, the card pads). `pin` is verified first when given; without it an earlier
     * verifyPin holds, as long as the JPKI AP stayed selected.
     */
    Reply sign(Key key, byte[] data, Hash hash, String pin) throws IOException {
        int pinEf = key == Key.AUTH ? AUTH_PIN : SIGN_PASSWORD;
        int keyEf = key == Key.AUTH ? AUTH_KEY : SIGN_KEY;
        Reply reply = open(JPKI_AP, pin == null ? -1 : pinEf, pin);
        if (reply == null) {
            Response selected = exchange(selectEf(keyEf));
            if (!selected.ok()) {
                reply = Reply.status(selected.sw);
            } else {
                byte[] input = hash.digestInfo(data);
                Response signed = exchange(command(0x80, 0x2A, 0x00, 0x80, input, 256));
                reply = signed.ok()
                        ? new Reply(Reply.OK, "signature", signed.data, 0)
                        : Reply.status(signed.sw);
            }
        }
        return explainRefusal(key, reply);
    }

    /**
     * A refusal to read a key's certificate or sign with it may mean the card has neither (a
     * holder under 15 at issuance has no signature certificate): EF 0008 has one byte per
     * certificate (signature, authentication), 00 for none. Read only after a refusal, and the
     * refusal's status word is kept.
     */
    private Reply explainRefusal(Key key, Reply refused) throws IOException {
        if (refused.ok()) {
            return refused;
        }
        if (!exchange(selectEf(CERTIFICATE_AVAILABILITY)).ok()) {
            return refused;
        }
        Response read = exchange(readBinary(0, 3));
        int at = key == Key.SIGN ? 0 : 1;
        if (read.ok() && read.data.length > at && read.data[at] == 0) {
            return new Reply(refused.status(), "no_certificate", null, 0);
        }
        return refused;
    }

    /**
     * SELECTs `ap` and, when `pinEf` is not -1, SELECTs and VERIFYs that PIN with `value`.
     * Answers the refusal to report, or null when the AP is ready.
     */
    private Reply open(byte[] ap, int pinEf, String value) throws IOException {
        Response selected = exchange(command(0x00, 0xA4, 0x04, 0x0C, ap, -1));
        if (!selected.ok()) {
            return Reply.status(selected.sw);
        }
        if (pinEf < 0) {
            return null;
        }
        selected = exchange(selectEf(pinEf));
        if (!selected.ok()) {
            return Reply.status(selected.sw);
        }
        // PINs are the characters typed (ASCII), sent as their bytes.
        byte[] typed = value.getBytes(UTF_8);
        Response verified = exchange(command(0x00, 0x20, 0x00, 0x80, typed, -1));
        return verified.ok() ? null : Reply.status(verified.sw);
    }

    /**
     * SELECTs `ef` and reads the TLV it holds, sized from its header, 256 bytes a READ BINARY.
     * A refusal at any point is answered as that refusal, never as the bytes read so far.
     */
    private Response readFile(int ef) throws IOException, SdkException {
        Response selected = exchange(selectEf(ef));
        if (!selected.ok()) {
            return selected;
        }
        Response head = exchange(readBinary(0, HEAD_LEN));
        if (!head.ok()) {
            return head;
        }
        int size = Tlv.size(head.data);
        ByteArrayOutputStream file = new ByteArrayOutputStream(size);
        while (file.size() < size) {
            if (file.size() > 0x7FFF) {
                throw new SdkException(
                        "a file of " + size + " bytes is beyond READ BINARY's offsets");
            }
            Response chunk = exchange(readBinary(file.size(), Math.min(256, size - file.size())));
            if (!chunk.ok()) {
                return chunk;
            }
            if (chunk.data.length == 0) {
                throw new SdkException(
                        "the card sent no data at offset " + file.size() + " of " + size);
            }
            file.write(chunk.data, 0, chunk.data.length);
        }
        return new Response(Arrays.copyOf(file.toByteArray(), size), Reply.OK);
    }

    /**
     * Sends `command`. A 6C xx (wrong Le, ISO/IEC 7816-4 §5.6) is answered by sending it once
     * more with Le = xx, as a T=0 reader would: over NFC nothing does it for the SDK.
     */
    private Response exchange(byte[] command) throws IOException {
        Response response = transmit(command);
        if (response.sw >> 8 == 0x6C && hasShortLe(command)) {
            byte[] again = command.clone();
            again[again.length - 1] = (byte) response.sw;
            return transmit(again);
        }
        return response;
    }

    private Response transmit(byte[] command) throws IOException {
        byte[] answer = card.transceive(command);
        if (answer.length < 2) {
            throw new IOException(
                    "a response APDU of " + answer.length + " bytes has no status word");
        }
        int sw = (answer[answer.length - 2] & 0xFF) << 8 | (answer[answer.length - 1] & 0xFF);
        return new Response(Arrays.copyOf(answer, answer.length - 2), sw);
    }

    /** A response APDU split into its data and status word. */
    private record Response(byte[] data, int sw) {
        boolean ok() {
            return sw == Reply.OK;
        }
    }

    private static byte[] apOf(Pin pin) {
        return switch (pin) {
            case AUTH, SIGN -> JPKI_AP;
            case TEXT -> TEXT_AP;
            case PIN_A, PIN_B -> VISUAL_AP;
        };
    }

    private static int fileOf(Pin pin) {
        return switch (pin) {
            case AUTH -> AUTH_PIN;
            case SIGN -> SIGN_PASSWORD;
            case TEXT -> TEXT_PIN;
            case PIN_A -> VISUAL_PIN_A;
            case PIN_B -> VISUAL_PIN_B;
        };
    }

    /** 00 A4 02 0C: SELECT an EF of the current AP by its 2-byte id, no FCI. */
    static byte[] selectEf(int fid) {
        return command(0x00, 0xA4, 0x02, 0x0C, new byte[] {(byte) (fid >> 8), (byte) fid}, -1);
    }

    /** 00 B0: READ BINARY of `len` bytes (1..256) at `offset` (15 bits). */
    static byte[] readBinary(int offset, int len) {
        return command(0x00, 0xB0, (offset >> 8) & 0x7F, offset & 0xFF, null, len);
    }

    /**
     * A short command APDU: header, then Lc and `data` when there is data, then Le when `le`
     * is not -1 (256 is sent as 00).
     */
    static byte[] command(int cla, int ins, int p1, int p2, byte[] data, int le) {
        ByteArrayOutputStream apdu = new ByteArrayOutputStream();
        apdu.write(cla);
        apdu.write(ins);
        apdu.write(p1);
        apdu.write(p2);
        if (data != null && data.length > 0) {
            apdu.write(data.length);
            apdu.write(data, 0, data.length);
        }
        if (le >= 0) {
            apdu.write(le == 256 ? 0 : le);
        }
        return apdu.toByteArray();
    }

    /** Whether a short APDU ends with an Le byte (case 2 or 4). */
    static boolean hasShortLe(byte[] apdu) {
        int lc = apdu.length > 5 ? apdu[4] & 0xFF : 0;
        return apdu.length == 5 || (lc != 0 && apdu.length == 6 + lc);
    }
}

/** BER-TLV lengths, as the card's files hold them (a 1- or 2-byte tag, a length up to 82 xx xx). */
final class Tlv {
    private Tlv() {}

    /** The total size, header included, of the TLV that `head` starts. */
    static int size(byte[] head) throws SdkException {
        int at = 0;
        int tag = byteAt(head, at++);
        if ((tag & 0x1F) == 0x1F) {
            while ((byteAt(head, at++) & 0x80) != 0) {
                // a tag byte with b8 set has another after it
            }
        }
        int first = byteAt(head, at++);
        int len;
        if (first < 0x80) {
            len = first;
        } else if (first == 0x81) {
            len = byteAt(head, at++);
        } else if (first == 0x82) {
            len = byteAt(head, at++) << 8;
            len |= byteAt(head, at++);
        } else {
            throw new SdkException(
                    String.format("a TLV length byte %02X the card's files never use", first));
        }
        return at + len;
    }

    private static int byteAt(byte[] data, int at) throws SdkException {
        if (at >= data.length) {
            throw new SdkException("the file's TLV header is cut short");
        }
        return data[at] & 0xFF;
    }
}

// ---------------------------------------------------------------------------------------------
// The operations: the protocol's requests as SDK calls, the SDK's answers as protocol results.
// This is the part to rewrite for your SDK.
// ---------------------------------------------------------------------------------------------

/**
 * One branch of `perform` per SDK operation of the protocol. Each reads its fields first (a
 * missing or ill-typed one is `bad_request` before any APDU), calls the SDK and says what the
 * card said.
 * Report what your SDK got; the harness judges it (the certificate is the one issued, the
 * signature verifies). Give a status word only when the SDK's answer implies one: "wrong PIN,
 * 2 tries left" is 63C2; a failure that does not say is an error `failed` with its words.
 */
final class SdkOperations {
    /** The bridge URL of each card `hello` listed, by index. */
    private final Map<Long, String> bridges;
    /** One SDK per card, kept across the scenario's steps as an app keeps its session. */
    private final Map<String, ExampleSdk> sdks = new HashMap<>();

    SdkOperations(Map<Long, String> bridges) {
        this.bridges = bridges;
    }

    Map<String, Object> perform(String op, Fields request)
            throws IOException, SdkException, ProtocolError {
        switch (op) {
            case "read_certificate": {
                ExampleSdk sdk = sdk(request);
                Slot which = request.choice("which", Slot.class);
                String password = request.optionalString("password");
                return result(sdk.readCertificate(which, password));
            }
            case "pin_status": {
                ExampleSdk sdk = sdk(request);
                Pin pin = request.choice("pin", Pin.class);
                return result(sdk.pinStatus(pin));
            }
            case "verify_pin": {
                ExampleSdk sdk = sdk(request);
                Pin pin = request.choice("pin", Pin.class);
                String value = request.string("value");
                return result(sdk.verifyPin(pin, value));
            }
            case "sign": {
                ExampleSdk sdk = sdk(request);
                Key key = request.choice("key", Key.class);
                byte[] data = request.hex("data");
                Hash hash = request.choice("hash", Hash.class);
                String pin = request.optionalString("pin");
                return result(sdk.sign(key, data, hash, pin));
            }
            // The example SDK has no text AP, visual AP or PIN change: it says so, and the
            // features it claims keep the scenarios that need them skipped.
            case "read_basic_info":
            case "read_my_number":
                throw ProtocolError.unsupported(op + ": the example SDK has no text AP support");
            case "read_card_face":
                throw ProtocolError.unsupported(op + ": the example SDK has no visual AP support");
            case "change_pin":
                throw ProtocolError.unsupported(op + ": the example SDK does not change PINs");
            case "enrol":
            case "check_status":
            case "register_consent":
            case "latest_info":
            case "resolve_user":
                throw ProtocolError.unsupported(op + " is a PF operation; this adapter is an SDK");
            default:
                throw ProtocolError.unsupported("the protocol has no operation `" + op + "`");
        }
    }

    /** The SDK of the request's `card`, over that card's APDU bridge. */
    private ExampleSdk sdk(Fields request) throws IOException, ProtocolError {
        Map<String, Object> card = request.card();
        String bridge = card.get("bridge") instanceof String given
                ? given
                : bridges.get((Long) card.get("index"));
        if (bridge == null) {
            throw ProtocolError.badRequest(
                    "card " + card.get("index") + " is not one of hello's cards");
        }
        ExampleSdk sdk = sdks.get(bridge);
        if (sdk == null) {
            // With your SDK: construct it over this transport (or wrap the transport in the
            // interface your SDK's NFC layer expects).
            sdk = new ExampleSdk(new BridgeTransport(bridge));
            sdks.put(bridge, sdk);
        }
        return sdk;
    }

    /** The protocol's SDK result for what the card said (docs/adapter-protocol.md). */
    static Map<String, Object> result(Reply reply) {
        Map<String, Object> result = new LinkedHashMap<>();
        result.put("outcome", "card");
        result.put("status", String.format("%04X", reply.status()));
        if (reply.kind() != null) {
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("kind", reply.kind());
            switch (reply.kind()) {
                case "certificate" -> data.put("der", Hex.encode(reply.bytes()));
                case "signature" -> data.put("signature", Hex.encode(reply.bytes()));
                case "retries_left" -> data.put("count", (long) reply.count());
                default -> { }
            }
            result.put("data", data);
        }
        return result;
    }
}

// ---------------------------------------------------------------------------------------------
// The protocol: the message loop, field checks, errors. Nothing here depends on the SDK.
// ---------------------------------------------------------------------------------------------

/** An operation not performed at all: the response's `error` (code and message). */
class ProtocolError extends Exception {
    private static final long serialVersionUID = 1L;

    final String code;

    ProtocolError(String code, String message) {
        super(message);
        this.code = code;
    }

    static ProtocolError unsupported(String message) {
        return new ProtocolError("unsupported", message);
    }

    static ProtocolError badRequest(String message) {
        return new ProtocolError("bad_request", message);
    }
}

/**
 * A request's fields, read as the protocol asks: a required one missing, of the wrong type or
 * outside its set is `bad_request`; fields the operation does not have are never looked at, so
 * later additions to the protocol are ignored.
 */
final class Fields {
    private final String op;
    private final Map<String, Object> request;

    Fields(String op, Map<String, Object> request) {
        this.op = op;
        this.request = request;
    }

    String string(String name) throws ProtocolError {
        Object value = required(name);
        if (value instanceof String text) {
            return text;
        }
        throw wrong(name, value, "a string");
    }

    /** An optional string: null when absent (or null). */
    String optionalString(String name) throws ProtocolError {
        return request.get(name) == null ? null : string(name);
    }

    byte[] hex(String name) throws ProtocolError {
        Object value = required(name);
        if (value instanceof String text && Hex.isHex(text)) {
            return Hex.decode(text);
        }
        throw wrong(name, value, "hex");
    }

    /** One of `type`'s constants, named on the wire in lower case (`sign_ca`, `pin_a`). */
    <E extends Enum<E>> E choice(String name, Class<E> type) throws ProtocolError {
        Object value = required(name);
        List<String> names = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            String wire = constant.name().toLowerCase(Locale.ROOT);
            if (wire.equals(value)) {
                return constant;
            }
            names.add(wire);
        }
        throw wrong(name, value, "one of " + String.join(", ", names));
    }

    /** The `card` handle: an object with an integer `index` (and its `bridge`). */
    Map<String, Object> card() throws ProtocolError {
        Object value = required("card");
        Map<String, Object> card = Json.object(value);
        if (card != null && card.get("index") instanceof Long) {
            return card;
        }
        throw wrong("card", value, "a card handle with an integer `index`");
    }

    private Object required(String name) throws ProtocolError {
        Object value = request.get(name);
        if (value == null) {
            throw ProtocolError.badRequest(op + ": missing field `" + name + "`");
        }
        return value;
    }

    private ProtocolError wrong(String name, Object value, String expected) {
        String shown = Json.write(value);
        if (shown.length() > 60) {
            shown = shown.substring(0, 60) + "...";
        }
        return ProtocolError.badRequest(op + ": `" + name + "` is " + shown + ", not " + expected);
    }
}

/** The adapter side of the protocol over stdin and stdout. */
final class Protocol {
    static final long VERSION = 1;

    private Protocol() {}

    /**
     * Runs one session and answers the exit status: 0 after `bye` or at the end of input, 1
     * when the harness speaks another version, asks for another role or sends what is not a
     * message (the adapter cannot go on; a failed check is never a reason to exit).
     */
    static int serve(BufferedReader in, PrintStream out) throws IOException {
        SdkOperations operations = null;
        for (String line; (line = in.readLine()) != null; ) {
            if (line.isBlank()) {
                continue;
            }
            Map<String, Object> message;
            try {
                message = Json.object(Json.parse(line));
            } catch (IllegalArgumentException e) {
                JpkiSdkAdapter.log("a line that is not JSON: " + e.getMessage());
                return 1;
            }
            Object type = message == null ? null : message.get("type");
            if ("hello".equals(type)) {
                if (!Long.valueOf(VERSION).equals(message.get("version"))) {
                    JpkiSdkAdapter.log("protocol version " + Json.write(message.get("version"))
                            + " is not " + VERSION);
                    return 1;
                }
                if (!"sdk".equals(message.get("role"))) {
                    JpkiSdkAdapter.log("asked to be " + Json.write(message.get("role"))
                            + "; this adapter is an SDK");
                    return 1;
                }
                operations = new SdkOperations(bridges(message.get("environment")));
                Map<String, Object> hello = new LinkedHashMap<>();
                hello.put("type", "hello");
                hello.put("version", VERSION);
                hello.put("name", JpkiSdkAdapter.NAME);
                hello.put("features", JpkiSdkAdapter.FEATURES);
                send(out, hello);
            } else if ("request".equals(type)) {
                Map<String, Object> response = new LinkedHashMap<>();
                response.put("type", "response");
                response.put("id", message.get("id"));
                response.putAll(answer(operations, message));
                send(out, response);
            } else if ("bye".equals(type)) {
                return 0;
            } else {
                JpkiSdkAdapter.log("not a message of the protocol: " + line);
                return 1;
            }
        }
        return 0;
    }

    /** The `result` or `error` part of the response to `request`. */
    static Map<String, Object> answer(SdkOperations operations, Map<String, Object> request) {
        Object op = request.get("op");
        Map<String, Object> answer = new LinkedHashMap<>();
        try {
            if (!(op instanceof String name)) {
                throw ProtocolError.badRequest("a request without an `op`");
            }
            if (operations == null) {
                throw new ProtocolError("failed", "a request before hello");
            }
            Map<String, Object> result = operations.perform(name, new Fields(name, request));
            JpkiSdkAdapter.log(name + ": " + result.get("status")
                    + (result.get("data") instanceof Map<?, ?> data ? " " + data.get("kind") : ""));
            answer.put("result", result);
        } catch (CardRemovedException e) {
            JpkiSdkAdapter.log(op + ": no card");
            answer.put("result", Map.of("outcome", "no_card"));
        } catch (ProtocolError e) {
            answer.put("error", error(e.code, e.getMessage()));
        } catch (IOException | SdkException | RuntimeException e) {
            // The operation failed as a program (the transport, card data that does not parse,
            // a bug): the step fails with this message, the session goes on.
            JpkiSdkAdapter.log(op + " failed: " + e);
            answer.put("error", error("failed", op + ": " + e));
        }
        return answer;
    }

    private static Map<String, Object> error(String code, String message) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", code);
        error.put("message", String.valueOf(message));
        return error;
    }

    /** The bridge URL of each card in hello's `environment.cards`, by index. */
    private static Map<Long, String> bridges(Object environment) {
        Map<Long, String> bridges = new HashMap<>();
        Map<String, Object> env = Json.object(environment);
        if (env != null && env.get("cards") instanceof List<?> cards) {
            for (Object each : cards) {
                Map<String, Object> card = Json.object(each);
                if (card != null && card.get("index") instanceof Long index
                        && card.get("bridge") instanceof String url) {
                    bridges.put(index, url);
                }
            }
        }
        return bridges;
    }

    private static void send(PrintStream out, Map<String, Object> message) {
        out.print(Json.write(message));
        out.print('\n');
        out.flush();
    }
}

// ---------------------------------------------------------------------------------------------
// Small helpers: hex and JSON.
// ---------------------------------------------------------------------------------------------

final class Hex {
    private static final char[] DIGITS = "0123456789abcdef".toCharArray();

    private Hex() {}

    /** Whether `text` is an even number of ASCII hex digits (either case). */
    static boolean isHex(String text) {
        if (text.length() % 2 != 0) {
            return false;
        }
        for (int i = 0; i < text.length(); i++) {
            if (value(text.charAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    static byte[] decode(String text) {
        if (!isHex(text)) {
            throw new IllegalArgumentException("not hex: " + text);
        }
        byte[] bytes = new byte[text.length() / 2];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (value(text.charAt(2 * i)) << 4 | value(text.charAt(2 * i + 1)));
        }
        return bytes;
    }

    static String encode(byte[] bytes) {
        StringBuilder text = new StringBuilder(bytes.length * 2);
        for (byte b : bytes) {
            text.append(DIGITS[(b >> 4) & 0x0F]).append(DIGITS[b & 0x0F]);
        }
        return text.toString();
    }

    // Character.digit would take other scripts' digits too; the protocol's hex is ASCII.
    private static int value(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }
}

/**
 * JSON (RFC 8259) as the protocol needs it. Objects read as {@code Map<String, Object>} (in
 * order), arrays as {@code List<Object>}, strings, integers as {@code Long} (BigInteger when
 * larger), other numbers as {@code Double}, booleans, and null. Writes the same types (and
 * Integer).
 */
final class Json {
    private final String text;
    private int at;

    private Json(String text) {
        this.text = text;
    }

    /** The value `text` holds, alone; IllegalArgumentException says where it is not JSON. */
    static Object parse(String text) {
        Json reader = new Json(text);
        Object value = reader.value();
        reader.space();
        if (reader.at != text.length()) {
            throw reader.error("text after the value");
        }
        return value;
    }

    /** `value` as an object, or null when it is not one. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> object(Object value) {
        return value instanceof Map<?, ?> map ? (Map<String, Object>) map : null;
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String string) {
            quote(out, string);
        } else if (value instanceof Boolean || value instanceof Long || value instanceof Integer
                || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Double number) {
            if (number.isNaN() || number.isInfinite()) {
                throw new IllegalArgumentException("JSON has no " + number);
            }
            out.append(number);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                quote(out, String.valueOf(entry.getKey()));
                out.append(':');
                write(out, entry.getValue());
            }
            out.append('}');
        } else if (value instanceof List<?> list) {
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    out.append(',');
                }
                write(out, list.get(i));
            }
            out.append(']');
        } else {
            throw new IllegalArgumentException("no JSON for a " + value.getClass().getName());
        }
    }

    private static void quote(StringBuilder out, String string) {
        out.append('"');
        for (int i = 0; i < string.length(); i++) {
            char c = string.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private Object value() {
        space();
        if (at >= text.length()) {
            throw error("a value was expected");
        }
        char c = text.charAt(at);
        switch (c) {
            case '{':
                return readObject();
            case '[':
                return readArray();
            case '"':
                return readString();
            case 't':
                return literal("true", Boolean.TRUE);
            case 'f':
                return literal("false", Boolean.FALSE);
            case 'n':
                return literal("null", null);
            default:
                if (c == '-' || (c >= '0' && c <= '9')) {
                    return readNumber();
                }
                throw error("unexpected character '" + c + "'");
        }
    }

    private Map<String, Object> readObject() {
        Map<String, Object> object = new LinkedHashMap<>();
        at++; // {
        space();
        if (peek('}')) {
            at++;
            return object;
        }
        while (true) {
            space();
            if (!peek('"')) {
                throw error("a member name was expected");
            }
            String name = readString();
            space();
            expect(':');
            object.put(name, value());
            space();
            if (peek(',')) {
                at++;
            } else if (peek('}')) {
                at++;
                return object;
            } else {
                throw error("',' or '}' was expected");
            }
        }
    }

    private List<Object> readArray() {
        List<Object> array = new ArrayList<>();
        at++; // [
        space();
        if (peek(']')) {
            at++;
            return array;
        }
        while (true) {
            array.add(value());
            space();
            if (peek(',')) {
                at++;
            } else if (peek(']')) {
                at++;
                return array;
            } else {
                throw error("',' or ']' was expected");
            }
        }
    }

    private String readString() {
        at++; // "
        StringBuilder out = new StringBuilder();
        while (true) {
            if (at >= text.length()) {
                throw error("the string does not end");
            }
            char c = text.charAt(at++);
            if (c == '"') {
                return out.toString();
            }
            if (c < 0x20) {
                throw error("a control character in a string");
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            if (at >= text.length()) {
                throw error("the escape does not end");
            }
            char escape = text.charAt(at++);
            switch (escape) {
                case '"', '\\', '/' -> out.append(escape);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    // A UTF-16 code unit; a pair of them (a surrogate pair) becomes one
                    // character in the Java string just as it is.
                    if (at + 4 > text.length() || !Hex.isHex(text.substring(at, at + 4))) {
                        throw error("\\u needs four hex digits");
                    }
                    out.append((char) Integer.parseInt(text.substring(at, at + 4), 16));
                    at += 4;
                }
                default -> throw error("unknown escape \\" + escape);
            }
        }
    }

    private Object readNumber() {
        int start = at;
        if (peek('-')) {
            at++;
        }
        if (peek('0')) {
            at++;
        } else if (!digits()) {
            throw error("a digit was expected");
        }
        boolean integer = true;
        if (peek('.')) {
            at++;
            integer = false;
            if (!digits()) {
                throw error("a digit was expected after '.'");
            }
        }
        if (peek('e') || peek('E')) {
            at++;
            integer = false;
            if (peek('+') || peek('-')) {
                at++;
            }
            if (!digits()) {
                throw error("a digit was expected in the exponent");
            }
        }
        String number = text.substring(start, at);
        if (integer) {
            try {
                return Long.parseLong(number);
            } catch (NumberFormatException tooLarge) {
                return new BigInteger(number);
            }
        }
        return Double.parseDouble(number);
    }

    private boolean digits() {
        int start = at;
        while (at < text.length() && text.charAt(at) >= '0' && text.charAt(at) <= '9') {
            at++;
        }
        return at > start;
    }

    private Object literal(String word, Object value) {
        if (!text.startsWith(word, at)) {
            throw error("unexpected word");
        }
        at += word.length();
        return value;
    }

    private void space() {
        while (at < text.length() && " \t\n\r".indexOf(text.charAt(at)) >= 0) {
            at++;
        }
    }

    private boolean peek(char c) {
        return at < text.length() && text.charAt(at) == c;
    }

    private void expect(char c) {
        if (!peek(c)) {
            throw error("'" + c + "' was expected");
        }
        at++;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at column " + (at + 1));
    }
}
