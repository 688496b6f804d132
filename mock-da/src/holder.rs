//! The holder's side of a login or a signature, played headlessly: what デジタル認証アプリ does
//! with the card on the user's phone, done through the card's own APDU interface
//! (docs/card-protocol.md §3–§4).
//!
//! SELECT the JPKI AP, READ BINARY the user-authentication certificate, VERIFY the
//! authentication PIN (a wrong one costs a try on the card, as on a phone), COMPUTE DIGITAL
//! SIGNATURE over a fresh challenge with the authentication key; then the provider's side: the
//! signature against the certificate's key, the certificate against the authentication CA, and
//! its status in the world's registry by the world clock.
//!
//! A signature (the sign API) goes the same way with the signature password, the signature
//! certificate and key, over the DigestInfo of the SP's document, checked against the signature
//! CA.

use aws_lc_rs::digest::{self, Digest};
use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use der::{Decode, Encode};
use mock_ca::{Hierarchy, Serial};
use mock_jlis::registry::{CertRecord, CertStatus};
use mock_jlis::world::{ProvisionedCard, World};
use sha2::{Digest as _, Sha256};
use sim_card::apdu::{Apdu, Le};
use sim_card::image::{Aid, FileId};
use sim_card::layout::{digest_info, jpki};
use sim_card::transport::VirtualCard;
use sim_card::{CardId, StatusWord};
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Which of the card's two credentials a login or a signature used: the authentication key
/// behind the 4-digit PIN, or the signature key behind the signature password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// 利用者証明用: the authentication certificate, key and PIN.
    Authentication,
    /// 署名用: the signature certificate, key and password.
    Signature,
}

impl Which {
    /// The certificate's name: `authentication` or `signature`.
    pub fn name(self) -> &'static str {
        match self {
            Which::Authentication => "authentication",
            Which::Signature => "signature",
        }
    }

    /// What the user types: `authentication PIN` or `signature password`.
    pub fn secret(self) -> &'static str {
        match self {
            Which::Authentication => "authentication PIN",
            Which::Signature => "signature password",
        }
    }

    /// The hierarchy its certificate belongs to.
    pub fn hierarchy(self) -> Hierarchy {
        match self {
            Which::Authentication => Hierarchy::Auth,
            Which::Signature => Hierarchy::Sign,
        }
    }
}

impl std::fmt::Display for Which {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why the holder could not be authenticated or could not sign: what the user would see in the
/// app. Each maps to an OAuth error on the redirect (docs/digital-agency.md, "Errors").
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The armed login names a card the world does not have (any more).
    #[error("no card {0} is provisioned")]
    UnknownCard(CardId),
    /// VERIFY refused the PIN or password; the card counted the try.
    #[error("wrong {}: {left} tries left", .which.secret())]
    WrongPin {
        /// The PIN or the password.
        which: Which,
        /// Tries left on the card.
        left: u8,
    },
    /// The PIN or password is blocked (no tries left).
    #[error("the {} is blocked: reset it at the municipality", .0.secret())]
    PinBlocked(Which),
    /// The card carries no signature certificate (EF 0008 says so: a holder under 15, or
    /// one who declined it).
    #[error("the card has no signature certificate")]
    NoSignatureCertificate,
    /// The card answered a status word the flow cannot go on from.
    #[error("the card answered {status} to {command}")]
    Card {
        /// The command that failed.
        command: &'static str,
        /// Its status word.
        status: StatusWord,
    },
    /// The card gave no answer (it left the field).
    #[error("the card left the reader's field during {0}")]
    NoAnswer(&'static str),
    /// The certificate read from the card does not parse.
    #[error("the {} certificate on the card does not parse", .which.name())]
    Certificate {
        /// Which certificate.
        which: Which,
        /// The DER error.
        #[source]
        source: der::Error,
    },
    /// The card's signature does not verify with its certificate's key.
    #[error("the card's signature does not verify with its {} certificate", .0.name())]
    BadSignature(Which),
    /// The certificate is not signed by the world's CA of its kind.
    #[error("the {0} certificate is not signed by the {0} CA")]
    UntrustedCertificate(Which),
    /// The certificate is unknown to the world's registry.
    #[error("the {} certificate {serial} was not issued by this world", .which.name())]
    UnknownCertificate {
        /// Which certificate.
        which: Which,
        /// Its serial, upper-case hex.
        serial: String,
    },
    /// The certificate is revoked.
    #[error("the {} certificate {serial} is revoked ({reason})", .which.name())]
    Revoked {
        /// Which certificate.
        which: Which,
        /// Its serial, upper-case hex.
        serial: String,
        /// The revocation reason, as the registry names it.
        reason: String,
    },
    /// The certificate is past notAfter, or not yet valid.
    #[error("the {} certificate {serial} is {status}", .which.name())]
    NotValid {
        /// Which certificate.
        which: Which,
        /// Its serial, upper-case hex.
        serial: String,
        /// `expired` or `not_yet_issued`.
        status: &'static str,
    },
}

/// A holder authenticated by the card: who, with which certificate, when.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The card the login used.
    pub card: CardId,
    /// The world's stable id of the person (docs/jlis-api.md, `user_id`).
    pub user_id: String,
    /// The user-authentication certificate's serial.
    pub auth_serial: Serial,
    /// When the card signed, by the world clock.
    pub at: OffsetDateTime,
}

/// A document digest signed by the card's signature key: who signed, with which certificate.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The card that signed.
    pub card: CardId,
    /// The world's stable id of the person.
    pub user_id: String,
    /// The signature certificate as read from the card (DER).
    pub certificate_der: Vec<u8>,
    /// The signature certificate's serial.
    pub serial: Serial,
    /// The PKCS#1 v1.5 signature over the DigestInfo.
    pub signature: Vec<u8>,
    /// When the card signed, by the world clock.
    pub at: OffsetDateTime,
}

/// Runs the card side and the provider's checks for `card` with `pin`. Blocking: the card
/// signs, and a VERIFY persists the PIN counter.
pub fn authenticate(world: &World, card: &CardId, pin: &str) -> Result<Authenticated, LoginError> {
    let provisioned = world
        .card(card)
        .ok_or_else(|| LoginError::UnknownCard(card.clone()))?;
    let challenge = fresh_challenge();
    let (certificate_der, signature) = on_the_phone(&provisioned, |session| {
        session.authenticate(pin, &challenge)
    })?;
    let which = Which::Authentication;
    let certificate = parse(which, &certificate_der)?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key(&certificate))
        .verify(&challenge, &signature)
        .map_err(|_| LoginError::BadSignature(which))?;
    let (serial, record) = checked_in_world(world, which, &certificate)?;
    Ok(Authenticated {
        card: record.card.clone(),
        user_id: mock_jlis::consent::user_id(&record.card),
        auth_serial: serial,
        at: world.now(),
    })
}

/// The signature side of the app for `card`: the signature password typed, the card's
/// signature key over `digest_info` (a DER SHA-256 DigestInfo, signed PKCS#1 v1.5 as given),
/// then the provider's checks of the signature and the signature certificate against the
/// world. Blocking, like [`authenticate`]; a wrong password costs a try of the card's five.
pub fn sign(
    world: &World,
    card: &CardId,
    password: &str,
    digest_info: &[u8; 51],
) -> Result<Signed, LoginError> {
    let provisioned = world
        .card(card)
        .ok_or_else(|| LoginError::UnknownCard(card.clone()))?;
    let (certificate_der, signature) = on_the_phone(&provisioned, |session| {
        session.sign_document(password, digest_info)
    })?;
    let which = Which::Signature;
    let certificate = parse(which, &certificate_der)?;
    let digest = Digest::import_less_safe(&digest_info[19..], &digest::SHA256)
        .map_err(|_| LoginError::BadSignature(which))?;
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key(&certificate))
        .verify_digest(&digest, &signature)
        .map_err(|_| LoginError::BadSignature(which))?;
    let (serial, record) = checked_in_world(world, which, &certificate)?;
    Ok(Signed {
        card: record.card.clone(),
        user_id: mock_jlis::consent::user_id(&record.card),
        certificate_der,
        serial,
        signature,
        at: world.now(),
    })
}

fn parse(which: Which, der: &[u8]) -> Result<Certificate, LoginError> {
    Certificate::from_der(der).map_err(|source| LoginError::Certificate { which, source })
}

fn public_key(certificate: &Certificate) -> &[u8] {
    certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes()
}

/// The certificate against the world: signed by the CA of its kind, known to the registry,
/// good by the world clock (a revocation is seen at once, not on the CRL or OCSP cadence).
fn checked_in_world(
    world: &World,
    which: Which,
    certificate: &Certificate,
) -> Result<(Serial, CertRecord), LoginError> {
    issued_by_ca(world, which, certificate)?;
    let serial =
        Serial::from_bytes(certificate.tbs_certificate.serial_number.as_bytes()).map_err(|_| {
            LoginError::UnknownCertificate {
                which,
                serial: "(unreadable serial)".into(),
            }
        })?;
    let record = world
        .certificate(which.hierarchy(), &serial)
        .ok_or_else(|| LoginError::UnknownCertificate {
            which,
            serial: serial.to_string(),
        })?;
    match record.status_at(world.now()) {
        CertStatus::Good => Ok((serial, record)),
        CertStatus::Revoked { reason, .. } => Err(LoginError::Revoked {
            which,
            serial: serial.to_string(),
            reason: serde_json::to_value(reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{reason:?}")),
        }),
        status @ (CertStatus::Expired | CertStatus::NotYetIssued) => Err(LoginError::NotValid {
            which,
            serial: serial.to_string(),
            status: status.name(),
        }),
    }
}

/// The card's part: held to the phone for the whole exchange — no other reader's command comes
/// in between — and powered on at the start and off at the end, as a card taken from a reader
/// to the phone and back is (nothing verified before, nothing left verified after). Answers the
/// certificate read and the signature `exchange` produced.
fn on_the_phone(
    card: &ProvisionedCard,
    exchange: impl FnOnce(&mut Session<'_>) -> Result<(Vec<u8>, Vec<u8>), LoginError>,
) -> Result<(Vec<u8>, Vec<u8>), LoginError> {
    let shared = card.shared();
    let mut held = shared.lock().unwrap_or_else(|e| e.into_inner());
    held.power_on();
    let mut session = Session { card: &mut *held };
    let outcome = exchange(&mut session);
    held.power_off();
    outcome
}

/// 32 random bytes: what the provider asks the card to sign.
fn fresh_challenge() -> [u8; 32] {
    let mut challenge = [0; 32];
    // The system RNG failing is not an input error; a fixed challenge would still be signed
    // and checked, just not fresh.
    let _ = aws_lc_rs::rand::fill(&mut challenge);
    challenge
}

/// Whether the key of the world's CA of `which` verifies the certificate's signature.
fn issued_by_ca(world: &World, which: Which, certificate: &Certificate) -> Result<(), LoginError> {
    let ca = parse(which, world.ca(which.hierarchy()).certificate_der())?;
    let tbs = certificate
        .tbs_certificate
        .to_der()
        .map_err(|source| LoginError::Certificate { which, source })?;
    let signature = certificate.signature.raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key(&ca))
        .verify(&tbs, signature)
        .map_err(|_| LoginError::UntrustedCertificate(which))
}

/// APDU exchanges with one card, held.
struct Session<'a> {
    card: &'a mut dyn VirtualCard,
}

impl Session<'_> {
    /// The app's commands for a login: the certificate, the PIN, the signature over
    /// `challenge`.
    fn authenticate(
        &mut self,
        pin: &str,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), LoginError> {
        let which = Which::Authentication;
        self.select_ap(Aid::JPKI)?;
        let certificate = self.read_file(which, jpki::AUTH_CERT)?;
        self.select_ef(jpki::AUTH_PIN)?;
        self.verify_pin(which, pin.as_bytes())?;
        self.select_ef(jpki::AUTH_KEY)?;
        let mut input = digest_info::SHA256.to_vec();
        input.extend_from_slice(&Sha256::digest(challenge));
        let signature = self.compute_signature(&input)?;
        Ok((certificate, signature))
    }

    /// The app's commands for a signature: whether the card has a signature certificate (EF
    /// 0008, free), the password, then the certificate (readable only after it) and the
    /// signature over `digest_info`.
    fn sign_document(
        &mut self,
        password: &str,
        digest_info: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), LoginError> {
        let which = Which::Signature;
        self.select_ap(Aid::JPKI)?;
        self.select_ef(jpki::CERTIFICATE_AVAILABILITY)?;
        let availability = self.read_binary(0, 3)?;
        if availability.first() != Some(&0x8F) {
            return Err(LoginError::NoSignatureCertificate);
        }
        self.select_ef(jpki::SIGN_PASSWORD)?;
        self.verify_pin(which, password.as_bytes())?;
        let certificate = self.read_file(which, jpki::SIGN_CERT)?;
        self.select_ef(jpki::SIGN_KEY)?;
        let signature = self.compute_signature(digest_info)?;
        Ok((certificate, signature))
    }

    /// Sends `command`; answers the data and the status word.
    fn exchange(
        &mut self,
        command: &Apdu,
        name: &'static str,
    ) -> Result<(Vec<u8>, StatusWord), LoginError> {
        let mut response = self.card.transmit(&command.encode());
        let status = StatusWord::from_response(&response).ok_or(LoginError::NoAnswer(name))?;
        response.truncate(response.len() - 2);
        Ok((response, status))
    }

    fn expect_success(
        &mut self,
        command: &Apdu,
        name: &'static str,
    ) -> Result<Vec<u8>, LoginError> {
        let (data, status) = self.exchange(command, name)?;
        if !status.is_success() {
            return Err(LoginError::Card {
                command: name,
                status,
            });
        }
        Ok(data)
    }

    fn select_ap(&mut self, aid: &[u8]) -> Result<(), LoginError> {
        let command = Apdu::new(0x00, 0xA4, 0x04, 0x0C).with_data(aid);
        self.expect_success(&command, "SELECT (AP)").map(drop)
    }

    fn select_ef(&mut self, fid: FileId) -> Result<(), LoginError> {
        let command = Apdu::new(0x00, 0xA4, 0x02, 0x0C).with_data(fid.0.to_be_bytes());
        self.expect_success(&command, "SELECT (EF)").map(drop)
    }

    fn read_binary(&mut self, offset: usize, len: usize) -> Result<Vec<u8>, LoginError> {
        let offset = u16::try_from(offset).map_err(|_| LoginError::Card {
            command: "READ BINARY",
            status: StatusWord::OFFSET_OUTSIDE_EF,
        })?;
        let [hi, lo] = offset.to_be_bytes();
        let command = Apdu::new(0x00, 0xB0, hi & 0x7F, lo).with_le(Le::Short(len as u16));
        let (data, status) = self.exchange(&command, "READ BINARY")?;
        if status.is_success() {
            return Ok(data);
        }
        // `6C xx`: wrong Le, `xx` the length available; a client sends the command again with
        // that Le (ISO/IEC 7816-4 §5.6), as the app does.
        if status.sw1() == 0x6C {
            let le = if status.sw2() == 0 {
                256
            } else {
                u16::from(status.sw2())
            };
            return self.expect_success(&command.with_le(Le::Short(le)), "READ BINARY");
        }
        Err(LoginError::Card {
            command: "READ BINARY",
            status,
        })
    }

    /// A DER file: its header says how long it is, then 256-byte reads.
    fn read_file(&mut self, which: Which, fid: FileId) -> Result<Vec<u8>, LoginError> {
        self.select_ef(fid)?;
        let head = self.read_binary(0, 4)?;
        let total = match head.as_slice() {
            [0x30, 0x82, hi, lo] => 4 + usize::from(u16::from_be_bytes([*hi, *lo])),
            [0x30, 0x81, len, _] => 3 + usize::from(*len),
            _ => {
                return Err(LoginError::Certificate {
                    which,
                    source: der::Error::from(der::ErrorKind::Failed),
                })
            }
        };
        let mut file = Vec::with_capacity(total);
        while file.len() < total {
            let chunk = (total - file.len()).min(256);
            let data = self.read_binary(file.len(), chunk)?;
            if data.is_empty() {
                break;
            }
            file.extend_from_slice(&data);
        }
        file.truncate(total);
        Ok(file)
    }

    fn verify_pin(&mut self, which: Which, pin: &[u8]) -> Result<(), LoginError> {
        let command = Apdu::new(0x00, 0x20, 0x00, 0x80).with_data(pin);
        let (_, status) = self.exchange(&command, "VERIFY")?;
        if status.is_success() {
            return Ok(());
        }
        if status == StatusWord::REFERENCED_IEF_LOCKED {
            return Err(LoginError::PinBlocked(which));
        }
        match status.retries() {
            Some(0) => Err(LoginError::PinBlocked(which)),
            Some(left) => Err(LoginError::WrongPin { which, left }),
            None => Err(LoginError::Card {
                command: "VERIFY",
                status,
            }),
        }
    }

    /// COMPUTE DIGITAL SIGNATURE, P1 `00`: PKCS#1 v1.5 over `input` as given (a DigestInfo),
    /// with the key EF selected.
    fn compute_signature(&mut self, input: &[u8]) -> Result<Vec<u8>, LoginError> {
        let command = Apdu::new(0x80, 0x2A, 0x00, 0x80)
            .with_data(input.to_vec())
            .with_le(Le::Short(256));
        self.expect_success(&command, "COMPUTE DIGITAL SIGNATURE")
    }
}
