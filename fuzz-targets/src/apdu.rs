//! The command APDU parser (ISO/IEC 7816-4 short and extended cases): any bytes parse or are
//! refused, and what parses encodes back to the same bytes' meaning.

use sim_card::Apdu;

/// One input.
pub fn run(bytes: &[u8]) {
    if let Ok(apdu) = Apdu::parse(bytes) {
        // What parses re-encodes to a command that parses to the same APDU.
        let again = Apdu::parse(&apdu.encode()).expect("an encoded APDU parses");
        assert_eq!(again, apdu);
    }
}
