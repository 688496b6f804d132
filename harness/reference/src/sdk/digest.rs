//! The DigestInfo the card signs (PKCS#1 v1.5, RFC 8017 §9.2): the hash of the data behind its
//! algorithm's DER prefix, since `80 2A 00 80` pads whatever it is given.

use aws_lc_rs::digest;

use vocab::HashAlgorithm;

/// DER `DigestInfo { algorithm, OCTET STRING hash }` of `data`.
pub fn digest_info(hash: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    let (prefix, algorithm): (&[u8], _) = match hash {
        HashAlgorithm::Sha1 => (SHA1_PREFIX, &digest::SHA1_FOR_LEGACY_USE_ONLY),
        HashAlgorithm::Sha256 => (SHA256_PREFIX, &digest::SHA256),
        HashAlgorithm::Sha384 => (SHA384_PREFIX, &digest::SHA384),
        HashAlgorithm::Sha512 => (SHA512_PREFIX, &digest::SHA512),
    };
    [prefix, digest::digest(algorithm, data).as_ref()].concat()
}

const SHA1_PREFIX: &[u8] = &[
    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00, 0x04, 0x14,
];
const SHA256_PREFIX: &[u8] = &[
    0x30, 0x31, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
const SHA384_PREFIX: &[u8] = &[
    0x30, 0x41, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
const SHA512_PREFIX: &[u8] = &[
    0x30, 0x51, 0x30, 0x0D, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_digest_info_matches_the_card_crate_prefix() {
        let info = digest_info(HashAlgorithm::Sha256, b"abc");
        assert_eq!(info[..19], sim_card::key::SHA256_DIGEST_INFO_PREFIX);
        assert_eq!(info.len(), 19 + 32);
    }

    #[test]
    fn each_prefix_announces_its_digest_length() {
        for (hash, len) in [
            (HashAlgorithm::Sha1, 20),
            (HashAlgorithm::Sha256, 32),
            (HashAlgorithm::Sha384, 48),
            (HashAlgorithm::Sha512, 64),
        ] {
            let info = digest_info(hash, b"");
            assert_eq!(usize::from(info[1]) + 2, info.len());
            assert_eq!(usize::from(info[info.len() - len - 1]), len);
        }
    }
}
