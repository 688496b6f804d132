//! What a load run does: the operation, the system under test, how many cards and workers, and
//! when to stop. Values are parsed here, once, so the driver never sees raw flags.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use adapter_protocol::{AdapterSpec, AdapterSpecError};
use vocab::Role;
use vocab::{KeyKind, StatusChannel};

/// The operation every worker repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoadOp {
    /// PF: verify a signature and its certificate, and enrol the holder.
    #[serde(rename = "enrol")]
    Enrol,
    /// PF: check an enrolled certificate's status (現況確認).
    #[serde(rename = "status")]
    Status,
    /// PF: fetch the holder's latest basic 4 info (consent registered beforehand).
    #[serde(rename = "latest-info")]
    LatestInfo,
    /// SDK: the card signs a DigestInfo after its PIN.
    #[serde(rename = "sign")]
    Sign,
}

/// Who answers the operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SutSpec {
    /// The bundled reference PF, in process.
    RefPf,
    /// The bundled reference SDK over the in-process card.
    RefSdk,
    /// An adapter playing `role` (docs/adapter-protocol.md): `command` is run with `sh -c`,
    /// or, when it is an `http://` URL, is an HTTP adapter with a session per worker.
    Adapter {
        /// The role the adapter plays, from `pf=` or `sdk=`.
        role: Role,
        /// What follows `=`: a shell command, or an `http://` URL.
        command: String,
    },
}

/// When the measured phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// After this long (operations started before the end finish and count).
    #[serde(with = "seconds")]
    Duration(Duration),
    /// After this many operations in total, right or wrong.
    Ops(u64),
}

/// A load run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// The operation every worker repeats (`--op`).
    pub op: LoadOp,
    /// Who answers the operations (`--sut`); the bundled reference for the operation's role by
    /// default.
    pub sut: SutSpec,
    /// Whose certificate PF operations use, and which key `sign` uses.
    pub key: KeyKind,
    /// The channel of `status` checks.
    pub via: StatusChannel,
    /// Cards provisioned before the measured phase.
    pub cards: usize,
    /// Workers, each with its own PF, SDK or adapter process.
    pub concurrency: usize,
    /// When the measured phase ends: `--duration` or `--ops`.
    pub stop: Stop,
    /// Operations run, unrecorded, before the measured phase (connections, caches, JIT-less
    /// but cold adapters).
    pub warmup: Duration,
    /// Where derived RSA keys are cached across runs (`None`: derived every time).
    pub key_cache: Option<PathBuf>,
    /// Cards draw their key pairs from a pool of this many (default [`DEFAULT_KEY_POOL`]);
    /// `None` (`--distinct-keys`): every card its own, as in a real population.
    pub key_pool: Option<std::num::NonZeroU32>,
    /// How long an adapter may take to answer one request before it counts as broken.
    pub adapter_timeout: Duration,
}

/// Key pairs in the pool load cards draw from by default: few enough that a cold machine
/// generates them in seconds (two per slot), enough that a PF caching by key still sees many.
pub const DEFAULT_KEY_POOL: u32 = 16;

/// A combination of flags that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The operation is one role's and the SUT plays the other (`--op sign` against a PF, for
    /// instance).
    #[error("--op {op} is {op_role} operation, but --sut {sut} plays the {sut_role}")]
    WrongRole {
        /// The operation asked for.
        op: LoadOp,
        /// Its role, with its article: `a PF` or `an SDK`.
        op_role: &'static str,
        /// The `--sut` value.
        sut: String,
        /// The role the SUT plays: `PF` or `SDK`.
        sut_role: &'static str,
    },
    /// `--cards 0`.
    #[error("--cards must be at least 1")]
    NoCards,
    /// `--concurrency 0`.
    #[error("--concurrency must be at least 1")]
    NoWorkers,
    /// `--op latest-info` with `--key auth`: consent is signed with the signature key.
    #[error("--op latest-info needs the signature certificate (consent is signed with it); --key auth cannot be used")]
    LatestInfoNeedsSignKey,
    /// `--op sign` with more workers than cards: two workers would share a card, which answers one
    /// transaction at a time.
    #[error("--op sign with {concurrency} workers needs at least as many cards (got {cards}): a card answers one transaction at a time")]
    FewerCardsThanSigners {
        /// `--cards`.
        cards: usize,
        /// `--concurrency`.
        concurrency: usize,
    },
    /// `--ops 0`.
    #[error("--ops must be at least 1")]
    NoOps,
    /// `--duration 0`.
    #[error("--duration must be longer than zero")]
    NoDuration,
}

/// A `--sut` or `--op` value that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An unknown `--op`.
    #[error("{0:?} is not an operation: enrol, status, latest-info or sign")]
    Op(String),
    /// A `--sut` that is neither a reference nor `ROLE=COMMAND|URL`.
    #[error(
        "{0:?} is not a system under test: ref-pf, ref-sdk, pf=COMMAND|URL or sdk=COMMAND|URL"
    )]
    Sut(String),
    /// `pf=` or `sdk=` with nothing after it; the role's name.
    #[error("the adapter command after {0}= is empty")]
    EmptyCommand(&'static str),
    /// An unknown `--key`.
    #[error("{0:?} is not a key: sign or auth")]
    Key(String),
    /// An unknown `--via`.
    #[error("{0:?} is not a status channel: ocsp or crl")]
    Via(String),
}

impl LoadOp {
    /// Every operation, in the order help and reports list them.
    pub const ALL: [LoadOp; 4] = [
        LoadOp::Enrol,
        LoadOp::Status,
        LoadOp::LatestInfo,
        LoadOp::Sign,
    ];

    /// The name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            LoadOp::Enrol => "enrol",
            LoadOp::Status => "status",
            LoadOp::LatestInfo => "latest-info",
            LoadOp::Sign => "sign",
        }
    }

    /// The role that performs it.
    pub fn role(self) -> Role {
        match self {
            LoadOp::Sign => Role::Sdk,
            LoadOp::Enrol | LoadOp::Status | LoadOp::LatestInfo => Role::Pf,
        }
    }
}

impl fmt::Display for LoadOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LoadOp {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<LoadOp, ParseError> {
        LoadOp::ALL
            .into_iter()
            .find(|op| op.name() == text)
            .ok_or_else(|| ParseError::Op(text.to_owned()))
    }
}

impl SutSpec {
    /// The bundled reference for `op`'s role: the default `--sut`.
    pub fn reference_for(op: LoadOp) -> SutSpec {
        match op.role() {
            Role::Pf => SutSpec::RefPf,
            Role::Sdk => SutSpec::RefSdk,
        }
    }

    /// The role the SUT plays, which must be the operation's.
    pub fn role(&self) -> Role {
        match self {
            SutSpec::RefPf => Role::Pf,
            SutSpec::RefSdk => Role::Sdk,
            SutSpec::Adapter { role, .. } => *role,
        }
    }
}

impl fmt::Display for SutSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SutSpec::RefPf => f.write_str("ref-pf"),
            SutSpec::RefSdk => f.write_str("ref-sdk"),
            SutSpec::Adapter { role, command } => write!(f, "{}={command}", role.name()),
        }
    }
}

impl FromStr for SutSpec {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<SutSpec, ParseError> {
        match text.trim() {
            "ref-pf" => return Ok(SutSpec::RefPf),
            "ref-sdk" => return Ok(SutSpec::RefSdk),
            _ => {}
        }
        match text.parse::<AdapterSpec>() {
            Ok(AdapterSpec { role, target }) => Ok(SutSpec::Adapter {
                role,
                command: target,
            }),
            Err(AdapterSpecError::EmptyTarget(role)) => Err(ParseError::EmptyCommand(role.name())),
            Err(_) => Err(ParseError::Sut(text.to_owned())),
        }
    }
}

impl LoadConfig {
    /// `op` against `sut` with the defaults of the command line: 10 cards, a worker per core,
    /// 10 s after a 1 s warm-up, the signature key, OCSP, the per-user key cache.
    pub fn new(op: LoadOp, sut: SutSpec) -> LoadConfig {
        LoadConfig {
            op,
            sut,
            key: KeyKind::Sign,
            via: StatusChannel::Ocsp,
            cards: 10,
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
            stop: Stop::Duration(Duration::from_secs(10)),
            warmup: Duration::from_secs(1),
            key_cache: served_world::default_key_cache(),
            key_pool: std::num::NonZeroU32::new(DEFAULT_KEY_POOL),
            adapter_timeout: Duration::from_secs(20),
        }
    }

    /// Checks that the combination can run.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.op.role() != self.sut.role() {
            return Err(ConfigError::WrongRole {
                op: self.op,
                op_role: match self.op.role() {
                    Role::Pf => "a PF",
                    Role::Sdk => "an SDK",
                },
                sut: self.sut.to_string(),
                sut_role: role_label(self.sut.role()),
            });
        }
        if self.cards == 0 {
            return Err(ConfigError::NoCards);
        }
        if self.concurrency == 0 {
            return Err(ConfigError::NoWorkers);
        }
        if self.op == LoadOp::LatestInfo && self.key != KeyKind::Sign {
            return Err(ConfigError::LatestInfoNeedsSignKey);
        }
        if self.op == LoadOp::Sign && self.cards < self.concurrency {
            return Err(ConfigError::FewerCardsThanSigners {
                cards: self.cards,
                concurrency: self.concurrency,
            });
        }
        match self.stop {
            Stop::Ops(0) => Err(ConfigError::NoOps),
            Stop::Duration(d) if d.is_zero() => Err(ConfigError::NoDuration),
            _ => Ok(()),
        }
    }

    /// The cards worker `worker` takes in turn. With at least as many cards as workers the
    /// workers share them out (`card mod concurrency`), so no card is in two transactions at
    /// once; with fewer (PF operations only), workers share cards.
    pub fn cards_of(&self, worker: usize) -> Vec<usize> {
        if self.cards >= self.concurrency {
            (worker..self.cards).step_by(self.concurrency).collect()
        } else {
            vec![worker % self.cards]
        }
    }
}

/// `sign` or `auth`.
pub fn parse_key(text: &str) -> Result<KeyKind, ParseError> {
    match text {
        "sign" => Ok(KeyKind::Sign),
        "auth" => Ok(KeyKind::Auth),
        _ => Err(ParseError::Key(text.to_owned())),
    }
}

/// `ocsp` or `crl`.
pub fn parse_via(text: &str) -> Result<StatusChannel, ParseError> {
    match text {
        "ocsp" => Ok(StatusChannel::Ocsp),
        "crl" => Ok(StatusChannel::Crl),
        _ => Err(ParseError::Via(text.to_owned())),
    }
}

/// The key's name on the command line and in reports: `sign` or `auth`.
pub fn key_name(key: KeyKind) -> &'static str {
    match key {
        KeyKind::Sign => "sign",
        KeyKind::Auth => "auth",
    }
}

/// The channel's name on the command line and in reports: `ocsp` or `crl`.
pub fn via_name(via: StatusChannel) -> &'static str {
    match via {
        StatusChannel::Ocsp => "ocsp",
        StatusChannel::Crl => "crl",
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Pf => "PF",
        Role::Sdk => "SDK",
    }
}

/// A duration as fractional seconds in JSON.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(duration.as_secs_f64())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sut_names_parse_and_print_back() {
        for text in [
            "ref-pf",
            "ref-sdk",
            "pf=jpki-sim adapter ref-pf",
            "sdk=./a b=c",
        ] {
            assert_eq!(text.parse::<SutSpec>().unwrap().to_string(), text);
        }
        assert_eq!(
            "pf=./x".parse::<SutSpec>().unwrap(),
            SutSpec::Adapter {
                role: Role::Pf,
                command: "./x".to_owned()
            }
        );
    }

    #[test]
    fn bad_sut_values_say_what_is_expected() {
        assert_eq!(
            "ref".parse::<SutSpec>().unwrap_err(),
            ParseError::Sut("ref".to_owned())
        );
        assert_eq!(
            "pf= ".parse::<SutSpec>().unwrap_err(),
            ParseError::EmptyCommand("pf")
        );
        assert!("verifier=./x"
            .parse::<SutSpec>()
            .unwrap_err()
            .to_string()
            .contains("pf=COMMAND"));
    }

    #[test]
    fn op_names_round_trip() {
        for op in LoadOp::ALL {
            assert_eq!(op.name().parse::<LoadOp>().unwrap(), op);
            assert_eq!(
                serde_json::to_value(op).unwrap(),
                serde_json::json!(op.name())
            );
        }
        assert!("latest_info".parse::<LoadOp>().is_err());
    }

    #[test]
    fn an_sdk_operation_against_a_pf_is_refused() {
        let config = LoadConfig::new(LoadOp::Sign, SutSpec::RefPf);
        assert_eq!(
            config.validate().unwrap_err().to_string(),
            "--op sign is an SDK operation, but --sut ref-pf plays the PF"
        );
    }

    #[test]
    fn signing_needs_a_card_per_worker() {
        let mut config = LoadConfig::new(LoadOp::Sign, SutSpec::RefSdk);
        config.cards = 2;
        config.concurrency = 3;
        assert_eq!(
            config.validate().unwrap_err(),
            ConfigError::FewerCardsThanSigners {
                cards: 2,
                concurrency: 3
            }
        );
        config.cards = 3;
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn workers_share_cards_out_without_overlap() {
        let mut config = LoadConfig::new(LoadOp::Status, SutSpec::RefPf);
        config.cards = 7;
        config.concurrency = 3;
        let mut all: Vec<usize> = (0..3).flat_map(|w| config.cards_of(w)).collect();
        all.sort_unstable();
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert_eq!(config.cards_of(1), vec![1, 4]);
        config.cards = 2;
        assert_eq!(config.cards_of(2), vec![0]);
    }

    #[test]
    fn stop_serialises_as_seconds_or_a_count() {
        assert_eq!(
            serde_json::to_value(Stop::Duration(Duration::from_millis(1500))).unwrap(),
            serde_json::json!({"duration": 1.5})
        );
        assert_eq!(
            serde_json::to_value(Stop::Ops(200)).unwrap(),
            serde_json::json!({"ops": 200})
        );
    }
}
