//! The publisher: both CAs' OCSP responders, the caches of signed answers, and the cadence.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::crl::CrlCache;
use super::schedule::{Cadence, CrlIssue};
use super::source::RevocationData;
use crate::error::Result;
use crate::hierarchy::{CertificateAuthority, Hierarchy};
use crate::keys::KeyMaterial;
use crate::ocsp::{OcspCache, OcspResponder, ResponderCertificate, ResponderSigner};

/// Who signs OCSP responses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OcspSigner {
    /// A delegated responder certificate (id-kp-OCSPSigning) issued by each CA.
    #[default]
    Delegated,
    /// The CA key itself.
    Ca,
}

/// Signs and caches what the CAs publish. Shared by the routes and in-process callers.
pub struct Publisher {
    pub(super) sign_ca: Arc<CertificateAuthority>,
    pub(super) auth_ca: Arc<CertificateAuthority>,
    pub(super) sign_responder: OcspResponder,
    pub(super) auth_responder: OcspResponder,
    pub(super) ocsp_cache: OcspCache,
    pub(super) crls: CrlCache,
    cadence: Cadence,
}

impl Publisher {
    /// A publisher for the two CAs. With [`OcspSigner::Delegated`], each CA issues a responder
    /// certificate for `responder_key`, valid as long as the CA.
    pub fn new(
        sign_ca: Arc<CertificateAuthority>,
        auth_ca: Arc<CertificateAuthority>,
        cadence: Cadence,
        signer: OcspSigner,
        responder_key: &KeyMaterial,
    ) -> Result<Self> {
        let responder = |ca: &CertificateAuthority| -> Result<OcspResponder> {
            let signer = match signer {
                OcspSigner::Ca => ResponderSigner::Ca,
                OcspSigner::Delegated => ResponderSigner::Delegated {
                    certificate: ResponderCertificate::issue(
                        ca,
                        responder_key,
                        ca.not_before(),
                        ca.not_after(),
                    )?,
                    key: responder_key.clone(),
                },
            };
            OcspResponder::new(ca, signer)
        };
        Ok(Publisher {
            sign_responder: responder(&sign_ca)?,
            auth_responder: responder(&auth_ca)?,
            sign_ca,
            auth_ca,
            ocsp_cache: OcspCache::default(),
            crls: CrlCache::default(),
            cadence,
        })
    }

    /// The CA of `hierarchy` whose CRLs and OCSP answers this publisher signs.
    pub fn ca(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        match hierarchy {
            Hierarchy::Sign => &self.sign_ca,
            Hierarchy::Auth => &self.auth_ca,
        }
    }

    /// The OCSP responder of `hierarchy`'s CA.
    pub(super) fn responder(&self, hierarchy: Hierarchy) -> &OcspResponder {
        match hierarchy {
            Hierarchy::Sign => &self.sign_responder,
            Hierarchy::Auth => &self.auth_responder,
        }
    }

    /// When CRLs are issued and OCSP windows turn (`realistic` or `instant`).
    pub fn cadence(&self) -> Cadence {
        self.cadence
    }

    /// thisUpdate, nextUpdate, cRLNumber and data instant of the CRL of `hierarchy` current at
    /// `now`, over the revocation data `data` (see [`Cadence::crl_issue`]).
    pub fn crl_issue(
        &self,
        hierarchy: Hierarchy,
        now: OffsetDateTime,
        data: &dyn RevocationData,
    ) -> CrlIssue {
        self.cadence
            .crl_issue(self.ca(hierarchy).not_before(), now, hierarchy, data)
    }
}
