//! cRLNumbers as a PF meets them through `/crl`: a life event within the same second of the
//! frozen clock gives the instant CRL a higher number, the realistic CRL issued at the same
//! instant as a revocation does not change, and numbering continues across a restart.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use mock_jlis::clock::ClockMode;
use mock_jlis::routes::router;
use mock_jlis::store::Store;
use mock_jlis::world::{Cadence, World, WorldConfig};
use time::macros::datetime;
use time::OffsetDateTime;
use tower::ServiceExt;
use x509_cert::der::Decode;

const CARD: &str = "felica:0123456789ABCDEF";

fn world(cadence: Cadence, at: OffsetDateTime, store: Store) -> Arc<World> {
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    config.cadence = cadence;
    config.clock = Some(ClockMode::Frozen { at });
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crl-numbers-keys.sqlite");
    Arc::new(World::open(config, store, Some(Store::open_key_cache(&cache).unwrap())).unwrap())
}

async fn call(world: &Arc<World>, method: &str, uri: &str, body: String) -> Vec<u8> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let response = router(world.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        status,
        StatusCode::OK,
        "{method} {uri}: {}",
        String::from_utf8_lossy(&bytes)
    );
    bytes.to_vec()
}

/// cRLNumber, thisUpdate (Unix seconds) and the listed serials of a CRL.
fn parse(der: &[u8]) -> (u64, u64, Vec<Vec<u8>>) {
    let list = x509_cert::crl::CertificateList::from_der(der).unwrap();
    let tbs = list.tbs_cert_list;
    let number = tbs
        .crl_extensions
        .unwrap_or_default()
        .into_iter()
        .find(|e| e.extn_id.to_string() == "2.5.29.20")
        .map(|e| x509_cert::der::asn1::Uint::from_der(e.extn_value.as_bytes()).unwrap())
        .expect("a cRLNumber");
    let number = number
        .as_bytes()
        .iter()
        .fold(0u64, |n, b| (n << 8) | u64::from(*b));
    let serials = tbs
        .revoked_certificates
        .unwrap_or_default()
        .iter()
        .map(|r| r.serial_number.as_bytes().to_vec())
        .collect();
    (
        number,
        tbs.this_update.to_unix_duration().as_secs(),
        serials,
    )
}

async fn event(world: &Arc<World>, kind: &str) {
    let body = format!(r#"{{"card":"{CARD}","kind":"{kind}"}}"#);
    call(world, "POST", "/admin/v1/events", body).await;
}

async fn provision(world: &Arc<World>) {
    let body = format!(r#"{{"card":"{CARD}"}}"#);
    call(world, "POST", "/admin/v1/cards", body).await;
}

#[tokio::test]
async fn an_event_within_the_same_second_gives_the_instant_crl_a_higher_number() {
    let world = world(
        Cadence::Instant,
        datetime!(2026-11-02 01:07:30 UTC),
        Store::in_memory().unwrap(),
    );
    provision(&world).await;
    let before = call(&world, "GET", "/crl/sign.crl", String::new()).await;
    let partition_before = call(&world, "GET", "/crl/sign/13113.crl", String::new()).await;
    event(&world, "address_change").await;
    let after = call(&world, "GET", "/crl/sign.crl", String::new()).await;
    let (number_before, this_update_before, listed_before) = parse(&before);
    let (number_after, this_update_after, listed_after) = parse(&after);
    assert_eq!(
        this_update_before, this_update_after,
        "the clock did not move"
    );
    assert_eq!(listed_before.len(), 0);
    assert_eq!(listed_after.len(), 1);
    assert!(
        number_after > number_before,
        "{number_after} after the event, {number_before} before"
    );
    // The partition shares the hierarchy's numbering.
    assert_eq!(parse(&partition_before).0, number_before);
    // Without a change, the same CRL.
    let again = call(&world, "GET", "/crl/sign.crl", String::new()).await;
    assert_eq!(again, after);
    // The auth CRL did not change: neither did its number.
    let auth_then = parse(&call(&world, "GET", "/crl/auth.crl", String::new()).await).0;
    event(&world, "name_change").await;
    let auth_now = parse(&call(&world, "GET", "/crl/auth.crl", String::new()).await).0;
    assert_eq!(auth_now, auth_then);
    let sign_now = parse(&call(&world, "GET", "/crl/sign.crl", String::new()).await).0;
    assert!(sign_now > number_after);
}

#[tokio::test]
async fn a_loss_at_the_issue_instant_leaves_the_realistic_crl_as_it_was() {
    let world = world(
        Cadence::Realistic,
        datetime!(2026-11-04 15:00 UTC),
        Store::in_memory().unwrap(),
    );
    provision(&world).await;
    let before = call(&world, "GET", "/crl/auth.crl", String::new()).await;
    event(&world, "loss").await;
    let after = call(&world, "GET", "/crl/auth.crl", String::new()).await;
    assert_eq!(after, before, "one CRL, one content");
    assert!(parse(&after).2.is_empty());

    let body = r#"{"set":"2026-11-05T15:00:00Z"}"#.to_owned();
    call(&world, "POST", "/admin/v1/clock", body).await;
    let next = call(&world, "GET", "/crl/auth.crl", String::new()).await;
    assert_eq!(parse(&next).0, parse(&after).0 + 1);
    assert_eq!(parse(&next).2.len(), 1);
}

#[tokio::test]
async fn instant_numbering_continues_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let at = datetime!(2026-11-02 01:07:30 UTC);
    let (number, der) = {
        let world = world(Cadence::Instant, at, Store::open_dir(dir.path()).unwrap());
        provision(&world).await;
        event(&world, "address_change").await;
        event(&world, "name_change").await;
        let der = call(&world, "GET", "/crl/sign.crl", String::new()).await;
        (parse(&der).0, der)
    };
    let world = world(Cadence::Instant, at, Store::open_dir(dir.path()).unwrap());
    let reopened = call(&world, "GET", "/crl/sign.crl", String::new()).await;
    assert_eq!(parse(&reopened).0, number);
    assert_eq!(reopened, der, "the same state, the same CRL");
    event(&world, "loss").await;
    let later = call(&world, "GET", "/crl/sign.crl", String::new()).await;
    assert!(parse(&later).0 > number);
}
