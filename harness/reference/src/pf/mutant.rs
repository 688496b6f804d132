//! Deliberately wrong variants of the reference PF. Each makes one mistake real platforms make;
//! the suite must fail against every one of them (`jpki-sim run --mutants`), which shows that
//! its scenarios notice the mistake.

use std::fmt;
use std::str::FromStr;

/// One deliberate mistake of the reference PF. Names are kebab-case (`--mutant ignores-revocation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mutant {
    /// Treats a revoked certificate as good, on OCSP and CRL alike.
    IgnoresRevocation,
    /// Believes a CRL whose nextUpdate has passed.
    AcceptsStaleCrl,
    /// Believes an OCSP response without checking who signed it.
    SkipsOcspSignature,
    /// Believes an OCSP response whose nextUpdate has passed.
    AcceptsStaleOcsp,
    /// Gives up on the first OCSP `tryLater` instead of asking once more.
    NoTryLaterRetry,
    /// Treats a certificate on hold (`certificateHold`) as good.
    HoldIsGood,
    /// Checks status by card, not by certificate: an authentication certificate takes the
    /// status of the holder's linked signature certificate, so an address change revokes it.
    StatusByCard,
    /// Names users by certificate instead of by J-LIS user id: each renewal is a new user.
    NewUserPerCertificate,
    /// Enrols a certificate outside its validity period.
    AcceptsExpired,
    /// Skips the check of the holder's signature over the data.
    SkipsDataSignature,
    /// Accepts a certificate from either hierarchy's CA for either key.
    AcceptsEitherHierarchy,
    /// Fails open: a status it cannot determine counts as good.
    FailsOpen,
    /// Sends an OCSP nonce but never compares the answer's with it, so a replayed or misrouted
    /// response is believed.
    IgnoresNonce,
    /// Trusts a certificate whose issuer name is the CA's without checking the CA's signature
    /// on it.
    SkipsCertificateSignature,
    /// Enrols a certificate with a critical extension it does not know.
    IgnoresUnknownCriticalExtension,
    /// Checks that a certificate has not expired, never that it is already valid.
    IgnoresNotBefore,
    /// Enrols a certificate whose keyUsage does not allow the signature it is used for.
    IgnoresKeyUsage,
    /// Takes the first SingleResponse of an OCSP answer, whatever certificate it is about.
    FirstSingleResponse,
    /// Matches an OCSP answer to the question by issuer only, not by serial number.
    IgnoresCertIdSerial,
    /// Matches an OCSP answer's CertID without its issuerNameHash.
    IgnoresIssuerNameHash,
    /// Matches an OCSP answer's CertID without its issuerKeyHash.
    IgnoresIssuerKeyHash,
    /// Matches an OCSP answer's CertID hashes without its hash algorithm.
    IgnoresCertIdAlgorithm,
    /// Believes an OCSP answer whose thisUpdate lies in the future.
    AcceptsFutureOcsp,
    /// Believes an OCSP answer without nextUpdate (RFC 5019 §4 says reject it).
    AcceptsMissingNextUpdate,
    /// Verifies an OCSP answer with whatever responder certificate it embeds, without
    /// checking that the CA issued it.
    TrustsEmbeddedResponder,
    /// Accepts a delegated OCSP responder without id-kp-OCSPSigning.
    SkipsResponderEku,
    /// Accepts a delegated OCSP responder whose certificate has expired.
    SkipsResponderValidity,
    /// Accepts an OCSP responder certified by either JPKI CA for either CA's certificates.
    AcceptsOtherHierarchyResponder,
    /// Knows OCSP responders by key hash only, not by name (RFC 6960 allows both).
    OnlyByKeyResponder,
    /// Believes a CRL issued and signed by either JPKI CA.
    AcceptsOtherHierarchyCrl,
    /// Believes a CRL whose issuer name is the CA's without checking its signature.
    SkipsCrlSignature,
    /// Uses a CRL whatever critical extensions it carries, a partition's scope among them.
    IgnoresCriticalCrlExtension,
    /// Takes a partition CRL (issuingDistributionPoint) for the full list.
    IgnoresCrlScope,
    /// Uses a CRL entry whatever critical entry extensions it carries.
    IgnoresCriticalEntryExtension,
    /// Believes a CRL without nextUpdate.
    AcceptsCrlWithoutNextUpdate,
    /// Believes a CRL whose thisUpdate lies in the future.
    AcceptsFutureCrl,
    /// Reads a serial number as a signed integer of its magnitude bytes (as Java's
    /// `new BigInteger(bytes)` does): one with its top bit set turns negative, so its OCSP
    /// CertID names another number and its CRL entry is never found.
    SignedSerial,
    /// Checks CRL status on the full list only, never the partition of the certificate's
    /// distribution point.
    FullCrlOnly,
    /// Tells a holder who withdrew their consent apart from one who never gave it no more:
    /// J-LIS's `consent_withdrawn` becomes "not consented".
    WithdrawnIsNotConsented,
    /// Treats an OCSP `unknown` as good, as if only `revoked` mattered.
    UnknownIsGood,
    /// Treats an unsuccessful OCSP answer other than `tryLater` (`internalError`,
    /// `unauthorized`, ...) as good: a missing status is not a revocation.
    UnsuccessfulIsGood,
    /// Verifies OCSP answers only with a delegated responder certificate embedded in them, so
    /// an answer the CA signs with its own key (RFC 6960 §4.2.2.2 allows both) is refused.
    RequiresDelegatedResponder,
    /// Takes "not linked yet" (the linkage lag after a renewal) for a holder J-LIS has never
    /// seen: the renewed certificate becomes a new user.
    NotLinkedIsNewUser,
    /// Passes J-LIS's basic 4 info on without its substitute-character (代替文字) flags, so a
    /// name with a stand-in character reads as the holder's own spelling.
    DropsSubstituteFlags,
    /// Builds the certification path through whatever certificates are presented with the
    /// end-entity one without asking whether each is a CA (basicConstraints cA, keyUsage
    /// keyCertSign): a holder's own certificate then issues certificates.
    AcceptsEndEntityIssuer,
    /// Enrols a certificate whatever policy its certificatePolicies name, so one the CA
    /// certified for the other use passes.
    IgnoresCertificatePolicy,
    /// Enrols a certificate whose extendedKeyUsage lists other purposes only.
    IgnoresExtendedKeyUsage,
    /// Checks that the CA's key signed a certificate, never that the certificate names the CA
    /// as its issuer.
    IgnoresIssuerName,
    /// Believes a CRL its CA signed whatever the CA certificate's keyUsage allows, cRLSign or
    /// not.
    IgnoresCrlSign,
    /// Climbs from a certificate to the presented one that names its issuer without checking
    /// that one's signature on it.
    SkipsIntermediateSignature,
}

/// A name that is not a mutant's.
#[derive(Debug, thiserror::Error)]
#[error("no mutant named {name:?}; known: {known}")]
pub struct UnknownMutant {
    /// The name given.
    pub name: String,
    /// The mutants' names, comma-separated, for the message.
    pub known: String,
}

impl Mutant {
    /// Every mutant, in the order reports list them.
    pub const ALL: [Mutant; 50] = [
        Mutant::IgnoresRevocation,
        Mutant::AcceptsStaleCrl,
        Mutant::SkipsOcspSignature,
        Mutant::AcceptsStaleOcsp,
        Mutant::NoTryLaterRetry,
        Mutant::HoldIsGood,
        Mutant::StatusByCard,
        Mutant::NewUserPerCertificate,
        Mutant::AcceptsExpired,
        Mutant::SkipsDataSignature,
        Mutant::AcceptsEitherHierarchy,
        Mutant::FailsOpen,
        Mutant::IgnoresNonce,
        Mutant::SkipsCertificateSignature,
        Mutant::IgnoresUnknownCriticalExtension,
        Mutant::IgnoresNotBefore,
        Mutant::IgnoresKeyUsage,
        Mutant::FirstSingleResponse,
        Mutant::IgnoresCertIdSerial,
        Mutant::IgnoresIssuerNameHash,
        Mutant::IgnoresIssuerKeyHash,
        Mutant::IgnoresCertIdAlgorithm,
        Mutant::AcceptsFutureOcsp,
        Mutant::AcceptsMissingNextUpdate,
        Mutant::TrustsEmbeddedResponder,
        Mutant::SkipsResponderEku,
        Mutant::SkipsResponderValidity,
        Mutant::AcceptsOtherHierarchyResponder,
        Mutant::OnlyByKeyResponder,
        Mutant::AcceptsOtherHierarchyCrl,
        Mutant::SkipsCrlSignature,
        Mutant::IgnoresCriticalCrlExtension,
        Mutant::IgnoresCrlScope,
        Mutant::IgnoresCriticalEntryExtension,
        Mutant::AcceptsCrlWithoutNextUpdate,
        Mutant::AcceptsFutureCrl,
        Mutant::SignedSerial,
        Mutant::FullCrlOnly,
        Mutant::WithdrawnIsNotConsented,
        Mutant::UnknownIsGood,
        Mutant::UnsuccessfulIsGood,
        Mutant::RequiresDelegatedResponder,
        Mutant::NotLinkedIsNewUser,
        Mutant::DropsSubstituteFlags,
        Mutant::AcceptsEndEntityIssuer,
        Mutant::IgnoresCertificatePolicy,
        Mutant::IgnoresExtendedKeyUsage,
        Mutant::IgnoresIssuerName,
        Mutant::IgnoresCrlSign,
        Mutant::SkipsIntermediateSignature,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Mutant::IgnoresRevocation => "ignores-revocation",
            Mutant::AcceptsStaleCrl => "accepts-stale-crl",
            Mutant::SkipsOcspSignature => "skips-ocsp-signature",
            Mutant::AcceptsStaleOcsp => "accepts-stale-ocsp",
            Mutant::NoTryLaterRetry => "no-try-later-retry",
            Mutant::HoldIsGood => "hold-is-good",
            Mutant::StatusByCard => "status-by-card",
            Mutant::NewUserPerCertificate => "new-user-per-certificate",
            Mutant::AcceptsExpired => "accepts-expired",
            Mutant::SkipsDataSignature => "skips-data-signature",
            Mutant::AcceptsEitherHierarchy => "accepts-either-hierarchy",
            Mutant::FailsOpen => "fails-open",
            Mutant::IgnoresNonce => "ignores-nonce",
            Mutant::SkipsCertificateSignature => "skips-certificate-signature",
            Mutant::IgnoresUnknownCriticalExtension => "ignores-unknown-critical-extension",
            Mutant::IgnoresNotBefore => "ignores-not-before",
            Mutant::IgnoresKeyUsage => "ignores-key-usage",
            Mutant::FirstSingleResponse => "first-single-response",
            Mutant::IgnoresCertIdSerial => "ignores-cert-id-serial",
            Mutant::IgnoresIssuerNameHash => "ignores-issuer-name-hash",
            Mutant::IgnoresIssuerKeyHash => "ignores-issuer-key-hash",
            Mutant::IgnoresCertIdAlgorithm => "ignores-cert-id-algorithm",
            Mutant::AcceptsFutureOcsp => "accepts-future-ocsp",
            Mutant::AcceptsMissingNextUpdate => "accepts-missing-next-update",
            Mutant::TrustsEmbeddedResponder => "trusts-embedded-responder",
            Mutant::SkipsResponderEku => "skips-responder-eku",
            Mutant::SkipsResponderValidity => "skips-responder-validity",
            Mutant::AcceptsOtherHierarchyResponder => "accepts-other-hierarchy-responder",
            Mutant::OnlyByKeyResponder => "only-by-key-responder",
            Mutant::AcceptsOtherHierarchyCrl => "accepts-other-hierarchy-crl",
            Mutant::SkipsCrlSignature => "skips-crl-signature",
            Mutant::IgnoresCriticalCrlExtension => "ignores-critical-crl-extension",
            Mutant::IgnoresCrlScope => "ignores-crl-scope",
            Mutant::IgnoresCriticalEntryExtension => "ignores-critical-entry-extension",
            Mutant::AcceptsCrlWithoutNextUpdate => "accepts-crl-without-next-update",
            Mutant::AcceptsFutureCrl => "accepts-future-crl",
            Mutant::SignedSerial => "signed-serial",
            Mutant::FullCrlOnly => "full-crl-only",
            Mutant::WithdrawnIsNotConsented => "withdrawn-is-not-consented",
            Mutant::UnknownIsGood => "unknown-is-good",
            Mutant::UnsuccessfulIsGood => "unsuccessful-is-good",
            Mutant::RequiresDelegatedResponder => "requires-delegated-responder",
            Mutant::NotLinkedIsNewUser => "not-linked-is-new-user",
            Mutant::DropsSubstituteFlags => "drops-substitute-flags",
            Mutant::AcceptsEndEntityIssuer => "accepts-end-entity-issuer",
            Mutant::IgnoresCertificatePolicy => "ignores-certificate-policy",
            Mutant::IgnoresExtendedKeyUsage => "ignores-extended-key-usage",
            Mutant::IgnoresIssuerName => "ignores-issuer-name",
            Mutant::IgnoresCrlSign => "ignores-crl-sign",
            Mutant::SkipsIntermediateSignature => "skips-intermediate-signature",
        }
    }
}

impl fmt::Display for Mutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mutant {
    type Err = UnknownMutant;

    fn from_str(name: &str) -> Result<Mutant, UnknownMutant> {
        Mutant::ALL
            .into_iter()
            .find(|mutant| mutant.name() == name)
            .ok_or_else(|| UnknownMutant {
                name: name.to_owned(),
                known: Mutant::ALL.map(Mutant::name).join(", "),
            })
    }
}

/// Whether `mutant` is the one in effect.
pub(super) fn is(active: Option<Mutant>, mutant: Mutant) -> bool {
    active == Some(mutant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for mutant in Mutant::ALL {
            assert_eq!(mutant.name().parse::<Mutant>().unwrap(), mutant);
        }
        let mut names: Vec<_> = Mutant::ALL.map(Mutant::name).to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Mutant::ALL.len());
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = "ignores-everything".parse::<Mutant>().unwrap_err();
        assert!(err.to_string().contains("ignores-revocation"), "{err}");
    }
}
