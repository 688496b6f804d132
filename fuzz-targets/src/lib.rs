//! The fuzz targets' bodies: what each feeds the code under test and what must hold for any
//! input (fuzz/README.md). libFuzzer drives them from the cargo-fuzz crate in `fuzz/`, whose
//! binaries only call [`TARGETS`]' functions; the tests here replay every committed seed and
//! a fixed set of mutations of it through the same functions, so CI runs every target without
//! an instrumented build.

pub mod adapter_message;
pub mod admin_json;
pub mod apdu;
pub mod card_session;
pub mod ocsp_request;
pub mod pf_der;
pub mod scenario;

/// One fuzz target: its name (the cargo-fuzz binary and `seeds/NAME/`) and its body, which
/// panics when what must hold does not.
#[derive(Clone, Copy)]
pub struct Target {
    /// The libFuzzer binary's name, and the seeds' directory.
    pub name: &'static str,
    /// One input.
    pub run: fn(&[u8]),
}

/// Every target, in the order `scripts/fuzz` runs them.
pub const TARGETS: [Target; 7] = [
    Target {
        name: "apdu",
        run: apdu::run,
    },
    Target {
        name: "ocsp_request",
        run: ocsp_request::run,
    },
    Target {
        name: "adapter_message",
        run: adapter_message::run,
    },
    Target {
        name: "scenario",
        run: scenario::run,
    },
    Target {
        name: "card_session",
        run: card_session::run,
    },
    Target {
        name: "pf_der",
        run: pf_der::run,
    },
    Target {
        name: "admin_json",
        run: admin_json::run,
    },
];
