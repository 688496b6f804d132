//! Replays the APDU transcripts in `tests/transcripts/*.apdu` against the test card.
//!
//! Format, one item per line:
//! - `# intent` — what the next exchange is for (shown when it fails);
//! - `> 00 A4 04 0C 0A D392F000260100000001` — a command, spaced hex (spaces are free);
//! - `< 90 00` — the expected response. Besides hex it may hold:
//!   `[N bytes]` any N bytes; `[file AP FID OFFSET LEN]` bytes of the test image's file (AP =
//!   JPKI, TEXT, VISUAL, JUKI, COMMON; FID, OFFSET, LEN in hex); `[sig KEY]` a 256-byte PKCS#1
//!   v1.5 signature over the command data, verified with the test key's public key;
//!   `[ia KEY]` the same over DigestInfo(SHA-256(command data)); `[pss KEY]` RSASSA-PSS-SHA-256
//!   with the command data as the hash. KEY = jpki-auth, jpki-sign, text, visual, common.
//! - `! reset`, `! power-off`, `! power-on` — reader events.

use rsa::pkcs8::DecodePrivateKey;
use rsa::{pss, Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use sim_card::key::SHA256_DIGEST_INFO_PREFIX;
use sim_card::testing::{self, TestKey};
use sim_card::{Aid, Card, FileId, FileImage};

macro_rules! transcript {
    ($name:ident) => {
        #[test]
        fn $name() {
            let file = concat!(stringify!($name), ".apdu");
            let text = include_str!(concat!("transcripts/", stringify!($name), ".apdu"));
            replay(file, text);
        }
    };
}

transcript!(opensc);
transcript!(myna);
transcript!(jpki_cli);
transcript!(other_clients);
transcript!(status_words);
transcript!(mf_and_probes);

fn replay(file: &str, text: &str) {
    let mut card = testing::card();
    let mut intent = String::new();
    let mut pending: Option<(usize, Vec<u8>)> = None;
    let mut exchanges = 0;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        let at = || format!("{file}:{line_no}");
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            intent = comment.trim().to_owned();
        } else if let Some(command) = line.strip_prefix('>') {
            assert!(
                pending.is_none(),
                "{}: command without expected response",
                at()
            );
            pending = Some((
                line_no,
                parse_hex(command).unwrap_or_else(|e| panic!("{}: {e}", at())),
            ));
        } else if let Some(expected) = line.strip_prefix('<') {
            let (command_line, command) = pending
                .take()
                .unwrap_or_else(|| panic!("{}: response without command", at()));
            let expected = parse_expected(expected).unwrap_or_else(|e| panic!("{}: {e}", at()));
            let response = card.transmit(&command);
            if let Err(why) = check(&expected, &command, &response) {
                panic!(
                    "{file}:{command_line}: {intent}\n  > {}\n  < {}\n  {why}",
                    spaced(&command),
                    spaced(&response)
                );
            }
            exchanges += 1;
        } else if let Some(event) = line.strip_prefix('!') {
            match event.trim() {
                "reset" => card.reset(),
                "power-off" => card.power_off(),
                "power-on" => card.power_on(),
                other => panic!("{}: unknown event {other:?}", at()),
            }
        } else {
            panic!("{}: unrecognised line {raw:?}", at());
        }
    }
    assert!(
        pending.is_none(),
        "{file}: last command has no expected response"
    );
    assert!(exchanges > 0, "{file}: no exchanges");
    let _: &Card = &card;
}

#[derive(Debug)]
enum Expect {
    Bytes(Vec<u8>),
    Any(usize),
    Signature { key: TestKey, kind: SignatureKind },
}

#[derive(Debug, Clone, Copy)]
enum SignatureKind {
    Pkcs1OverData,
    Pkcs1OverSha256DigestInfo,
    PssOverHash,
}

fn parse_expected(text: &str) -> Result<Vec<Expect>, String> {
    let mut out = Vec::new();
    let mut hex = String::new();
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        hex.push_str(&rest[..open]);
        let close = rest[open..]
            .find(']')
            .ok_or_else(|| format!("unclosed `[` in {text:?}"))?
            + open;
        if !hex.trim().is_empty() {
            out.push(Expect::Bytes(parse_hex(&hex)?));
        }
        hex.clear();
        out.push(parse_token(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    hex.push_str(rest);
    if !hex.trim().is_empty() {
        out.push(Expect::Bytes(parse_hex(&hex)?));
    }
    Ok(out)
}

fn parse_token(token: &str) -> Result<Expect, String> {
    let words: Vec<&str> = token.split_whitespace().collect();
    let number =
        |w: &str| usize::from_str_radix(w, 16).map_err(|_| format!("bad hex number {w:?}"));
    match words.as_slice() {
        [n, "bytes"] => n
            .parse()
            .map(Expect::Any)
            .map_err(|_| format!("bad count {n:?}")),
        ["file", ap, fid, offset, len] => {
            let aid = match *ap {
                "JPKI" => Aid::JPKI,
                "TEXT" => Aid::TEXT,
                "VISUAL" => Aid::VISUAL,
                "JUKI" => Aid::JUKI,
                "COMMON" => Aid::COMMON,
                other => return Err(format!("unknown AP {other:?}")),
            };
            let image = testing::card_image();
            let applet = image.applet(aid).ok_or("AP not in the image")?;
            let fid = FileId(number(fid)? as u16);
            let Some(FileImage::Binary { data, .. }) = applet.files.get(&fid) else {
                return Err(format!("{ap} {fid} is not a binary file"));
            };
            let (offset, len) = (number(offset)?, number(len)?);
            data.get(offset..offset + len)
                .map(|bytes| Expect::Bytes(bytes.to_vec()))
                .ok_or_else(|| format!("{ap} {fid} has no bytes {offset:X}+{len:X}"))
        }
        [kind, key] => {
            let kind = match *kind {
                "sig" => SignatureKind::Pkcs1OverData,
                "ia" => SignatureKind::Pkcs1OverSha256DigestInfo,
                "pss" => SignatureKind::PssOverHash,
                other => return Err(format!("unknown token {other:?}")),
            };
            let key = match *key {
                "jpki-auth" => TestKey::JpkiAuth,
                "jpki-sign" => TestKey::JpkiSign,
                "text" => TestKey::Text,
                "visual" => TestKey::Visual,
                "common" => TestKey::Common,
                other => return Err(format!("unknown key {other:?}")),
            };
            Ok(Expect::Signature { key, kind })
        }
        _ => Err(format!("unknown token [{token}]")),
    }
}

fn check(expected: &[Expect], command: &[u8], response: &[u8]) -> Result<(), String> {
    let mut rest = response;
    for item in expected {
        let take = |rest: &mut &[u8], n: usize| -> Result<Vec<u8>, String> {
            if rest.len() < n {
                return Err(format!(
                    "response too short: wanted {n} more bytes for {item:?}"
                ));
            }
            let (head, tail) = rest.split_at(n);
            *rest = tail;
            Ok(head.to_vec())
        };
        match item {
            Expect::Bytes(bytes) => {
                let got = take(&mut rest, bytes.len())?;
                if &got != bytes {
                    return Err(format!(
                        "expected {}\n  got      {}",
                        spaced(bytes),
                        spaced(&got)
                    ));
                }
            }
            Expect::Any(n) => {
                take(&mut rest, *n)?;
            }
            Expect::Signature { key, kind } => {
                let signature = take(&mut rest, 256)?;
                verify_signature(*key, *kind, command_data(command), &signature)?;
            }
        }
    }
    if rest.is_empty() {
        Ok(())
    } else {
        Err(format!("{} unexpected trailing bytes", rest.len()))
    }
}

fn verify_signature(
    key: TestKey,
    kind: SignatureKind,
    data: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    let public: RsaPublicKey = RsaPrivateKey::from_pkcs8_der(testing::key_pkcs8(key))
        .map_err(|e| e.to_string())?
        .to_public_key();
    let result = match kind {
        SignatureKind::Pkcs1OverData => {
            public.verify(Pkcs1v15Sign::new_unprefixed(), data, signature)
        }
        SignatureKind::Pkcs1OverSha256DigestInfo => {
            let mut t = SHA256_DIGEST_INFO_PREFIX.to_vec();
            t.extend_from_slice(&Sha256::digest(data));
            public.verify(Pkcs1v15Sign::new_unprefixed(), &t, signature)
        }
        SignatureKind::PssOverHash => public.verify(pss::Pss::new::<Sha256>(), data, signature),
    };
    result.map_err(|e| format!("signature does not verify with {key:?}: {e}"))
}

/// The data field of a short-Lc command (what the transcripts sign).
fn command_data(command: &[u8]) -> &[u8] {
    match command {
        [_, _, _, _, lc, rest @ ..] if *lc != 0 && rest.len() >= *lc as usize => {
            &rest[..*lc as usize]
        }
        _ => &[],
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&compact).map_err(|e| format!("bad hex {text:?}: {e}"))
}

fn spaced(bytes: &[u8]) -> String {
    let text: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
    if text.len() > 40 {
        format!("{} … ({} bytes)", text[..40].join(" "), text.len())
    } else {
        text.join(" ")
    }
}
