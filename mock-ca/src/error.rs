//! The crate's error type: faults of the caller's input or of the crypto libraries, each with the
//! context needed to act on it.

use time::{Date, OffsetDateTime};

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a key, a certificate authority or a certificate could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// RustCrypto `rsa` failed to generate a key from the seeded RNG (not expected for 2048 bits).
    #[error("RSA-2048 key generation from a seed failed")]
    KeyGeneration {
        /// What `rsa` reported.
        #[source]
        source: rsa::Error,
    },

    /// A private key could not be encoded as, or decoded from, PKCS#8.
    #[error("RSA private key is not valid PKCS#8")]
    Pkcs8 {
        /// What the PKCS#8 codec reported.
        #[source]
        source: rsa::pkcs8::Error,
    },

    /// A public key could not be encoded as, or decoded from, SubjectPublicKeyInfo DER.
    #[error("public key is not a valid SubjectPublicKeyInfo")]
    SubjectPublicKeyInfo {
        /// What the SPKI codec reported.
        #[source]
        source: rsa::pkcs8::spki::Error,
    },

    /// The subject public key of an issuance request is not an RSA key; every JPKI key is RSA.
    #[error(
        "subject public key algorithm {algorithm} is not rsaEncryption (1.2.840.113549.1.1.1)"
    )]
    UnsupportedKeyAlgorithm {
        /// The algorithm OID the key names, dotted.
        algorithm: String,
    },

    /// aws-lc-rs (through rcgen) refused the PKCS#8 key for RSA PKCS#1 v1.5 SHA-256 signing.
    #[error("the signer rejected the {role} key")]
    SigningKey {
        /// Which key: a CA key role's tag, or `RSA` for a [`crate::KeyMaterial`]'s own signer.
        role: &'static str,
        /// Why rcgen refused it.
        #[source]
        source: rcgen::Error,
    },

    /// rcgen could not assemble or sign a certificate.
    #[error("cannot build the {profile} certificate")]
    Certificate {
        /// `CA`, `user-authentication`, `digital-signature` or `OCSP responder`.
        profile: &'static str,
        /// Why rcgen failed.
        #[source]
        source: rcgen::Error,
    },

    /// A card id is empty or contains NUL, which the domain-separated encodings use as separator.
    #[error("card id {card_id:?} is empty or contains NUL")]
    InvalidCardId {
        /// The card id as given.
        card_id: String,
    },

    /// CA generations start at 1 (see [`crate::validity::ca_validity`]).
    #[error("CA generation {generation} is out of range (1..={max})")]
    InvalidCaGeneration {
        /// The generation asked for.
        generation: u32,
        /// The highest accepted, [`crate::validity::MAX_CA_GENERATION`].
        max: u32,
    },

    /// The base URL must be an absolute `http://` or `https://` URL in ASCII without spaces.
    #[error("base URL {url:?} is not an absolute ASCII http(s) URL")]
    InvalidBaseUrl {
        /// The URL as given.
        url: String,
    },

    /// A serial number must be 1 to 20 bytes, positive and non-zero (RFC 5280 §4.1.2.2).
    #[error("serial number {hex} is not a positive integer of at most 20 bytes")]
    InvalidSerial {
        /// The serial as given: its bytes as hex, or the text that was parsed.
        hex: String,
    },

    /// A holder field is empty or uses characters the certificate cannot carry.
    #[error("holder field {field} is invalid: {reason} (got {value:?})")]
    InvalidHolderField {
        /// Which field (`municipality_code`, `sex`, `subject id`, ...).
        field: &'static str,
        /// What the field must look like.
        reason: &'static str,
        /// The value as given.
        value: String,
    },

    /// A substitute-character flag string does not have one flag per character of its text.
    #[error("{field} has {flags} flags but the text has {chars} characters")]
    SubstituteFlagsLength {
        /// `name_substitute_flags` or `address_substitute_flags`.
        field: &'static str,
        /// How many flags were given.
        flags: usize,
        /// How many characters the text has.
        chars: usize,
    },

    /// The birth date falls after the issuance date.
    #[error("birth date {birth_date} is after the issuance time {issued_at}", issued_at = crate::rfc3339(.issued_at))]
    BornAfterIssuance {
        /// The holder's birth date.
        birth_date: Date,
        /// The requested issuance time.
        issued_at: OffsetDateTime,
    },

    /// A date computation left the range the certificate encoding supports (years 1950..=9999).
    #[error("date out of range: {what}")]
    DateOutOfRange {
        /// Which date, or what is wrong with it (`CA notAfter`, `birthday`, `OCSP window`, ...).
        what: &'static str,
    },

    /// notAfter is not later than notBefore (e.g. a card expiry before the issuance time).
    #[error("empty validity: notAfter {not_after} is not after notBefore {not_before}", not_after = crate::rfc3339(.not_after), not_before = crate::rfc3339(.not_before))]
    EmptyValidity {
        /// notBefore as it would be encoded.
        not_before: OffsetDateTime,
        /// notAfter as computed or overridden.
        not_after: OffsetDateTime,
    },

    /// A name repeats one attribute type more than twice, which rcgen cannot carry in a subject
    /// or issuer (see `names.rs`). Not reachable with this crate's own names.
    #[error("name {name:?} cannot be encoded as a certificate subject or issuer")]
    UnsupportedName {
        /// The name as text.
        name: String,
    },

    /// The issuance time lies outside the issuing CA's own validity.
    #[error("issuance time {issued_at} is outside the CA validity {ca_not_before} .. {ca_not_after}", issued_at = crate::rfc3339(.issued_at), ca_not_before = crate::rfc3339(.ca_not_before), ca_not_after = crate::rfc3339(.ca_not_after))]
    OutsideCaValidity {
        /// The requested issuance time.
        issued_at: OffsetDateTime,
        /// The CA's notBefore.
        ca_not_before: OffsetDateTime,
        /// The CA's notAfter.
        ca_not_after: OffsetDateTime,
    },

    /// A CRL's nextUpdate is not later than its thisUpdate (RFC 5280 §5.1.2.5).
    #[error("CRL nextUpdate {next_update} is not after thisUpdate {this_update}", next_update = crate::rfc3339(.next_update), this_update = crate::rfc3339(.this_update))]
    InvalidCrlPeriod {
        /// The requested thisUpdate.
        this_update: OffsetDateTime,
        /// The requested nextUpdate.
        next_update: OffsetDateTime,
    },

    /// A municipality CRL partition names an empty prefecture or municipality, or one with
    /// control characters; no certificate's distribution point could carry it.
    #[error("CRL partition {field} {value:?} must be non-empty text without control characters")]
    InvalidCrlScope {
        /// `prefecture_romaji` or `municipality_romaji`.
        field: &'static str,
        /// The text as given.
        value: String,
    },

    /// aws-lc-rs (through rcgen's key handle) failed to sign a structure built by this crate.
    #[error("signing the {what} failed")]
    Signature {
        /// What was being signed (`CRL`).
        what: &'static str,
        /// What the signer reported.
        #[source]
        source: rcgen::Error,
    },

    /// An OCSP refresh period shorter than one second (OCSP times have whole seconds).
    #[error("OCSP refresh period {period} is shorter than one second")]
    InvalidOcspPeriod {
        /// The period asked for.
        period: time::Duration,
    },

    /// A delegated OCSP responder certificate must lie within its CA's validity.
    #[error("OCSP responder validity {not_before} .. {not_after} is outside the CA validity {ca_not_before} .. {ca_not_after}", not_before = crate::rfc3339(.not_before), not_after = crate::rfc3339(.not_after), ca_not_before = crate::rfc3339(.ca_not_before), ca_not_after = crate::rfc3339(.ca_not_after))]
    OcspResponderValidity {
        /// The responder certificate's notBefore.
        not_before: OffsetDateTime,
        /// The responder certificate's notAfter.
        not_after: OffsetDateTime,
        /// The CA's notBefore.
        ca_not_before: OffsetDateTime,
        /// The CA's notAfter.
        ca_not_after: OffsetDateTime,
    },

    /// A delegated OCSP responder's certificate and key do not belong to the CA it answers for.
    #[error("{hierarchy} OCSP responder: {reason}")]
    OcspResponderMismatch {
        /// The hierarchy the responder was to answer for.
        hierarchy: crate::Hierarchy,
        /// Which part does not match.
        reason: &'static str,
    },

    /// aws-lc-rs refused the OCSP signing key (CA or delegated) as an RSA PKCS#8 key.
    #[error("{hierarchy} OCSP responder: aws-lc-rs rejected the signing key")]
    OcspSigningKey {
        /// The hierarchy the responder answers for.
        hierarchy: crate::Hierarchy,
        /// Why aws-lc-rs refused the key.
        #[source]
        source: aws_lc_rs::error::KeyRejected,
    },
    /// A structure to forge from could not be read or written back (it is not DER of what it
    /// claims to be).
    #[error("cannot forge from the {what}: not the DER expected")]
    ForgeryInput {
        /// What was being forged (`certificate`, `CRL`).
        what: &'static str,
        /// What the DER codec reported.
        #[source]
        source: der::Error,
    },

    /// aws-lc-rs refused a key or failed to sign while forging.
    #[error("cannot sign the forged {what}")]
    ForgerySignature {
        /// What was being forged.
        what: &'static str,
    },
    /// A forgery signed by the holder's key was asked for without that key.
    #[error("cannot forge the {what}: the holder's key is needed and was not given")]
    ForgeryNeedsHolderKey {
        /// What was being forged.
        what: &'static str,
    },
}

/// An error and its causes, `: `-separated (`error: cause: cause`), so that a client or an admin
/// sees what failed underneath. The simulator crates above share this one.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
