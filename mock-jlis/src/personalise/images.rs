//! Placeholder images of the right format and size for the card-face files.
//!
//! There is no font here: digits are drawn with a 5×7 bitmap font (so the security code and
//! my-number images are legible), every other character is a block of pixels derived from its
//! SHA-256. The photograph is a valid JPEG 2000 file that decodes to a uniform grey square.

use sha2::{Digest, Sha256};

/// 氏名 image: two lines of 16 cells of 16×16 pixels.
pub(crate) const NAME_SIZE: (u32, u32) = (256, 32);
/// 住所 image: four lines of 32 cells.
pub(crate) const ADDRESS_SIZE: (u32, u32) = (512, 64);
/// セキュリティコード image, as measured on a real card.
pub(crate) const SECURITY_CODE_SIZE: (u32, u32) = (24, 12);
/// 個人番号 image, as measured on a real card.
pub(crate) const MY_NUMBER_SIZE: (u32, u32) = (72, 12);
/// Declared size of the placeholder photograph.
pub(crate) const PHOTO_SIZE: (u32, u32) = (96, 128);

/// Rows of a 5×7 digit font, most significant of the low 5 bits = leftmost pixel.
const DIGITS: [[u8; 7]; 10] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
];

/// A 1-bit greyscale PNG of `text` in 16×16 cells, left to right, top to bottom; characters
/// beyond the last cell are dropped.
pub(crate) fn text_png(
    (width, height): (u32, u32),
    text: &str,
) -> Result<Vec<u8>, png::EncodingError> {
    let cols = (width / 16) as usize;
    let glyphs: Vec<Glyph> = text.chars().map(Glyph::of).collect();
    png_1bit(width, height, |x, y| {
        let (col, row) = ((x / 16) as usize, (y / 16) as usize);
        let Some(glyph) = glyphs.get(row * cols + col) else {
            return false;
        };
        let (gx, gy) = (x % 16, y % 16);
        match glyph {
            Glyph::Blank => false,
            // The 5×7 digit doubled to 10×14, centred.
            Glyph::Digit(d) => {
                (3..13).contains(&gx)
                    && (1..15).contains(&gy)
                    && digit_ink(*d, (gx - 3) / 2, (gy - 1) / 2)
            }
            // 14×14 pattern bits inside a 1-pixel margin.
            Glyph::Pattern(bits) => {
                (1..15).contains(&gx) && (1..15).contains(&gy) && {
                    let i = ((gy - 1) * 14 + (gx - 1)) as usize;
                    bits[i / 8] >> (7 - i % 8) & 1 == 1
                }
            }
        }
    })
}

/// A 1-bit greyscale PNG of ASCII digits in 6×12 cells (the security code and my-number images).
pub(crate) fn digits_png(
    (width, height): (u32, u32),
    digits: &str,
) -> Result<Vec<u8>, png::EncodingError> {
    let values: Vec<Option<u8>> = digits
        .chars()
        .map(|c| c.to_digit(10).map(|d| d as u8))
        .collect();
    png_1bit(width, height, |x, y| {
        let (cell, gx, gy) = ((x / 6) as usize, x % 6, y % 12);
        match values.get(cell) {
            Some(Some(d)) if y < 12 && gx < 5 && (2..9).contains(&gy) => digit_ink(*d, gx, gy - 2),
            _ => false,
        }
    })
}

/// The smallest JP2 file a decoder accepts: signature, file type and header boxes, and a
/// codestream with one tile, no wavelet levels and one empty packet, so every pixel decodes to
/// the mid-grey of an 8-bit greyscale image.
pub(crate) fn jp2_placeholder((width, height): (u32, u32)) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&1u16.to_be_bytes()); // one component
    ihdr.extend_from_slice(&[7, 7, 0, 0]); // 8-bit unsigned, wavelet coded, colourspace known, no IPR
    let colr = [1, 0, 0, 0, 0, 0, 17]; // enumerated colourspace 17: greyscale
    let jp2h = [jp2_box(b"ihdr", &ihdr), jp2_box(b"colr", &colr)].concat();

    let mut cs = vec![0xFF, 0x4F]; // SOC
    cs.extend_from_slice(&[0xFF, 0x51, 0x00, 0x29, 0x00, 0x00]); // SIZ, Lsiz 41, Rsiz 0
    for value in [width, height, 0, 0, width, height, 0, 0] {
        cs.extend_from_slice(&value.to_be_bytes()); // image and tile size and offsets
    }
    cs.extend_from_slice(&[0x00, 0x01, 0x07, 0x01, 0x01]); // one component: 8-bit, no subsampling
                                                           // COD: LRCP, 1 layer, no MCT; 0 decomposition levels, 64×64 code-blocks, style 0, 5-3 reversible.
    cs.extend_from_slice(&[
        0xFF, 0x52, 0x00, 0x0C, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x04, 0x04, 0x00, 0x01,
    ]);
    // QCD: no quantisation, 2 guard bits, exponent 8 for the one LL band.
    cs.extend_from_slice(&[0xFF, 0x5C, 0x00, 0x04, 0x40, 0x40]);
    // SOT: tile 0, Psot = 12 (SOT) + 2 (SOD) + 1 (packet), part 0 of 1.
    cs.extend_from_slice(&[
        0xFF, 0x90, 0x00, 0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0F, 0x00, 0x01,
    ]);
    cs.extend_from_slice(&[0xFF, 0x93, 0x00]); // SOD, then the empty packet's header bit
    cs.extend_from_slice(&[0xFF, 0xD9]); // EOC

    [
        jp2_box(b"jP  ", &[0x0D, 0x0A, 0x87, 0x0A]),
        jp2_box(b"ftyp", b"jp2 \x00\x00\x00\x00jp2 "),
        jp2_box(b"jp2h", &jp2h),
        jp2_box(b"jp2c", &cs),
    ]
    .concat()
}

enum Glyph {
    Blank,
    Digit(u8),
    Pattern([u8; 32]),
}

impl Glyph {
    fn of(c: char) -> Glyph {
        if c.is_whitespace() {
            return Glyph::Blank;
        }
        // ASCII and full-width digits (U+FF10..U+FF19).
        let digit = c.to_digit(10).or_else(|| {
            let v = u32::from(c).wrapping_sub(0xFF10);
            (v < 10).then_some(v)
        });
        match digit {
            Some(d) => Glyph::Digit(d as u8),
            None => {
                let mut buf = [0u8; 4];
                Glyph::Pattern(Sha256::digest(c.encode_utf8(&mut buf).as_bytes()).into())
            }
        }
    }
}

fn digit_ink(digit: u8, x: u32, y: u32) -> bool {
    let row = DIGITS[usize::from(digit % 10)][(y as usize).min(6)];
    x < 5 && row >> (4 - x) & 1 == 1
}

/// Encodes a 1-bit greyscale image; `ink(x, y)` true is black (sample 0).
fn png_1bit(
    width: u32,
    height: u32,
    ink: impl Fn(u32, u32) -> bool,
) -> Result<Vec<u8>, png::EncodingError> {
    let stride = width.div_ceil(8) as usize;
    let mut rows = vec![0xFFu8; stride * height as usize];
    for y in 0..height {
        for x in 0..width {
            if ink(x, y) {
                rows[y as usize * stride + (x / 8) as usize] &= !(0x80 >> (x % 8));
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&rows)?;
    writer.finish()?;
    Ok(out)
}

fn jp2_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(kind);
    b.extend_from_slice(content);
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png_bytes: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        decoder.set_transformations(png::Transformations::IDENTITY);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info, buf)
    }

    #[test]
    fn images_are_1_bit_greyscale_of_the_stated_size() {
        for (size, bytes) in [
            (
                SECURITY_CODE_SIZE,
                digits_png(SECURITY_CODE_SIZE, "2285").unwrap(),
            ),
            (
                MY_NUMBER_SIZE,
                digits_png(MY_NUMBER_SIZE, "111111111118").unwrap(),
            ),
            (NAME_SIZE, text_png(NAME_SIZE, "黒桐　幹也").unwrap()),
            (
                ADDRESS_SIZE,
                text_png(ADDRESS_SIZE, "東京都清瀬市松山１丁目２番３号").unwrap(),
            ),
        ] {
            let (info, _) = decode(&bytes);
            assert_eq!((info.width, info.height), size);
            assert_eq!(info.color_type, png::ColorType::Grayscale);
            assert_eq!(info.bit_depth, png::BitDepth::One);
        }
    }

    #[test]
    fn digits_are_drawn_with_the_font() {
        let (info, buf) = decode(&digits_png((6, 12), "1").unwrap());
        assert_eq!(info.line_size, 1);
        // Rows 0-1 are blank; row 2 is the top row of "1" (00100): only x = 2 is black (0).
        // The two bits past the 6-pixel width are padding.
        assert_eq!(buf[0], 0xFF);
        assert_eq!(buf[2], 0b1101_1111);
    }

    #[test]
    fn jp2_placeholder_is_a_well_formed_box_sequence() {
        let jp2 = jp2_placeholder(PHOTO_SIZE);
        assert!(jp2.starts_with(&[
            0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A
        ]));
        let mut at = 0;
        let mut kinds = Vec::new();
        while at < jp2.len() {
            let len = u32::from_be_bytes(jp2[at..at + 4].try_into().unwrap()) as usize;
            kinds.push(String::from_utf8_lossy(&jp2[at + 4..at + 8]).into_owned());
            at += len;
        }
        assert_eq!(at, jp2.len());
        assert_eq!(kinds, ["jP  ", "ftyp", "jp2h", "jp2c"]);
        // The codestream runs SOC .. EOC, and Psot counts from SOT to the end of the tile data.
        let cs_at = jp2.windows(4).position(|w| w == b"jp2c").unwrap() + 4;
        let cs = &jp2[cs_at..];
        assert_eq!(&cs[..2], &[0xFF, 0x4F]);
        assert_eq!(&cs[cs.len() - 2..], &[0xFF, 0xD9]);
        let sot = cs.windows(2).position(|w| w == [0xFF, 0x90]).unwrap();
        let psot = u32::from_be_bytes(cs[sot + 6..sot + 10].try_into().unwrap()) as usize;
        assert_eq!(sot + psot, cs.len() - 2);
    }
}
