//! The certificate profiles of docs/card-protocol.md §8: which extensions, in which order, with
//! which content. Every extension is encoded here and handed to rcgen as a custom extension,
//! because rcgen's own extensions cannot carry UTF8String directory names and would impose
//! rcgen's extension order rather than the real certificates' order.

use rcgen::CustomExtension;

use crate::asn1;
use crate::error::Result;
use crate::hierarchy::Hierarchy;
use crate::holder::{date_of_birth_text, Holder};
use crate::names::{self, Name};
use crate::oid;
use crate::serial::Serial;
use crate::url::BaseUrl;

/// Profile switches for what the public sources leave open (docs/card-protocol.md §12.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Put an AIA OCSP URL in signature certificates too. Default on: the simulator's OCSP
    /// responder answers for both hierarchies; the real sign certificate's AIA is unconfirmed.
    pub sign_ocsp: bool,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions { sign_ocsp: true }
    }
}

/// What an end-entity certificate says about its issuer.
#[derive(Debug, Clone)]
pub(crate) struct IssuerInfo {
    pub(crate) hierarchy: Hierarchy,
    pub(crate) name: Name,
    pub(crate) key_id: Vec<u8>,
    pub(crate) serial: Serial,
    pub(crate) base_url: BaseUrl,
}

/// KeyUsage bits (first octet of the named-bit list).
mod key_usage {
    pub(super) const DIGITAL_SIGNATURE: u8 = 0x80;
    pub(super) const NON_REPUDIATION: u8 = 0x40;
    pub(super) const KEY_CERT_SIGN: u8 = 0x04;
    pub(super) const CRL_SIGN: u8 = 0x02;
}

/// CA (§8.1): KU, SAN (Japanese dirName), BC, CRLDP, SKI.
pub(crate) fn ca_extensions(
    hierarchy: Hierarchy,
    ca_name: &Name,
    key_id: &[u8],
    base_url: &BaseUrl,
    usage: crate::hierarchy::CaKeyUsage,
) -> Vec<CustomExtension> {
    let key_usage = match usage {
        crate::hierarchy::CaKeyUsage::CertAndCrlSign => {
            key_usage::KEY_CERT_SIGN | key_usage::CRL_SIGN
        }
        crate::hierarchy::CaKeyUsage::CertSignOnly => key_usage::KEY_CERT_SIGN,
    };
    vec![
        ext(oid::KEY_USAGE, true, asn1::named_bits(&[key_usage])),
        ext(
            oid::SUBJECT_ALT_NAME,
            false,
            directory_names(&names::ca_alt_name(hierarchy)),
        ),
        ext(
            oid::BASIC_CONSTRAINTS,
            true,
            asn1::sequence(&[asn1::boolean(true)]),
        ),
        ext(
            oid::CRL_DISTRIBUTION_POINTS,
            false,
            crl_distribution_points(ca_name, &base_url.crl(hierarchy)),
        ),
        ext(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            asn1::octet_string(key_id),
        ),
    ]
}

/// User authentication (§8.2): KU, EKU, CP, IAN, CRLDP, AIA, AKI, SKI; no SAN.
pub(crate) fn auth_extensions(
    issuer: &IssuerInfo,
    holder: &Holder,
    subject_key_id: &[u8],
) -> Vec<CustomExtension> {
    vec![
        ext(
            oid::KEY_USAGE,
            true,
            asn1::named_bits(&[key_usage::DIGITAL_SIGNATURE]),
        ),
        ext(
            oid::EXT_KEY_USAGE,
            false,
            asn1::sequence(&[asn1::oid(oid::KP_CLIENT_AUTH)]),
        ),
        ext(
            oid::CERTIFICATE_POLICIES,
            true,
            certificate_policies(oid::POLICY_AUTH, &issuer.base_url.cps()),
        ),
        issuer_alt_name(issuer),
        partition_crl_distribution_points(issuer, holder),
        authority_info_access(&issuer.base_url.ocsp()),
        authority_key_identifier(issuer),
        ext(
            oid::SUBJECT_KEY_IDENTIFIER,
            false,
            asn1::octet_string(subject_key_id),
        ),
    ]
}

/// Digital signature (§8.3): KU, SAN (personal data), CP, IAN, CRLDP, [AIA], AKI, SKI.
pub(crate) fn sign_extensions(
    issuer: &IssuerInfo,
    holder: &Holder,
    subject_key_id: &[u8],
    options: &ProfileOptions,
) -> Result<Vec<CustomExtension>> {
    let mut extensions = vec![
        ext(
            oid::KEY_USAGE,
            true,
            asn1::named_bits(&[key_usage::DIGITAL_SIGNATURE | key_usage::NON_REPUDIATION]),
        ),
        ext(oid::SUBJECT_ALT_NAME, false, personal_data(holder)?),
        ext(
            oid::CERTIFICATE_POLICIES,
            true,
            certificate_policies(oid::POLICY_SIGN, &issuer.base_url.cps()),
        ),
        issuer_alt_name(issuer),
        partition_crl_distribution_points(issuer, holder),
    ];
    if options.sign_ocsp {
        extensions.push(authority_info_access(&issuer.base_url.ocsp()));
    }
    extensions.push(authority_key_identifier(issuer));
    extensions.push(ext(
        oid::SUBJECT_KEY_IDENTIFIER,
        false,
        asn1::octet_string(subject_key_id),
    ));
    Ok(extensions)
}

fn ext(oid: &[u64], critical: bool, value: Vec<u8>) -> CustomExtension {
    let mut extension = CustomExtension::from_oid_content(oid, value);
    extension.set_criticality(critical);
    extension
}

/// `GeneralNames` holding one `directoryName` (`[4]`, explicit because `Name` is a CHOICE).
fn directory_names(name: &Name) -> Vec<u8> {
    asn1::sequence(&[asn1::context_constructed(4, &name.to_der())])
}

fn issuer_alt_name(issuer: &IssuerInfo) -> CustomExtension {
    ext(
        oid::ISSUER_ALT_NAME,
        false,
        directory_names(&names::ca_alt_name(issuer.hierarchy)),
    )
}

/// Two distribution points: first the directoryName the real certificates carry, then the
/// simulator's HTTP URL of the full CRL. They are separate points because they name different
/// CRLs (a municipality partition and the full list); a `fullName` lists alternatives for one.
fn crl_distribution_points(directory: &Name, url: &str) -> Vec<u8> {
    let point = |general_name: Vec<u8>| {
        // DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } }
        asn1::sequence(&[asn1::context_constructed(
            0,
            &asn1::context_constructed(0, &general_name),
        )])
    };
    asn1::sequence(&[
        point(asn1::context_constructed(4, &directory.to_der())),
        point(asn1::context_primitive(6, url.as_bytes())),
    ])
}

fn partition_crl_distribution_points(issuer: &IssuerInfo, holder: &Holder) -> CustomExtension {
    let partition = names::crl_partition_name(
        issuer.hierarchy,
        &holder.prefecture_romaji,
        &holder.municipality_romaji,
    );
    ext(
        oid::CRL_DISTRIBUTION_POINTS,
        false,
        crl_distribution_points(&partition, &issuer.base_url.crl(issuer.hierarchy)),
    )
}

/// `certificatePolicies` with one policy and its CPS pointer qualifier.
fn certificate_policies(policy: &[u64], cps_url: &str) -> Vec<u8> {
    let qualifier = asn1::sequence(&[asn1::oid(oid::QT_CPS), asn1::ia5_string(cps_url)]);
    asn1::sequence(&[asn1::sequence(&[
        asn1::oid(policy),
        asn1::sequence(&[qualifier]),
    ])])
}

fn authority_info_access(ocsp_url: &str) -> CustomExtension {
    let access = asn1::sequence(&[
        asn1::oid(oid::AD_OCSP),
        asn1::context_primitive(6, ocsp_url.as_bytes()),
    ]);
    ext(oid::AUTHORITY_INFO_ACCESS, false, asn1::sequence(&[access]))
}

/// keyIdentifier `[0]` + authorityCertIssuer `[1]` (the CA's directoryName) +
/// authorityCertSerialNumber `[2]`, as the real certificates have.
fn authority_key_identifier(issuer: &IssuerInfo) -> CustomExtension {
    let issuer_names = asn1::context_constructed(4, &issuer.name.to_der());
    let value = asn1::sequence(&[
        asn1::context_primitive(0, &issuer.key_id),
        asn1::context_constructed(1, &issuer_names),
        asn1::context_primitive(2, &asn1::unsigned_integer_content(issuer.serial.as_bytes())),
    ]);
    ext(oid::AUTHORITY_KEY_IDENTIFIER, false, value)
}

/// The signature certificate's SubjectAltName: otherNames in card order .1, .4, .3, .5, .2, .6,
/// each `[0] { type-id, [0] EXPLICIT UTF8String }`.
fn personal_data(holder: &Holder) -> Result<Vec<u8>> {
    use oid::personal_data as pd;
    let sex = holder.sex.code().to_string();
    let date_of_birth = date_of_birth_text(holder.birth_date)?;
    let entries: [(&[u64], &str); 6] = [
        (pd::NAME, &holder.name),
        (pd::DATE_OF_BIRTH, &date_of_birth),
        (pd::GENDER, &sex),
        (pd::ADDRESS, &holder.address),
        (pd::NAME_SUBSTITUTE, holder.name_substitute_flags.as_str()),
        (
            pd::ADDRESS_SUBSTITUTE,
            holder.address_substitute_flags.as_str(),
        ),
    ];
    let other_names: Vec<Vec<u8>> = entries
        .iter()
        .map(|(type_id, value)| {
            let explicit_value = asn1::context_constructed(0, &asn1::utf8_string(value));
            let inner = [asn1::oid(type_id), explicit_value].concat();
            asn1::context_constructed(0, &inner)
        })
        .collect();
    Ok(asn1::sequence(&other_names))
}
