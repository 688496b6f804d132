//! Reading the BER-TLV files of the card: how long a file is from its first bytes, and the
//! fields of the text AP's basic-4-info and my-number files (docs/card-protocol.md §7.3, §7.4).

use vocab::CardBasicInfo;

/// Why card data did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Fewer bytes than the tag and length fields need.
    #[error("the TLV header is cut short")]
    Truncated,
    /// The length field claims more bytes than the file holds.
    #[error("a length of {0} bytes does not fit the file")]
    TooLong(usize),
    /// A field the file must have is absent.
    #[error("tag {tag} is missing")]
    Missing {
        /// The missing tag, `DF22` for instance.
        tag: &'static str,
    },
    /// A text field is not valid UTF-8.
    #[error("tag {tag} is not UTF-8")]
    NotText {
        /// The field's tag.
        tag: &'static str,
    },
}

/// The total size (header and value) of the TLV that starts `head`, which must hold its tag and
/// length bytes (at most 6 bytes suffice for what the card stores).
pub fn tlv_size(head: &[u8]) -> Result<usize, ParseError> {
    let (header, len) = header(head)?;
    Ok(header + len)
}

/// The basic-4-info file: `FF 20 { DF21 offsets, DF22 name, DF23 address, DF24 birth date,
/// DF25 sex }`.
pub fn basic_info(file: &[u8]) -> Result<CardBasicInfo, ParseError> {
    let fields = inner(file)?;
    let text = |tag: [u8; 2], name: &'static str| -> Result<String, ParseError> {
        let value = find(fields, tag).ok_or(ParseError::Missing { tag: name })?;
        String::from_utf8(value.to_vec()).map_err(|_| ParseError::NotText { tag: name })
    };
    Ok(CardBasicInfo {
        name: text([0xDF, 0x22], "DF22")?,
        address: text([0xDF, 0x23], "DF23")?,
        birth_date: text([0xDF, 0x24], "DF24")?,
        sex: text([0xDF, 0x25], "DF25")?,
    })
}

/// The my-number file: `FF 10 0C` and 12 ASCII digits.
pub fn my_number(file: &[u8]) -> Result<String, ParseError> {
    let value = inner(file)?;
    String::from_utf8(value.to_vec()).map_err(|_| ParseError::NotText { tag: "FF10" })
}

/// The value of the field `tag` (2 bytes) inside the outer TLV of `file` (`FF 20 { ... }`).
pub fn field(file: &[u8], tag: [u8; 2]) -> Option<&[u8]> {
    find(inner(file).ok()?, tag)
}

/// The value of the outer TLV of `file`.
fn inner(file: &[u8]) -> Result<&[u8], ParseError> {
    let (header, len) = header(file)?;
    file.get(header..header + len)
        .ok_or(ParseError::TooLong(len))
}

/// The first TLV with a 2-byte `tag` among the TLVs of `data`.
fn find(mut data: &[u8], tag: [u8; 2]) -> Option<&[u8]> {
    while !data.is_empty() {
        let (header, len) = header(data).ok()?;
        let value = data.get(header..header + len)?;
        if data.starts_with(&tag) {
            return Some(value);
        }
        data = &data[header + len..];
    }
    None
}

/// Header size and value length of the TLV at the start of `data`.
fn header(data: &[u8]) -> Result<(usize, usize), ParseError> {
    let first = *data.first().ok_or(ParseError::Truncated)?;
    let mut at = 1;
    if first & 0x1F == 0x1F {
        loop {
            let byte = *data.get(at).ok_or(ParseError::Truncated)?;
            at += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    let first_len = *data.get(at).ok_or(ParseError::Truncated)?;
    at += 1;
    let len = match first_len {
        0x00..=0x7F => usize::from(first_len),
        0x81 => {
            let len = *data.get(at).ok_or(ParseError::Truncated)?;
            at += 1;
            usize::from(len)
        }
        0x82 => {
            let bytes = data.get(at..at + 2).ok_or(ParseError::Truncated)?;
            at += 2;
            usize::from(bytes[0]) << 8 | usize::from(bytes[1])
        }
        _ => return Err(ParseError::TooLong(usize::MAX)),
    };
    Ok((at, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_count_multi_byte_tags_and_long_lengths() {
        assert_eq!(tlv_size(&[0x30, 0x82, 0x04, 0x0D]), Ok(0x040D + 4));
        assert_eq!(tlv_size(&[0xFF, 0x20, 0x81, 0x90]), Ok(0x90 + 4));
        assert_eq!(tlv_size(&[0xFF, 0x10, 0x0C]), Ok(15));
        assert_eq!(tlv_size(&[0xFF]), Err(ParseError::Truncated));
    }

    #[test]
    fn basic_info_reads_the_four_fields_after_the_offset_table() {
        let fields = [
            &[0xDF, 0x21, 0x02, 0x00, 0x00][..],
            &[0xDF, 0x22, 0x03],
            "山田".as_bytes().get(..3).unwrap_or_default(),
            &[0xDF, 0x23, 0x01, b'A'],
            &[0xDF, 0x24, 0x08],
            b"19800101",
            &[0xDF, 0x25, 0x01, b'1'],
        ]
        .concat();
        let file = [&[0xFF, 0x20, fields.len() as u8][..], &fields, &[0xFF; 8]].concat();
        let info = basic_info(&file).unwrap();
        assert_eq!(info.name, "山");
        assert_eq!(info.address, "A");
        assert_eq!(info.birth_date, "19800101");
        assert_eq!(info.sex, "1");
    }

    #[test]
    fn my_number_is_the_digits_of_ff10() {
        let file = [&[0xFF, 0x10, 0x0C][..], b"123456789018", &[0xFF, 0xFF]].concat();
        assert_eq!(my_number(&file).unwrap(), "123456789018");
    }
}
