//! The DigestInfo the card signs (PKCS#1 v1.5, RFC 8017 §9.2): the hash of the data behind its
//! algorithm's DER prefix, since `80 2A 00 80` pads whatever it is given.

use aws_lc_rs::digest;

use sim_card::layout::digest_info;
use vocab::HashAlgorithm;

/// DER `DigestInfo { algorithm, OCTET STRING hash }` of `data`.
pub fn digest_info(hash: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    let (prefix, algorithm): (&[u8], _) = match hash {
        HashAlgorithm::Sha1 => (&digest_info::SHA1, &digest::SHA1_FOR_LEGACY_USE_ONLY),
        HashAlgorithm::Sha256 => (&digest_info::SHA256, &digest::SHA256),
        HashAlgorithm::Sha384 => (&digest_info::SHA384, &digest::SHA384),
        HashAlgorithm::Sha512 => (&digest_info::SHA512, &digest::SHA512),
    };
    [prefix, digest::digest(algorithm, data).as_ref()].concat()
}

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
