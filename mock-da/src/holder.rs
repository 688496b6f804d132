//! The holder's side of a login, played headlessly: what デジタル認証アプリ does with the card on
//! the user's phone, done through the card's own APDU interface (docs/card-protocol.md §3–§4).
//!
//! SELECT the JPKI AP, READ BINARY the user-authentication certificate, VERIFY the
//! authentication PIN (a wrong one costs a try on the card, as on a phone), COMPUTE DIGITAL
//! SIGNATURE over a fresh challenge with the authentication key; then the provider's side: the
//! signature against the certificate's key, the certificate against the authentication CA, and
//! its status in the world's registry by the world clock.

use aws_lc_rs::signature::{UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
use der::{Decode, Encode};
use mock_ca::{Hierarchy, Serial};
use mock_jlis::registry::CertStatus;
use mock_jlis::world::{ProvisionedCard, World};
use sha2::{Digest, Sha256};
use sim_card::apdu::{Apdu, Le};
use sim_card::image::{Aid, FileId};
use sim_card::layout::{digest_info, jpki};
use sim_card::transport::VirtualCard;
use sim_card::{CardId, StatusWord};
use time::OffsetDateTime;
use x509_cert::Certificate;

/// Why the holder could not be authenticated: what the user would see in the app. Each maps
/// to an OAuth error on the redirect (docs/digital-agency.md, "Errors").
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The armed login names a card the world does not have (any more).
    #[error("no card {0} is provisioned")]
    UnknownCard(CardId),
    /// VERIFY refused the PIN; the card counted the try.
    #[error("wrong authentication PIN: {left} tries left")]
    WrongPin {
        /// Tries left on the card.
        left: u8,
    },
    /// The authentication PIN is blocked (no tries left).
    #[error("the authentication PIN is blocked: reset it at the municipality")]
    PinBlocked,
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
    #[error("the authentication certificate on the card does not parse")]
    Certificate(#[source] der::Error),
    /// The card's signature over the challenge does not verify with its certificate's key.
    #[error("the card's signature does not verify with its authentication certificate")]
    BadSignature,
    /// The certificate is not signed by the world's authentication CA.
    #[error("the authentication certificate is not signed by the authentication CA")]
    UntrustedCertificate,
    /// The certificate is unknown to the world's registry.
    #[error("the authentication certificate {0} was not issued by this world")]
    UnknownCertificate(String),
    /// The certificate is revoked.
    #[error("the authentication certificate {serial} is revoked ({reason})")]
    Revoked {
        /// Its serial, upper-case hex.
        serial: String,
        /// The revocation reason, as the registry names it.
        reason: String,
    },
    /// The certificate is past notAfter, or not yet valid.
    #[error("the authentication certificate {serial} is {status}")]
    NotValid {
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

/// Runs the card side and the provider's checks for `card` with `pin`. Blocking: the card
/// signs, and a VERIFY persists the PIN counter.
pub fn authenticate(world: &World, card: &CardId, pin: &str) -> Result<Authenticated, LoginError> {
    let provisioned = world
        .card(card)
        .ok_or_else(|| LoginError::UnknownCard(card.clone()))?;
    let challenge = fresh_challenge();
    let (certificate_der, signature) = on_the_phone(&provisioned, pin, &challenge)?;

    let certificate = Certificate::from_der(&certificate_der).map_err(LoginError::Certificate)?;
    let key = certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
        .verify(&challenge, &signature)
        .map_err(|_| LoginError::BadSignature)?;
    issued_by_auth_ca(world, &certificate)?;

    let serial = Serial::from_bytes(certificate.tbs_certificate.serial_number.as_bytes())
        .map_err(|_| LoginError::UnknownCertificate("(unreadable serial)".into()))?;
    let now = world.now();
    let record = world
        .certificate(Hierarchy::Auth, &serial)
        .ok_or_else(|| LoginError::UnknownCertificate(serial.to_string()))?;
    match record.status_at(now) {
        CertStatus::Good => {}
        CertStatus::Revoked { reason, .. } => {
            return Err(LoginError::Revoked {
                serial: serial.to_string(),
                reason: serde_json::to_value(reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_else(|| format!("{reason:?}")),
            })
        }
        status @ (CertStatus::Expired | CertStatus::NotYetIssued) => {
            return Err(LoginError::NotValid {
                serial: serial.to_string(),
                status: status.name(),
            })
        }
    }
    Ok(Authenticated {
        card: record.card.clone(),
        user_id: mock_jlis::consent::user_id(&record.card),
        auth_serial: serial,
        at: now,
    })
}

/// The card's part: held to the phone for the whole exchange — no other reader's command comes
/// in between — and powered on at the start and off at the end, as a card taken from a reader
/// to the phone and back is (nothing verified before, nothing left verified after). Answers the
/// certificate read and the signature over `challenge`.
fn on_the_phone(
    card: &ProvisionedCard,
    pin: &str,
    challenge: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), LoginError> {
    let shared = card.shared();
    let mut held = shared.lock().unwrap_or_else(|e| e.into_inner());
    held.power_on();
    let mut session = Session { card: &mut *held };
    let outcome = session.authenticate(pin, challenge);
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

/// Whether the authentication CA's key verifies the certificate's signature.
fn issued_by_auth_ca(world: &World, certificate: &Certificate) -> Result<(), LoginError> {
    let ca = Certificate::from_der(world.ca(Hierarchy::Auth).certificate_der())
        .map_err(LoginError::Certificate)?;
    let ca_key = ca
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let tbs = certificate
        .tbs_certificate
        .to_der()
        .map_err(LoginError::Certificate)?;
    let signature = certificate.signature.raw_bytes();
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, ca_key)
        .verify(&tbs, signature)
        .map_err(|_| LoginError::UntrustedCertificate)
}

/// APDU exchanges with one card, held.
struct Session<'a> {
    card: &'a mut dyn VirtualCard,
}

impl Session<'_> {
    /// The app's commands: the certificate, the PIN, the signature over `challenge`.
    fn authenticate(
        &mut self,
        pin: &str,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), LoginError> {
        self.select_ap(Aid::JPKI)?;
        let certificate = self.read_file(jpki::AUTH_CERT)?;
        self.select_ef(jpki::AUTH_PIN)?;
        self.verify_pin(pin.as_bytes())?;
        self.select_ef(jpki::AUTH_KEY)?;
        let signature = self.sign(challenge)?;
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
    fn read_file(&mut self, fid: FileId) -> Result<Vec<u8>, LoginError> {
        self.select_ef(fid)?;
        let head = self.read_binary(0, 4)?;
        let total = match head.as_slice() {
            [0x30, 0x82, hi, lo] => 4 + usize::from(u16::from_be_bytes([*hi, *lo])),
            [0x30, 0x81, len, _] => 3 + usize::from(*len),
            _ => {
                return Err(LoginError::Certificate(der::Error::from(
                    der::ErrorKind::Failed,
                )))
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

    fn verify_pin(&mut self, pin: &[u8]) -> Result<(), LoginError> {
        let command = Apdu::new(0x00, 0x20, 0x00, 0x80).with_data(pin);
        let (_, status) = self.exchange(&command, "VERIFY")?;
        if status.is_success() {
            return Ok(());
        }
        if status == StatusWord::REFERENCED_IEF_LOCKED {
            return Err(LoginError::PinBlocked);
        }
        match status.retries() {
            Some(0) => Err(LoginError::PinBlocked),
            Some(left) => Err(LoginError::WrongPin { left }),
            None => Err(LoginError::Card {
                command: "VERIFY",
                status,
            }),
        }
    }

    /// COMPUTE DIGITAL SIGNATURE over the DigestInfo of SHA-256(`challenge`), so the answer is
    /// an RS256-style PKCS#1 v1.5 signature of the challenge itself.
    fn sign(&mut self, challenge: &[u8]) -> Result<Vec<u8>, LoginError> {
        let mut input = digest_info::SHA256.to_vec();
        input.extend_from_slice(&Sha256::digest(challenge));
        let command = Apdu::new(0x80, 0x2A, 0x00, 0x80)
            .with_data(input)
            .with_le(Le::Short(256));
        self.expect_success(&command, "COMPUTE DIGITAL SIGNATURE")
    }
}
