//! cRLNumbers over a real socket, as a PF that keeps the highest number it has seen meets them:
//! on the instant cadence with a frozen clock, a life event between two fetches in the same
//! second gives the second CRL (full list and partition) a higher number; on the realistic
//! cadence, a loss at the daily issue instant leaves that day's CRL, number and bytes, as it was.

use std::sync::Arc;

use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{Cadence, World, WorldConfig};
use served_world::Server;
use time::macros::datetime;
use time::OffsetDateTime;
use x509_cert::der::Decode;

const CARD: &str = "felica:0123456789ABCD02";

/// A served world; the runtime lives as long as the server.
struct Up {
    url: String,
    world: Arc<World>,
    _server: Server,
    _runtime: tokio::runtime::Runtime,
}

fn up(cadence: Cadence, at: OffsetDateTime) -> Up {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.cadence = cadence;
    config.clock = Some(ClockMode::Frozen { at });
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("crl-numbers-keys.sqlite");
    let world = Arc::new(
        World::open(
            config,
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    );
    let server = runtime
        .block_on(Server::start(
            world.clone(),
            "127.0.0.1:0".parse().unwrap(),
            None,
        ))
        .unwrap();
    Up {
        url: server.url(),
        world,
        _server: server,
        _runtime: runtime,
    }
}

impl Up {
    fn http(&self, method: &str, path: &str, body: &str) -> Vec<u8> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let mut response = match method {
            "GET" => agent.get(&url).call(),
            _ => agent.post(&url).send(body.as_bytes()),
        }
        .unwrap();
        let status = response.status();
        let bytes = response.body_mut().read_to_vec().unwrap();
        assert!(
            status.is_success(),
            "{method} {path}: {}",
            String::from_utf8_lossy(&bytes)
        );
        bytes
    }

    fn event(&self, kind: &str) {
        let body = format!(r#"{{"card":"{CARD}","kind":"{kind}"}}"#);
        self.http("POST", "/admin/v1/events", &body);
    }

    /// The card's municipality code, for its CRL partition.
    fn municipality(&self) -> String {
        let card = self.world.card(&CARD.parse().unwrap()).unwrap();
        card.state().persona.municipality_code
    }
}

/// cRLNumber, thisUpdate (Unix seconds) and how many entries a CRL lists.
fn parse(der: &[u8]) -> (u64, u64, usize) {
    let tbs = x509_cert::crl::CertificateList::from_der(der)
        .unwrap()
        .tbs_cert_list;
    let extension = tbs
        .crl_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.20")
        .expect("a cRLNumber");
    let number = x509_cert::der::asn1::Uint::from_der(extension.extn_value.as_bytes()).unwrap();
    let number = number
        .as_bytes()
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    (
        number,
        tbs.this_update.to_unix_duration().as_secs(),
        tbs.revoked_certificates.map_or(0, |list| list.len()),
    )
}

#[test]
fn crls_fetched_around_an_event_in_the_same_second_have_different_numbers() {
    let up = up(Cadence::Instant, datetime!(2026-11-02 01:07:30 UTC));
    up.http(
        "POST",
        "/admin/v1/cards",
        &format!(r#"{{"card":"{CARD}"}}"#),
    );
    let partition = format!("/crl/sign/{}.crl", up.municipality());
    let full_before = parse(&up.http("GET", "/crl/sign.crl", ""));
    let part_before = parse(&up.http("GET", &partition, ""));
    up.event("address_change");
    let full_after = parse(&up.http("GET", "/crl/sign.crl", ""));
    let part_after = parse(&up.http("GET", &partition, ""));
    for (before, after) in [(full_before, full_after), (part_before, part_after)] {
        assert_eq!(
            before.1, after.1,
            "the same thisUpdate: the clock is frozen"
        );
        assert_eq!(
            (before.2, after.2),
            (0, 1),
            "the revocation is listed at once"
        );
        assert!(
            after.0 > before.0,
            "cRLNumber {} after the event, {} before",
            after.0,
            before.0
        );
    }
}

#[test]
fn a_loss_at_the_daily_issue_instant_leaves_that_crl_as_it_was() {
    let up = up(Cadence::Realistic, datetime!(2026-11-04 15:00 UTC));
    up.http(
        "POST",
        "/admin/v1/cards",
        &format!(r#"{{"card":"{CARD}"}}"#),
    );
    let before = up.http("GET", "/crl/auth.crl", "");
    up.event("loss");
    let after = up.http("GET", "/crl/auth.crl", "");
    assert_eq!(after, before, "one cRLNumber, one CRL");
    assert_eq!(parse(&after).2, 0);
    up.http("POST", "/admin/v1/clock", r#"{"advance":"1d"}"#);
    let next = parse(&up.http("GET", "/crl/auth.crl", ""));
    assert_eq!(next.0, parse(&after).0 + 1);
    assert_eq!(next.2, 1);
}
