//! The world as mock-ca's [`RevocationSource`]: the registry is the data, the world's clock the
//! time, and the armed protocol faults of `/crl` and `/ocsp` the fault hooks.

use mock_ca::forgery::{CertificateForgery, ForgedCertificate, ForgerySigners};
use mock_ca::publication::{CrlFault, OcspFault, RevocationData, RevocationSource};
use mock_ca::{CaKeyRole, Hierarchy, KeyMaterial, KeyRole, KeySeed};
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
    /// time: what an attacker (or a careless CA) presents at enrolment, with the certificates
    /// presented along with it.
    pub fn forge_certificate(
        &self,
        hierarchy: Hierarchy,
        genuine: &[u8],
        forgery: CertificateForgery,
    ) -> Result<ForgedCertificate, super::WorldError> {
        let unavailable = |what: &str| super::WorldError::CorruptState {
            card: format!("({what})"),
            what: format!("the key cache cannot derive the {what}"),
        };
        let impostor = self
            .impostor_key()
            .ok_or_else(|| unavailable("impostor key"))?;
        let holder = if forgery.needs_holder_key() {
            Some(self.holder_key(hierarchy, genuine)?)
        } else {
            None
        };
        let signers = ForgerySigners {
            ca: self.ca(hierarchy),
            impostor: &impostor,
            holder: holder.as_ref(),
        };
        Ok(mock_ca::forgery::forge_certificate(
            genuine,
            forgery,
            &signers,
            self.clock.now(),
        )?)
    }

    /// The private key of `certificate`, a certificate of `hierarchy` on one of this world's
    /// cards now: the key the card holds for it.
    fn holder_key(
        &self,
        hierarchy: Hierarchy,
        certificate: &[u8],
    ) -> Result<KeyMaterial, super::WorldError> {
        let holder = self.cards().into_iter().find_map(|card| {
            let state = card.state();
            let on_card = match hierarchy {
                Hierarchy::Sign => state.sign.as_ref().map(|sign| sign.der.as_slice()),
                Hierarchy::Auth => Some(state.auth.der.as_slice()),
            };
            (on_card == Some(certificate)).then_some(state)
        });
        let state = holder.ok_or(super::WorldError::ForgeryOfForeignCertificate)?;
        let card = state.persona.card_id.to_string();
        let generation = state.persona.generation;
        let role = match hierarchy {
            Hierarchy::Sign => KeyRole::Sign,
            Hierarchy::Auth => KeyRole::Auth,
        };
        let seed = self.issuer.key_seed(
            &state.persona.card_id,
            generation,
            state.sign_revision,
            role,
        )?;
        self.keys
            .key_of(seed)
            .ok_or_else(|| super::WorldError::CorruptState {
                card,
                what: "the key cache cannot derive the holder's key".to_owned(),
            })
    }
}
