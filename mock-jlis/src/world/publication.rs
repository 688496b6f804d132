//! The world as mock-ca's [`RevocationSource`]: the registry is the data, the world's clock the
//! time, and the armed protocol faults of `/crl` and `/ocsp` the fault hooks.

use mock_ca::publication::{CrlFault, OcspFault, RevocationData, RevocationSource};
use mock_ca::{CaKeyRole, KeyMaterial, KeySeed};
use time::OffsetDateTime;

use super::World;
use crate::faults::{Endpoint, FaultKind};

impl RevocationSource for World {
    fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    fn read<R>(&self, read: impl FnOnce(&dyn RevocationData) -> R) -> R {
        let registry = self.registry.read().unwrap_or_else(|e| e.into_inner());
        read(&*registry)
    }

    fn crl_fault(&self) -> Option<CrlFault> {
        self.faults()
            .take(Endpoint::Crl, |f| f.crl_fault().is_some())
            .and_then(FaultKind::crl_fault)
    }

    fn ocsp_fault(&self) -> Option<OcspFault> {
        self.faults()
            .take(Endpoint::Ocsp, |f| f.ocsp_fault().is_some())
            .and_then(FaultKind::ocsp_fault)
    }

    /// A responder key of a CA generation that never exists, so nobody certified it.
    fn impostor_key(&self) -> Option<KeyMaterial> {
        self.keys
            .key_of(KeySeed::for_authority(u32::MAX, CaKeyRole::OcspResponder))
    }
}

impl World {
    /// `forgery` of `genuine`, a certificate of `hierarchy` this world issued, as of the world's
    /// time: what an attacker (or a careless CA) presents at enrolment.
    pub fn forge_certificate(
        &self,
        hierarchy: mock_ca::Hierarchy,
        genuine: &[u8],
        forgery: mock_ca::forgery::CertificateForgery,
    ) -> Result<Vec<u8>, super::WorldError> {
        let impostor = self
            .impostor_key()
            .ok_or_else(|| super::WorldError::CorruptState {
                card: "(impostor key)".to_owned(),
                what: "the key cache cannot derive the impostor key".to_owned(),
            })?;
        Ok(mock_ca::forgery::forge_certificate(
            genuine,
            forgery,
            self.ca(hierarchy),
            &impostor,
            self.clock.now(),
        )?)
    }
}
