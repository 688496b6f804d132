//! Issuing a card: its six keys, its certificates from the two CAs, and the personalised image.

use std::sync::Arc;

use mock_ca::{
    CertificateAuthority, Hierarchy, Holder, IssuanceRequest, IssuedCertificate, KeyMaterial,
    KeyRole, KeySeed, MunicipalityCode, Serial, SerialStyle, SubjectId, SubstituteFlags,
};
use sim_card::{CardId, CardImage, KeyRing};
use time::OffsetDateTime;

use super::keys::KeyCache;
use super::WorldError;
use crate::persona::Persona;
use crate::personalise::{personalise, personalise_with, CardCredentials};

/// The two CAs, as issuers of card certificates (the same ones publish CRLs and OCSP).
pub(crate) struct Issuer {
    pub(crate) sign_ca: Arc<CertificateAuthority>,
    pub(crate) auth_ca: Arc<CertificateAuthority>,
    /// The shape of the card certificates' serials.
    pub(crate) serial_style: SerialStyle,
    /// Card keys from a shared pool of this many, or each card its own.
    pub(crate) key_pool: Option<std::num::NonZeroU32>,
    /// With a key pool: the pool's keys parsed once for every card's personalisation and card
    /// OS.
    pub(crate) key_ring: Option<Arc<KeyRing>>,
}

/// Certificates and image produced by [`Issuer::build`].
pub(crate) struct Built {
    pub sign: Option<IssuedCertificate>,
    pub auth: IssuedCertificate,
    pub image: CardImage,
}

impl Issuer {
    /// The seed of a card's key for `role`: the card's own (`docs/persona-derivation.md`), or
    /// its slot's in the key pool. The signature key follows the card's re-issues.
    pub(crate) fn key_seed(
        &self,
        card: &CardId,
        generation: u32,
        sign_revision: u32,
        role: KeyRole,
    ) -> Result<KeySeed, WorldError> {
        let revision = if role == KeyRole::Sign {
            sign_revision
        } else {
            0
        };
        Ok(match self.key_pool {
            None => KeySeed::for_card_revision(&card.to_string(), generation, revision, role)?,
            // What a PF sees — the certificates' keys — comes from the card's slot; the applets'
            // own keys, which only the card's integrity records use, are one set for the pool,
            // so a cold pool costs two key generations a slot, not six.
            Some(pool) if matches!(role, KeyRole::Sign | KeyRole::Auth) => {
                KeySeed::for_pool(pool_slot(card, generation, revision, pool), role)
            }
            Some(_) => KeySeed::for_pool(0, role),
        })
    }

    /// Every seed of the key pool, each once: the certificates' keys of every slot, then the
    /// applets' keys; none without a pool.
    pub(crate) fn pool_seeds(&self) -> Vec<KeySeed> {
        let Some(pool) = self.key_pool else {
            return Vec::new();
        };
        let certificates = (0..pool.get()).flat_map(|slot| {
            [KeyRole::Sign, KeyRole::Auth].map(|role| KeySeed::for_pool(slot, role))
        });
        let applets = [
            KeyRole::TextAp,
            KeyRole::VisualAp,
            KeyRole::CommonAp,
            KeyRole::JukiAp,
        ]
        .map(|role| KeySeed::for_pool(0, role));
        certificates.chain(applets).collect()
    }

    /// The serial of a card's certificate of `hierarchy` (revision: re-issues within a
    /// generation, signature certificates only).
    pub(crate) fn serial(
        &self,
        canonical: &str,
        generation: u32,
        revision: u32,
        hierarchy: Hierarchy,
    ) -> Result<Serial, WorldError> {
        Ok(Serial::for_card_styled(
            canonical,
            generation,
            revision,
            hierarchy,
            self.serial_style,
        )?)
    }

    pub(crate) fn ca(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        match hierarchy {
            Hierarchy::Sign => &self.sign_ca,
            Hierarchy::Auth => &self.auth_ca,
        }
    }

    /// Issues certificates and personalises a card image for `persona`. The signature
    /// certificate is issued at `sign_issued_at` (re-issues happen later than the card); with
    /// `keep_auth`, the authentication certificate is kept rather than issued.
    pub(crate) fn build(
        &self,
        keys: &KeyCache,
        persona: &Persona,
        sign_revision: u32,
        issued_at: OffsetDateTime,
        sign_issued_at: Option<OffsetDateTime>,
        keep_auth: Option<&IssuedCertificate>,
    ) -> Result<Built, WorldError> {
        let card = &persona.card_id;
        let canonical = card.to_string();
        let generation = persona.generation;
        let roles = [
            KeyRole::Sign,
            KeyRole::Auth,
            KeyRole::TextAp,
            KeyRole::VisualAp,
            KeyRole::CommonAp,
            KeyRole::JukiAp,
        ];
        let seeds = roles
            .iter()
            .map(|&role| self.key_seed(card, generation, sign_revision, role))
            .collect::<Result<Vec<_>, _>>()?;
        let keys = keys.derive(&seeds)?;
        let [sign_key, auth_key, text_key, visual_key, common_key, juki_key] =
            <[KeyMaterial; 6]>::try_from(keys)
                .unwrap_or_else(|_| unreachable!("six seeds give six keys"));
        let holder = holder(persona, &canonical, generation)?;
        let request =
            |hierarchy: Hierarchy, serial: Serial, at: OffsetDateTime, key: &KeyMaterial| {
                self.ca(hierarchy).issue(&IssuanceRequest {
                    holder: holder.clone(),
                    serial,
                    issued_at: at,
                    not_after: None,
                    card_expires_on: Some(persona.card_expires_on),
                    subject_public_key: key.spki_der().to_vec(),
                })
            };
        let sign = if persona.has_signature_certificate() {
            let serial = self.serial(&canonical, generation, sign_revision, Hierarchy::Sign)?;
            Some(request(
                Hierarchy::Sign,
                serial,
                sign_issued_at.unwrap_or(issued_at),
                &sign_key,
            )?)
        } else {
            None
        };
        let auth = match keep_auth {
            Some(auth) => auth.clone(),
            None => request(
                Hierarchy::Auth,
                self.serial(&canonical, generation, 0, Hierarchy::Auth)?,
                issued_at,
                &auth_key,
            )?,
        };
        let credentials = CardCredentials {
            sign_cert_der: sign.as_ref().map(|c| c.der.clone()),
            sign_ca_der: self.sign_ca.certificate_der().to_vec(),
            auth_cert_der: auth.der.clone(),
            auth_ca_der: self.auth_ca.certificate_der().to_vec(),
            sign_key_pkcs8: sign_key.pkcs8_der().to_vec(),
            auth_key_pkcs8: auth_key.pkcs8_der().to_vec(),
            text_ap_key_pkcs8: text_key.pkcs8_der().to_vec(),
            visual_ap_key_pkcs8: visual_key.pkcs8_der().to_vec(),
            common_ap_key_pkcs8: common_key.pkcs8_der().to_vec(),
            juki_ap_key_pkcs8: juki_key.pkcs8_der().to_vec(),
        };
        let image = match &self.key_ring {
            Some(ring) => personalise_with(persona, &credentials, ring)?,
            None => personalise(persona, &credentials)?,
        };
        Ok(Built { sign, auth, image })
    }
}

fn holder(persona: &Persona, canonical: &str, generation: u32) -> Result<Holder, WorldError> {
    let municipality_code = MunicipalityCode::parse(&persona.municipality_code)?;
    Ok(Holder {
        name: persona.name.clone(),
        name_substitute_flags: SubstituteFlags::parse(&persona.name_substitute_flags)?,
        address: persona.address.clone(),
        address_substitute_flags: SubstituteFlags::parse(&persona.address_substitute_flags)?,
        birth_date: persona.birth_date,
        sex: mock_ca::Sex::from_code(persona.sex.code())?,
        prefecture_romaji: persona.prefecture_romaji.clone(),
        municipality_romaji: persona.municipality_romaji.clone(),
        municipality_code,
        auth_cn: SubjectId::derive(canonical, generation, Hierarchy::Auth, municipality_code)?,
        sign_cn: SubjectId::derive(canonical, generation, Hierarchy::Sign, municipality_code)?,
    })
}

/// A card's slot in the key pool for one revision of its keys: the last four bytes of its id
/// as a big-endian number, plus the generation after the first and the revision, modulo the
/// pool's size. Load card `i` (whose id ends in `i`) thus takes slot `i mod K` — `K` cards have
/// `K` distinct keys — and a renewal or re-issue moves to the next slot, so a re-issued
/// certificate never has its predecessor's key when the pool has more than one slot.
pub(crate) fn pool_slot(
    card: &CardId,
    generation: u32,
    revision: u32,
    pool: std::num::NonZeroU32,
) -> u32 {
    let bytes = card.bytes();
    let tail = bytes[bytes.len().saturating_sub(4)..]
        .iter()
        .fold(0u32, |number, &byte| (number << 8) | u32::from(byte));
    let offset = u64::from(generation.saturating_sub(1)) + u64::from(revision);
    ((u64::from(tail) + offset) % u64::from(pool.get())) as u32
}
