//! The command APDU parser (ISO/IEC 7816-4 short and extended cases): any bytes parse or are
//! refused, and what parses encodes back to the same bytes' meaning.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim_card::Apdu;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(apdu) = Apdu::parse(bytes) {
        // What parses re-encodes to a command that parses to the same APDU.
        let again = Apdu::parse(&apdu.encode()).expect("an encoded APDU parses");
        assert_eq!(again, apdu);
    }
});
