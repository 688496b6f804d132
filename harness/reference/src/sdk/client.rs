//! The reference SDK's operations, one per `sdk` step of a scenario.

use sim_card::StatusWord;

use super::apdu;
use super::digest::digest_info;
use super::mutant::SdkMutant;
use super::parse::{self, ParseError};
use crate::channel::{CardChannel, ChannelError};
use sim_card::image::FileId;
use sim_card::layout::{jpki, text, visual};
use vocab::{CertificateSlot, HashAlgorithm, KeyKind, PinKind, SdkData, SdkOutcome};

/// Why an operation produced no outcome.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The transport failed; [`ChannelError::NoCard`] when the card is out of the reader.
    #[error(transparent)]
    Channel(#[from] ChannelError),
    /// The card answered `90 00` with data that does not parse.
    #[error("the card's {what} does not parse")]
    Malformed {
        /// Which data it was: `certificate`, `basic 4 info`, `my number`, ...
        what: &'static str,
        /// What is wrong with it.
        #[source]
        source: ParseError,
    },
}

/// The bundled SDK, over any [`CardChannel`]. PIN values are the bytes typed (ASCII).
pub struct ReferenceSdk<C> {
    channel: C,
    /// The deliberate mistake this SDK makes, if any.
    mutant: Option<SdkMutant>,
}

/// A response split into its data and status word.
struct Response {
    data: Vec<u8>,
    status: StatusWord,
}

impl<C: CardChannel> ReferenceSdk<C> {
    /// The SDK over `channel`; it sends nothing until an operation is called.
    pub fn new(channel: C) -> ReferenceSdk<C> {
        ReferenceSdk::with_mutant(channel, None)
    }

    /// The SDK making `mutant`'s mistake (`None`: the correct SDK).
    pub fn with_mutant(channel: C, mutant: Option<SdkMutant>) -> ReferenceSdk<C> {
        ReferenceSdk { channel, mutant }
    }

    /// This SDK, making `mutant`'s mistake from now on (`None`: none).
    pub fn with_mistake(mut self, mutant: Option<SdkMutant>) -> ReferenceSdk<C> {
        self.mutant = mutant;
        self
    }

    fn is(&self, mutant: SdkMutant) -> bool {
        self.mutant == Some(mutant)
    }

    /// Reads a JPKI certificate, verifying the signature password first when given.
    pub fn read_certificate(
        &mut self,
        slot: CertificateSlot,
        password: Option<&[u8]>,
    ) -> Result<SdkOutcome, SdkError> {
        let ef = match slot {
            CertificateSlot::Sign => jpki::SIGN_CERT,
            CertificateSlot::Auth => jpki::AUTH_CERT,
            CertificateSlot::SignCa => jpki::SIGN_CA_CERT,
            CertificateSlot::AuthCa => jpki::AUTH_CA_CERT,
        };
        let holder = match slot {
            CertificateSlot::Sign => Some(KeyKind::Sign),
            CertificateSlot::Auth => Some(KeyKind::Auth),
            CertificateSlot::SignCa | CertificateSlot::AuthCa => None,
        };
        let outcome = match self.open(apdu::JPKI_AP, password.map(|p| (jpki::SIGN_PASSWORD, p)))? {
            Some(refused) => refused,
            None => match self.read_file(ef, "certificate")? {
                Ok(der) => SdkOutcome::with_data(SdkData::Certificate(der)),
                Err(status) => SdkOutcome::status(status),
            },
        };
        match holder {
            Some(key) => self.explain_refusal(key, outcome),
            None => Ok(outcome),
        }
    }

    /// Asks how many tries `pin` has left with an empty VERIFY, which uses none.
    pub fn pin_status(&mut self, pin: PinKind) -> Result<SdkOutcome, SdkError> {
        let (ap, ef) = pin_location(pin);
        if let Some(refused) = self.open(ap, None)? {
            return Ok(refused);
        }
        let selected = self.exchange(&apdu::select_ef(ef))?;
        if !selected.status.is_success() {
            return Ok(SdkOutcome::status(selected.status));
        }
        let query = if self.is(SdkMutant::PinStatusByVerify) {
            apdu::verify(b"0000")
        } else {
            apdu::verify_status()
        };
        let status = self.exchange(&query)?.status;
        Ok(SdkOutcome {
            status,
            data: status.retries().map(SdkData::RetriesLeft),
        })
    }

    /// Verifies `value` as `pin`; the outcome carries the card's status word, `63 Cx` with the
    /// tries left when the value is wrong.
    pub fn verify_pin(&mut self, pin: PinKind, value: &[u8]) -> Result<SdkOutcome, SdkError> {
        let (ap, ef) = pin_location(pin);
        Ok(self
            .open(ap, Some((ef, value)))?
            .unwrap_or(SdkOutcome::status(StatusWord::SUCCESS)))
    }

    /// VERIFY with `old`, then CHANGE REFERENCE DATA to `new` (the card requires both in one
    /// selection of the AP).
    pub fn change_pin(
        &mut self,
        pin: PinKind,
        old: &[u8],
        new: &[u8],
    ) -> Result<SdkOutcome, SdkError> {
        let (ap, ef) = pin_location(pin);
        if self.is(SdkMutant::ChangeWithoutVerify) {
            if let Some(refused) = self.open(ap, None)? {
                return Ok(refused);
            }
            let selected = self.exchange(&apdu::select_ef(ef))?;
            if !selected.status.is_success() {
                return Ok(SdkOutcome::status(selected.status));
            }
        } else if let Some(refused) = self.open(ap, Some((ef, old)))? {
            return Ok(refused);
        }
        let status = self.exchange(&apdu::change_reference_data(new))?.status;
        Ok(SdkOutcome::status(status))
    }

    /// Signs the `hash` DigestInfo of `data` with a JPKI key, verifying its PIN first when
    /// given (else relying on an earlier VERIFY while the AP stayed selected).
    pub fn sign(
        &mut self,
        key: KeyKind,
        data: &[u8],
        hash: HashAlgorithm,
        pin: Option<&[u8]>,
    ) -> Result<SdkOutcome, SdkError> {
        let outcome = self.sign_once(key, data, hash, pin)?;
        self.explain_refusal(key, outcome)
    }

    /// [`ReferenceSdk::sign`] but for the look at EF `0008` after a refusal.
    fn sign_once(
        &mut self,
        key: KeyKind,
        data: &[u8],
        hash: HashAlgorithm,
        pin: Option<&[u8]>,
    ) -> Result<SdkOutcome, SdkError> {
        let (pin_ef, key_ef) = match key {
            KeyKind::Auth => (jpki::AUTH_PIN, jpki::AUTH_KEY),
            KeyKind::Sign => (jpki::SIGN_PASSWORD, jpki::SIGN_KEY),
        };
        let pin = pin.filter(|_| !self.is(SdkMutant::SignWithoutPin));
        if let Some(refused) = self.open(apdu::JPKI_AP, pin.map(|p| (pin_ef, p)))? {
            return Ok(refused);
        }
        let selected = self.exchange(&apdu::select_ef(key_ef))?;
        if !selected.status.is_success() {
            return Ok(SdkOutcome::status(selected.status));
        }
        let input = match self.mutant {
            Some(SdkMutant::AlwaysSha256) => digest_info(HashAlgorithm::Sha256, data),
            // The DigestInfo less its algorithm prefix: the bare hash.
            Some(SdkMutant::RawHash) => {
                let info = digest_info(hash, data);
                info[info.len() - hash_len(hash)..].to_vec()
            }
            _ => digest_info(hash, data),
        };
        let signed = self.exchange(&apdu::compute_digital_signature(&input))?;
        Ok(
            if signed.status.is_success() || self.is(SdkMutant::IgnoresSignStatus) {
                SdkOutcome::with_data(SdkData::Signature(signed.data))
            } else {
                SdkOutcome::status(signed.status)
            },
        )
    }

    /// Reads the basic 4 info from the text AP after `pin` (`text` or `pin_b`).
    pub fn read_basic_info(&mut self, pin: PinKind, value: &[u8]) -> Result<SdkOutcome, SdkError> {
        let ef = text_pin(pin);
        if let Some(refused) = self.open(apdu::TEXT_AP, Some((ef, value)))? {
            return Ok(refused);
        }
        match self.read_file(text::BASIC_INFO, "basic 4 info")? {
            Ok(file) => {
                let mut info = parse::basic_info(&file).map_err(|source| SdkError::Malformed {
                    what: "basic 4 info",
                    source,
                })?;
                if self.is(SdkMutant::SwapsNameAndAddress) {
                    std::mem::swap(&mut info.name, &mut info.address);
                }
                Ok(SdkOutcome::with_data(SdkData::BasicInfo(info)))
            }
            Err(status) => Ok(SdkOutcome::status(status)),
        }
    }

    /// Reads the my number from the text AP after `pin` (`text` or `pin_a`).
    pub fn read_my_number(&mut self, pin: PinKind, value: &[u8]) -> Result<SdkOutcome, SdkError> {
        let ef = text_pin(pin);
        if let Some(refused) = self.open(apdu::TEXT_AP, Some((ef, value)))? {
            return Ok(refused);
        }
        match self.read_file(text::MY_NUMBER, "my number")? {
            Ok(file) => {
                let number = parse::my_number(&file).map_err(|source| SdkError::Malformed {
                    what: "my number",
                    source,
                })?;
                Ok(SdkOutcome::with_data(SdkData::MyNumber(number)))
            }
            Err(status) => Ok(SdkOutcome::status(status)),
        }
    }

    /// Reads the card-face file from the visual AP after `pin` (`pin_a` or `pin_b`).
    pub fn read_card_face(&mut self, pin: PinKind, value: &[u8]) -> Result<SdkOutcome, SdkError> {
        let ef = match pin {
            PinKind::PinB => visual::PIN_B,
            _ => visual::PIN_A,
        };
        if let Some(refused) = self.open(apdu::VISUAL_AP, Some((ef, value)))? {
            return Ok(refused);
        }
        Ok(match self.read_file(visual::CARD_FACE, "card face")? {
            Ok(file) => SdkOutcome::with_data(SdkData::CardFace(file)),
            Err(status) => SdkOutcome::status(status),
        })
    }

    /// A refusal to read `key`'s certificate or sign with it may mean the card has neither:
    /// JPKI EF `0008` says which certificates exist (byte 0 signature, byte 1
    /// authentication, `00` for none), so it is read to tell a missing certificate from a
    /// blocked password. Only on a refusal: a card that signs is not asked.
    fn explain_refusal(
        &mut self,
        key: KeyKind,
        refused: SdkOutcome,
    ) -> Result<SdkOutcome, SdkError> {
        if refused.status.is_success() || self.is(SdkMutant::IgnoresAvailability) {
            return Ok(refused);
        }
        let selected = self.exchange(&apdu::select_ef(jpki::CERTIFICATE_AVAILABILITY))?;
        if !selected.status.is_success() {
            return Ok(refused);
        }
        let read = self.exchange(&apdu::read_binary(0, AVAILABILITY_LEN))?;
        let byte = match key {
            KeyKind::Sign => 0,
            KeyKind::Auth => 1,
        };
        Ok(
            if read.status.is_success() && read.data.get(byte) == Some(&0x00) {
                SdkOutcome {
                    status: refused.status,
                    data: Some(SdkData::NoCertificate),
                }
            } else {
                refused
            },
        )
    }

    /// Selects `ap` and, when given, selects and verifies a PIN EF. `Some` is the refusal to
    /// report; `None` means the AP is ready.
    fn open(
        &mut self,
        ap: &[u8],
        pin: Option<(FileId, &[u8])>,
    ) -> Result<Option<SdkOutcome>, SdkError> {
        if !self.is(SdkMutant::SkipsApSelect) {
            let selected = self.exchange(&apdu::select_ap(ap))?;
            if !selected.status.is_success() {
                return Ok(Some(SdkOutcome::status(selected.status)));
            }
        }
        let Some((ef, value)) = pin else {
            return Ok(None);
        };
        let selected = self.exchange(&apdu::select_ef(ef))?;
        if !selected.status.is_success() {
            return Ok(Some(SdkOutcome::status(selected.status)));
        }
        let mut verified = self.exchange(&apdu::verify(value))?;
        if verified.status.retries().is_some() && self.is(SdkMutant::RetriesWrongPin) {
            verified = self.exchange(&apdu::verify(value))?;
        }
        if !verified.status.is_success() && !self.is(SdkMutant::IgnoresVerifyStatus) {
            return Ok(Some(SdkOutcome::status(verified.status)));
        }
        Ok(None)
    }

    /// Selects `ef` and reads the TLV it holds, sized from its header: `Err` is the refusal.
    fn read_file(
        &mut self,
        ef: FileId,
        what: &'static str,
    ) -> Result<Result<Vec<u8>, StatusWord>, SdkError> {
        let selected = self.exchange(&apdu::select_ef(ef))?;
        if !selected.status.is_success() {
            return Ok(Err(selected.status));
        }
        let head = self.exchange(&apdu::read_binary(0, HEAD_LEN))?;
        if !head.status.is_success() && !self.is(SdkMutant::IgnoresReadStatus) {
            return Ok(Err(head.status));
        }
        let size =
            parse::tlv_size(&head.data).map_err(|source| SdkError::Malformed { what, source })?;
        let mut file = Vec::with_capacity(size);
        while file.len() < size {
            let offset = u16::try_from(file.len()).map_err(|_| SdkError::Malformed {
                what,
                source: ParseError::TooLong(size),
            })?;
            let chunk = self.exchange(&apdu::read_binary(offset, (size - file.len()).min(256)))?;
            if !chunk.status.is_success() && self.is(SdkMutant::KeepsShortFile) {
                break;
            }
            if !chunk.status.is_success() {
                return Ok(Err(chunk.status));
            }
            if chunk.data.is_empty() {
                return Err(SdkError::Malformed {
                    what,
                    source: ParseError::TooLong(size),
                });
            }
            file.extend_from_slice(&chunk.data);
        }
        if self.is(SdkMutant::FirstChunkOnly) {
            file.truncate(256);
        }
        file.truncate(size);
        Ok(Ok(file))
    }

    /// Sends `command`; a `6C xx` (wrong Le, ISO/IEC 7816-4 §5.6) is answered by sending it
    /// once more with Le = `xx`, as a T=0 reader would.
    fn exchange(&mut self, command: &[u8]) -> Result<Response, SdkError> {
        let response = self.transmit(command)?;
        if response.status.sw1() != 0x6C || self.is(SdkMutant::NoLeResend) {
            return Ok(response);
        }
        match apdu::with_short_le(command, response.status.sw2()) {
            Some(again) => self.transmit(&again),
            None => Ok(response),
        }
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Response, SdkError> {
        let mut data = self.channel.transmit(command)?;
        if data.len() < 2 {
            return Err(ChannelError::ShortResponse { len: data.len() }.into());
        }
        let sw = data.split_off(data.len() - 2);
        Ok(Response {
            data,
            status: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }
}

/// The length of a `hash` digest.
fn hash_len(hash: HashAlgorithm) -> usize {
    match hash {
        HashAlgorithm::Sha1 => 20,
        HashAlgorithm::Sha256 => 32,
        HashAlgorithm::Sha384 => 48,
        HashAlgorithm::Sha512 => 64,
    }
}

/// Enough for a tag of 2 bytes and a length of 3.
const HEAD_LEN: usize = 5;

/// JPKI EF `0008`: one byte per certificate (signature, authentication), then `00`.
const AVAILABILITY_LEN: usize = 3;

/// Where `pin_status`, `verify_pin` and `change_pin` find each PIN: 照合番号A and B of the
/// visual AP, as the scenario model documents.
fn pin_location(pin: PinKind) -> (&'static [u8], FileId) {
    match pin {
        PinKind::Auth => (apdu::JPKI_AP, jpki::AUTH_PIN),
        PinKind::Sign => (apdu::JPKI_AP, jpki::SIGN_PASSWORD),
        PinKind::Text => (apdu::TEXT_AP, text::PIN),
        PinKind::PinA => (apdu::VISUAL_AP, visual::PIN_A),
        PinKind::PinB => (apdu::VISUAL_AP, visual::PIN_B),
    }
}

/// The text AP's PIN EF for a read with `pin`.
fn text_pin(pin: PinKind) -> FileId {
    match pin {
        PinKind::PinA => text::PIN_A,
        PinKind::PinB => text::PIN_B,
        _ => text::PIN,
    }
}
