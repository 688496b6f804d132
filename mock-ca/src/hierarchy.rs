//! The two JPKI hierarchies and their self-signed roots: one certificate authority per
//! hierarchy and CA generation, with a key and certificate derived from the generation alone.

use std::fmt;

use rcgen::{CertificateParams, Issuer, KeyIdMethod, KeyPair, SerialNumber};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::holder::Holder;
use crate::issuance::{IssuanceRequest, IssuedCertificate};
use crate::keys::{pem_encode, signing_key, CaKeyRole, KeyMaterial, KeySeed, SubjectKey};
use crate::names::{self, Name};
use crate::profile::{self, IssuerInfo, ProfileOptions};
use crate::serial::Serial;
use crate::url::BaseUrl;
use crate::validity::{ca_validity, end_entity_not_after};

/// One of the two separate JPKI hierarchies; each issues one certificate per card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Hierarchy {
    /// 署名用: digital-signature certificates (carry the basic 4 info).
    Sign,
    /// 利用者証明用: user-authentication certificates (no personal data).
    Auth,
}

impl Hierarchy {
    /// Both hierarchies, signature first.
    pub const ALL: [Hierarchy; 2] = [Hierarchy::Sign, Hierarchy::Auth];

    /// The other JPKI hierarchy: the CA whose certificates, CRLs and responders must never be
    /// taken for this one's.
    pub fn other(self) -> Hierarchy {
        match self {
            Hierarchy::Sign => Hierarchy::Auth,
            Hierarchy::Auth => Hierarchy::Sign,
        }
    }

    /// `sign` / `auth`: used in URLs (`/crl/sign.crl`) and in derivation inputs.
    pub fn tag(self) -> &'static str {
        match self {
            Hierarchy::Sign => "sign",
            Hierarchy::Auth => "auth",
        }
    }

    /// The hierarchy `OU` of the CA name, as in the real roots.
    pub fn unit(self) -> &'static str {
        match self {
            Hierarchy::Sign => "JPKI for digital signature",
            Hierarchy::Auth => "JPKI for user authentication",
        }
    }

    /// The hierarchy `OU` of the Japanese alternative name, as in the real roots.
    pub fn unit_ja(self) -> &'static str {
        match self {
            Hierarchy::Sign => "公的個人認証サービス署名用",
            Hierarchy::Auth => "公的個人認証サービス利用者証明用",
        }
    }
}

impl fmt::Display for Hierarchy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// What a CA certificate's keyUsage lets its key sign. JPKI CAs sign certificates and their own
/// CRLs; a CA certified for certificates only may not sign CRLs (RFC 5280 §4.2.1.3,
/// §6.3.3 (f)), so a verifier must not believe a CRL it signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum CaKeyUsage {
    /// keyCertSign and cRLSign, as the JPKI CAs have.
    #[default]
    CertAndCrlSign,
    /// keyCertSign only: the CA's CRLs are signed by a key not allowed to sign them.
    CertSignOnly,
}

/// A root CA of one hierarchy and generation: its key, its self-signed certificate (profile
/// docs/card-protocol.md §8.1) and the end-entity profile it issues (§8.2 or §8.3).
pub struct CertificateAuthority {
    info: IssuerInfo,
    generation: u32,
    options: ProfileOptions,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    certificate_der: Vec<u8>,
    issuer: Issuer<'static, KeyPair>,
}

impl CertificateAuthority {
    /// Derives the CA key of `generation` (from 1) and builds the root certificate, whose
    /// CRL distribution point names `{base_url}/crl/{sign|auth}.crl`.
    pub fn new(hierarchy: Hierarchy, generation: u32, base_url: &str) -> Result<Self> {
        // Fail on a bad generation or URL before spending ~120 ms on key generation.
        ca_validity(generation)?;
        BaseUrl::parse(base_url)?;
        let key = KeySeed::for_authority(generation, CaKeyRole::root_of(hierarchy)).derive_key()?;
        Self::from_key(hierarchy, generation, base_url, &key)
    }

    /// As [`CertificateAuthority::new`] with a key from a cache (or any RSA key).
    pub fn from_key(
        hierarchy: Hierarchy,
        generation: u32,
        base_url: &str,
        key: &KeyMaterial,
    ) -> Result<Self> {
        Self::from_key_with(hierarchy, generation, base_url, key, CaKeyUsage::default())
    }

    /// As [`CertificateAuthority::from_key`], with the CA certificate's keyUsage `usage`.
    pub fn from_key_with(
        hierarchy: Hierarchy,
        generation: u32,
        base_url: &str,
        key: &KeyMaterial,
        usage: CaKeyUsage,
    ) -> Result<Self> {
        let (not_before, not_after) = ca_validity(generation)?;
        let base_url = BaseUrl::parse(base_url)?;
        let signer = signing_key(key.pkcs8_der(), CaKeyRole::root_of(hierarchy).tag())?;
        let key_id = SubjectKey::from_spki_der(key.spki_der())?.key_id();
        let name = names::ca_name(hierarchy);
        let serial = Serial::for_authority(hierarchy, generation);

        let mut params = CertificateParams::default();
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(serial.as_bytes()));
        params.distinguished_name = name.to_rcgen()?;
        // Kept in the issuer so rcgen-made AKIs agree with our SHA-1 SKI.
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
        params.custom_extensions =
            profile::ca_extensions(hierarchy, &name, &key_id, &base_url, usage);
        let certificate = params
            .self_signed(&signer)
            .map_err(|source| Error::Certificate {
                profile: "CA",
                source,
            })?;

        Ok(CertificateAuthority {
            info: IssuerInfo {
                hierarchy,
                name,
                key_id,
                serial,
                base_url,
            },
            generation,
            options: ProfileOptions::default(),
            not_before,
            not_after,
            certificate_der: certificate.der().to_vec(),
            issuer: Issuer::new(params, signer),
        })
    }

    /// Replaces the end-entity profile options (see [`ProfileOptions`]).
    pub fn with_options(mut self, options: ProfileOptions) -> Self {
        self.options = options;
        self
    }

    /// Which hierarchy the CA roots; it picks the end-entity profile.
    pub fn hierarchy(&self) -> Hierarchy {
        self.info.hierarchy
    }

    /// The CA generation (from 1) the key, serial and validity were derived from.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The end-entity profile options in force.
    pub fn options(&self) -> &ProfileOptions {
        &self.options
    }

    /// The root certificate's serial number, fixed by hierarchy and generation.
    pub fn serial(&self) -> &Serial {
        &self.info.serial
    }

    /// The root's notBefore: 00:00:00Z on 16 July of its generation's year.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }

    /// The root's notAfter: ten years on, minus a day, at 14:59:59Z (23:59:59 JST). Nothing is
    /// issued at or after it.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The subjectKeyIdentifier (SHA-1 of the public key bits), also the AKI of what it issues.
    pub fn key_identifier(&self) -> &[u8] {
        &self.info.key_id
    }

    /// The CA's `Name` DER, e.g. the issuer field of its CRLs.
    pub fn name_der(&self) -> Vec<u8> {
        self.info.name.to_der()
    }

    /// The CA's name as text, `C=JP, O=JPKI-SIM, OU=…, OU=…`.
    pub fn name_text(&self) -> String {
        self.info.name.to_string()
    }

    /// The world's base URL the CA's CRL distribution points, OCSP and CPS URLs are built on.
    pub fn base_url(&self) -> &BaseUrl {
        &self.info.base_url
    }

    /// The self-signed root certificate, DER, as the card's CA EFs (`0002`, `000B`) hold it.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The root certificate as PEM: the trust anchor a PF is given.
    pub fn certificate_pem(&self) -> String {
        pem_encode("CERTIFICATE", &self.certificate_der)
    }

    /// rcgen's issuer (name + aws-lc-rs signing key), for CRLs and OCSP signing. rcgen CRL
    /// parameters carry their own key-identifier method: use
    /// `KeyIdMethod::PreSpecified(ca.key_identifier().to_vec())` so the CRL's AKI matches.
    pub fn signer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }

    /// Issues this hierarchy's end-entity certificate: §8.2 for [`Hierarchy::Auth`], §8.3 for
    /// [`Hierarchy::Sign`]. Same request, same bytes.
    pub fn issue(&self, request: &IssuanceRequest) -> Result<IssuedCertificate> {
        let holder = &request.holder;
        holder.check()?;
        let not_before = whole_seconds_utc(request.issued_at);
        if not_before < self.not_before || not_before >= self.not_after {
            return Err(Error::OutsideCaValidity {
                issued_at: request.issued_at,
                ca_not_before: self.not_before,
                ca_not_after: self.not_after,
            });
        }
        let not_after = match request.not_after {
            Some(explicit) => whole_seconds_utc(explicit),
            None => end_entity_not_after(holder.birth_date, not_before, request.card_expires_on)?,
        };
        if not_after <= not_before {
            return Err(Error::EmptyValidity {
                not_before,
                not_after,
            });
        }
        let subject_key = SubjectKey::from_spki_der(&request.subject_public_key)?;
        let subject_key_id = subject_key.key_id();
        let (profile_name, subject, extensions) =
            self.end_entity_profile(holder, &subject_key_id)?;

        let mut params = CertificateParams::default();
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(SerialNumber::from_slice(request.serial.as_bytes()));
        params.distinguished_name = subject.to_rcgen()?;
        params.custom_extensions = extensions;
        let certificate = params
            .signed_by(&subject_key, &self.issuer)
            .map_err(|source| Error::Certificate {
                profile: profile_name,
                source,
            })?;
        Ok(IssuedCertificate {
            der: certificate.der().to_vec(),
            serial: request.serial.clone(),
            not_before,
            not_after,
        })
    }

    fn end_entity_profile(
        &self,
        holder: &Holder,
        subject_key_id: &[u8],
    ) -> Result<(&'static str, Name, Vec<rcgen::CustomExtension>)> {
        Ok(match self.info.hierarchy {
            Hierarchy::Auth => (
                "user-authentication",
                names::auth_subject(holder.auth_cn.as_str()),
                profile::auth_extensions(&self.info, holder, subject_key_id),
            ),
            Hierarchy::Sign => (
                "digital-signature",
                names::sign_subject(
                    &holder.prefecture_romaji,
                    &holder.municipality_romaji,
                    holder.sign_cn.as_str(),
                ),
                profile::sign_extensions(&self.info, holder, subject_key_id, &self.options)?,
            ),
        })
    }
}

impl fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("hierarchy", &self.info.hierarchy)
            .field("generation", &self.generation)
            .field("serial", &self.info.serial)
            .field("name", &self.info.name.to_string())
            .field("base_url", &self.info.base_url.as_str())
            .finish_non_exhaustive()
    }
}

/// Both hierarchies' CAs of one generation: the simulated J-LIS issuing side.
#[derive(Debug)]
pub struct MockCa {
    /// The 署名用 CA: issues the signature certificates.
    pub sign: CertificateAuthority,
    /// The 利用者証明用 CA: issues the user-authentication certificates.
    pub auth: CertificateAuthority,
}

impl MockCa {
    /// Builds both CAs, deriving the two keys in parallel.
    pub fn new(generation: u32, base_url: &str) -> Result<Self> {
        let (sign, auth) = std::thread::scope(|scope| {
            let sign =
                scope.spawn(|| CertificateAuthority::new(Hierarchy::Sign, generation, base_url));
            let auth = CertificateAuthority::new(Hierarchy::Auth, generation, base_url);
            // The closure returns a Result and does not panic on any input; a panic there is a
            // bug, so it is propagated rather than converted.
            let sign = sign
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (sign, auth)
        });
        Ok(MockCa {
            sign: sign?,
            auth: auth?,
        })
    }

    /// The CA of `hierarchy`.
    pub fn authority(&self, hierarchy: Hierarchy) -> &CertificateAuthority {
        match hierarchy {
            Hierarchy::Sign => &self.sign,
            Hierarchy::Auth => &self.auth,
        }
    }
}

/// Certificates carry whole seconds in UTC; normalising first keeps the reported validity
/// equal to the encoded one.
fn whole_seconds_utc(at: OffsetDateTime) -> OffsetDateTime {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc - time::Duration::nanoseconds(i64::from(utc.nanosecond()))
}
