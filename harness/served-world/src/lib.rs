//! A world served for a run: the mock-jlis world behind one HTTP listener on loopback (or the
//! address `jpki-sim up` is given), every exchange observable, and the view a system under test
//! gets of it — its URLs, its trust anchors and its holders' PINs.

mod body_deadline;
mod browsers;
mod connections;
pub mod environment;
pub mod limits;
mod panics;
pub mod pins;
pub mod server;
mod state_lock;

pub use environment::{adapter_environment, pf_environment, DEFAULT_START};
pub use limits::{raise_open_file_limit, Limits, OpenFiles};
pub use pins::correct_pin;
pub use server::{
    default_key_cache, open_key_cache, serve_exposed, serve_on_loopback, Bound, Exposure,
    ExposureError, HttpExchange, HttpObserver, LoopbackError, Server, ServerError, StateConfig,
};
pub use state_lock::{StateLock, StateLockError};
