//! The certification path from an enrolled certificate up to the trust anchor, through the
//! certificates presented with it (RFC 5280 §6.1). JPKI CAs issue end-entity certificates
//! directly, so the path is usually the certificate alone; a presented certificate is used only
//! if it is a CA that issued the one below it and is valid now.

use der::Decode;
use time::OffsetDateTime;
use x509_cert::Certificate;

use super::mutant::{is, Mutant};
use super::x509;

/// The certificate at the top of the path from `certificate` through `intermediates` (DER,
/// nearest first): the one the anchor must have issued. `Err` says which link fails.
pub fn top(
    certificate: &Certificate,
    intermediates: &[Vec<u8>],
    now: OffsetDateTime,
    mutant: Option<Mutant>,
) -> Result<Certificate, String> {
    let mut child = certificate.clone();
    for (index, der) in intermediates.iter().enumerate() {
        let link = |what: String| format!("presented certificate {index}: {what}");
        let issuer = Certificate::from_der(der).map_err(|err| link(format!("not DER: {err}")))?;
        if !x509::is_ca(&issuer) && !is(mutant, Mutant::AcceptsEndEntityIssuer) {
            return Err(link(
                "not a CA (basicConstraints cA and keyUsage keyCertSign), so it issues nothing"
                    .to_owned(),
            ));
        }
        if !x509::valid_at(&issuer, now) {
            return Err(link(format!("not valid at {now}")));
        }
        if let Some(oid) = x509::unknown_critical_extension(&issuer) {
            return Err(link(format!("unknown critical extension {oid}")));
        }
        if !is(mutant, Mutant::SkipsIntermediateSignature) {
            x509::issued_by(&issuer, &child)
                .map_err(|err| link(format!("did not issue the certificate below it: {err}")))?;
        }
        child = issuer;
    }
    Ok(child)
}
