//! Distinguished names of the simulated JPKI: the real DN *structure* (docs/card-protocol.md §8.1)
//! with organisation values that say "simulator", so that nothing this crate issues can be
//! mistaken for a J-LIS certificate (docs/jpki-pki.md §9).

use rcgen::{DistinguishedName, DnType, DnValue};

use crate::asn1;
use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;

/// `O` of every CA name and CRL partition name (the real value is `JPKI`).
pub const SIM_ORGANIZATION: &str = "JPKI-SIM";

/// The last `OU` of the CA names (the real value is
/// `Japan Agency for Local Authority Information Systems`).
pub const SIM_AGENCY_UNIT: &str = "jpki-sim simulator (not J-LIS)";

/// `O` of the Japanese alternative name (the real value is `公的個人認証サービス`).
pub const SIM_ORGANIZATION_JA: &str = "公的個人認証サービス（シミュレータ）";

/// The last `OU` of the Japanese alternative name (the real value is
/// `地方公共団体情報システム機構`).
pub const SIM_AGENCY_UNIT_JA: &str =
    "jpki-simシミュレータ（地方公共団体情報システム機構ではありません）";

/// `OU` naming the CRL partitions, as in the real certificates.
pub const CRL_DISTRIBUTION_POINTS_UNIT: &str = "CRL Distribution Points";

/// An attribute type used in JPKI names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attr {
    /// `C`, always a PrintableString.
    Country,
    /// `O`
    Organization,
    /// `OU`
    OrgUnit,
    /// `L`
    Locality,
    /// `CN`
    CommonName,
}

impl Attr {
    fn oid(self) -> &'static [u64] {
        match self {
            Attr::Country => &[2, 5, 4, 6],
            Attr::Organization => &[2, 5, 4, 10],
            Attr::OrgUnit => &[2, 5, 4, 11],
            Attr::Locality => &[2, 5, 4, 7],
            Attr::CommonName => &[2, 5, 4, 3],
        }
    }

    fn rcgen_type(self) -> DnType {
        match self {
            Attr::Country => DnType::CountryName,
            Attr::Organization => DnType::OrganizationName,
            Attr::OrgUnit => DnType::OrganizationalUnitName,
            Attr::Locality => DnType::LocalityName,
            Attr::CommonName => DnType::CommonName,
        }
    }
}

/// A distinguished name: one attribute per RDN, in order. `C` is encoded as PrintableString and
/// everything else as UTF8String, as in the real JPKI certificates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name(Vec<(Attr, String)>);

impl Name {
    pub(crate) fn new(attrs: Vec<(Attr, String)>) -> Self {
        Name(attrs)
    }

    /// The `Name` DER (a SEQUENCE of single-attribute RDNs).
    pub(crate) fn to_der(&self) -> Vec<u8> {
        let rdns: Vec<Vec<u8>> = self
            .0
            .iter()
            .map(|(attr, value)| {
                let value = match attr {
                    Attr::Country => asn1::printable_string(value),
                    _ => asn1::utf8_string(value),
                };
                asn1::set(&[asn1::sequence(&[asn1::oid(attr.oid()), value])])
            })
            .collect();
        asn1::sequence(&rdns)
    }

    /// The same name for rcgen's subject and issuer fields.
    ///
    /// rcgen keys attributes by type and would merge the two `OU`s (or two `L`s) of a JPKI
    /// name; the second occurrence is therefore passed as a custom type with the same OID,
    /// which rcgen encodes identically. A third occurrence is not representable; no subject or
    /// issuer name of this crate has one.
    pub(crate) fn to_rcgen(&self) -> Result<DistinguishedName> {
        let mut dn = DistinguishedName::new();
        let mut seen: Vec<Attr> = Vec::new();
        for (attr, value) in &self.0 {
            let repeats = seen.iter().filter(|a| *a == attr).count();
            let ty = match repeats {
                0 => attr.rcgen_type(),
                1 => DnType::CustomDnType(attr.oid().to_vec()),
                _ => {
                    return Err(Error::UnsupportedName {
                        name: self.to_string(),
                    })
                }
            };
            let value = match attr {
                Attr::Country => {
                    DnValue::PrintableString(value.as_str().try_into().map_err(|_| {
                        Error::UnsupportedName {
                            name: self.to_string(),
                        }
                    })?)
                }
                _ => DnValue::Utf8String(value.clone()),
            };
            dn.push(ty, value);
            seen.push(*attr);
        }
        Ok(dn)
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (attr, value)) in self.0.iter().enumerate() {
            let short = match attr {
                Attr::Country => "C",
                Attr::Organization => "O",
                Attr::OrgUnit => "OU",
                Attr::Locality => "L",
                Attr::CommonName => "CN",
            };
            write!(f, "{}{short}={value}", if i > 0 { ", " } else { "" })?;
        }
        Ok(())
    }
}

/// The CA's subject (= issuer): `C=JP, O=JPKI-SIM, OU=JPKI for …, OU=jpki-sim simulator (not J-LIS)`.
pub(crate) fn ca_name(hierarchy: Hierarchy) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::Organization, SIM_ORGANIZATION.into()),
        (Attr::OrgUnit, hierarchy.unit().into()),
        (Attr::OrgUnit, SIM_AGENCY_UNIT.into()),
    ])
}

/// The Japanese directory name of the CA, used in the CA's SubjectAltName and the end-entity
/// IssuerAltName: `C=JP, O=公的個人認証サービス（シミュレータ）, OU=公的個人認証サービス署名用|利用者証明用,
/// OU=<simulator agency>`.
pub(crate) fn ca_alt_name(hierarchy: Hierarchy) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::Organization, SIM_ORGANIZATION_JA.into()),
        (Attr::OrgUnit, hierarchy.unit_ja().into()),
        (Attr::OrgUnit, SIM_AGENCY_UNIT_JA.into()),
    ])
}

/// The per-municipality CRL partition: `C=JP, O=JPKI-SIM, OU=JPKI for …, OU=CRL Distribution
/// Points, OU=<prefecture>, CN=<city> CRLDP`.
pub(crate) fn crl_partition_name(hierarchy: Hierarchy, prefecture: &str, city: &str) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::Organization, SIM_ORGANIZATION.into()),
        (Attr::OrgUnit, hierarchy.unit().into()),
        (Attr::OrgUnit, CRL_DISTRIBUTION_POINTS_UNIT.into()),
        (Attr::OrgUnit, prefecture.into()),
        (Attr::CommonName, format!("{city} CRLDP")),
    ])
}

/// Auth certificate subject: `C=JP, CN=<id>`.
pub(crate) fn auth_subject(cn: &str) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::CommonName, cn.into()),
    ])
}

/// Sign certificate subject: `C=JP, L=<prefecture>, L=<city>, CN=<id>`.
pub(crate) fn sign_subject(prefecture: &str, city: &str, cn: &str) -> Name {
    Name::new(vec![
        (Attr::Country, "JP".into()),
        (Attr::Locality, prefecture.into()),
        (Attr::Locality, city.into()),
        (Attr::CommonName, cn.into()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_name_keeps_the_real_structure_with_simulator_values() {
        assert_eq!(
            ca_name(Hierarchy::Auth).to_string(),
            "C=JP, O=JPKI-SIM, OU=JPKI for user authentication, OU=jpki-sim simulator (not J-LIS)"
        );
        let der = hex::encode(ca_name(Hierarchy::Sign).to_der());
        // C=JP as PrintableString, O as UTF8String.
        assert!(der.contains("0603550406130" /* 2.5.4.6 PrintableString */));
        assert!(der.contains("060355040a0c084a504b492d53494d"));
    }

    #[test]
    fn rcgen_names_keep_repeated_attributes() {
        let dn = sign_subject("Tokyo-to", "Shibuya-ku", "X")
            .to_rcgen()
            .unwrap();
        assert_eq!(dn.iter().count(), 4);
        let partition = crl_partition_name(Hierarchy::Sign, "Tokyo-to", "Shibuya-ku");
        assert!(matches!(
            partition.to_rcgen(),
            Err(Error::UnsupportedName { .. })
        ));
    }
}
