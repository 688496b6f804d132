//! Conformance scenarios: YAML files under `scenarios/<area>/<name>.yaml` (docs/contracts.md §6).
//!
//! A scenario names its cards, the features an adapter needs, and ordered steps: SDK and PF
//! operations with what they must return, and moves of the world (life events, the clock,
//! faults) and of cards. `scenarios/README.md` is the authors' guide; `scenarios/schema.json` is
//! generated from [`model`] by [`schema::render`].
//!
//! ```
//! use conformance::scenario::{parse, ScenarioId};
//! let yaml = "\
//! description: The authentication PIN reports its tries.
//! importance: high
//! cards: [{id: 'felica:0123456789ABCDEF'}]
//! steps:
//!   - sdk: {op: pin_status, pin: auth, expect: {retries_left: 3}}
//! ";
//! let id: ScenarioId = "card/pin_status".parse()?;
//! let loaded = parse(yaml, "card/pin_status.yaml".as_ref(), id).map_err(|e| e[0].to_string())?;
//! assert_eq!(loaded.scenario.steps.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod check;
pub mod id;
pub mod load;
pub mod locate;
pub mod model;
pub mod schema;

pub use check::Problem;
pub use id::{IdError, ScenarioId};
pub use load::{load_file, load_suite, parse, LoadError, LoadedScenario};
pub use locate::Position;
pub use model::*;
