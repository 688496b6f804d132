//! The reference PF against a real server: enrolment verdicts, OCSP and CRL status across an
//! address change and the clock, injected faults, consent and latest info, linkage.

use std::sync::Arc;

use mock_ca::crl::RevocationReason;
use mock_ca::Hierarchy;
use mock_jlis::clock::ClockMode;
use mock_jlis::store::Store;
use mock_jlis::world::{ProvisionedCard, World, WorldConfig};
use reference::pf::ReferencePf;
use served_world::Server;
use time::macros::datetime;
use vocab::{
    Consent, EnrolOutcome, EnrolRequest, LatestOutcome, PfEnvironment, Platform, StatusOutcome,
    UserOutcome,
};
use vocab::{HashAlgorithm, KeyKind, RejectReason, StatusChannel};

/// A running world and the PF pointed at it; the runtime lives as long as the server.
struct Up {
    world: Arc<World>,
    url: String,
    _server: Server,
    _runtime: tokio::runtime::Runtime,
}

fn up() -> Up {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = WorldConfig::new("http://127.0.0.1:8700");
    // 10:07 JST: the next OCSP window starts at 10:15, the next CRL at 00:00 JST.
    config.clock = Some(ClockMode::Frozen {
        at: datetime!(2026-11-01 01:07 UTC),
    });
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("reference-pf-keys.sqlite");
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
    fn pf(&self) -> ReferencePf {
        ReferencePf::new(PfEnvironment {
            base_url: self.url.clone(),
            sign_ca_pem: self.world.ca(Hierarchy::Sign).certificate_pem(),
            auth_ca_pem: self.world.ca(Hierarchy::Auth).certificate_pem(),
            admin_token: None,
        })
    }

    fn card(&self, id: &str) -> Arc<ProvisionedCard> {
        self.world.provision(&id.parse().unwrap(), None).unwrap()
    }

    fn admin(&self, method: &str, path: &str, body: serde_json::Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.url);
        let response = match method {
            "DELETE" => agent.delete(&url).call(),
            _ => agent.post(&url).send(body.to_string().as_bytes()),
        };
        let mut response = response.unwrap();
        let text = response.body_mut().read_to_string().unwrap();
        assert!(response.status().is_success(), "{method} {path}: {text}");
    }

    fn event(&self, card: &ProvisionedCard, kind: &str) {
        let body = serde_json::json!({"card": card.id.to_string(), "kind": kind});
        self.admin("POST", "/admin/v1/events", body);
    }

    fn advance(&self, by: &str) {
        self.admin(
            "POST",
            "/admin/v1/clock",
            serde_json::json!({"advance": by}),
        );
    }

    fn fault(&self, endpoint: &str, kind: &str) {
        let body = serde_json::json!({"endpoint": endpoint, "fault": {"kind": kind}});
        self.admin("POST", "/admin/v1/faults", body);
    }

    fn clear_faults(&self) {
        self.admin("DELETE", "/admin/v1/faults", serde_json::Value::Null);
    }
}

fn apdu(card: &ProvisionedCard, hex_apdu: &str) -> Vec<u8> {
    card.transmit(&hex::decode(hex_apdu.replace(' ', "")).unwrap())
}

/// Signs `data` on the card: select the JPKI AP, verify the key's PIN, SHA-256 DigestInfo.
fn sign_on_card(card: &ProvisionedCard, data: &[u8], key: KeyKind) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let digest_info = [
        hex::decode("3031300D060960864801650304020105000420").unwrap(),
        digest.as_ref().to_vec(),
    ]
    .concat();
    assert_eq!(
        apdu(card, "00 A4 04 0C 0A D392F000260100000001"),
        [0x90, 0x00]
    );
    let (pin_ef, verify, key_ef) = match key {
        KeyKind::Sign => ("001B", "00 20 00 80 06 414243313233", "001A"),
        KeyKind::Auth => ("0018", "00 20 00 80 04 31323334", "0017"),
    };
    assert_eq!(
        apdu(card, &format!("00 A4 02 0C 02 {pin_ef}")),
        [0x90, 0x00]
    );
    assert_eq!(apdu(card, verify), [0x90, 0x00]);
    assert_eq!(
        apdu(card, &format!("00 A4 02 0C 02 {key_ef}")),
        [0x90, 0x00]
    );
    let response = apdu(
        card,
        &format!("80 2A 00 80 33 {} 00", hex::encode(&digest_info)),
    );
    assert_eq!(response[256..], [0x90, 0x00]);
    response[..256].to_vec()
}

fn certificate(card: &ProvisionedCard, key: KeyKind) -> Vec<u8> {
    let state = card.state();
    match key {
        KeyKind::Sign => state.sign.unwrap().der,
        KeyKind::Auth => state.auth.der,
    }
}

fn request(card: &ProvisionedCard, name: &str, key: KeyKind) -> EnrolRequest {
    let data = format!("challenge for {name}").into_bytes();
    EnrolRequest {
        name: name.to_owned(),
        key,
        certificate: certificate(card, key),
        intermediates: Vec::new(),
        signature: sign_on_card(card, &data, key),
        data,
        hash: HashAlgorithm::Sha256,
    }
}

fn rejected_for(outcome: EnrolOutcome) -> RejectReason {
    match outcome {
        EnrolOutcome::Rejected { reason, .. } => reason,
        EnrolOutcome::Accepted => panic!("accepted"),
    }
}

fn undetermined(outcome: StatusOutcome) -> bool {
    matches!(outcome, StatusOutcome::Undetermined { .. })
}

#[test]
fn enrolment_verdicts_and_status_across_an_address_change() {
    let up = up();
    let mut pf = up.pf();
    let card = up.card("felica:0123456789ABCD01");

    let sign = request(&card, "sign", KeyKind::Sign);
    assert_eq!(pf.enrol(&sign).unwrap(), EnrolOutcome::Accepted);
    let auth = request(&card, "auth", KeyKind::Auth);
    assert_eq!(pf.enrol(&auth).unwrap(), EnrolOutcome::Accepted);

    let mut tampered = sign.clone();
    tampered.name = "tampered".to_owned();
    tampered.data.push(b'!');
    assert_eq!(
        rejected_for(pf.enrol(&tampered).unwrap()),
        RejectReason::BadSignature
    );
    let mut crossed = auth.clone();
    crossed.name = "crossed".to_owned();
    crossed.key = KeyKind::Sign;
    assert_eq!(
        rejected_for(pf.enrol(&crossed).unwrap()),
        RejectReason::Untrusted
    );

    up.event(&card, "address_change");
    assert_eq!(
        pf.check_status("sign", StatusChannel::Ocsp).unwrap(),
        StatusOutcome::Good,
        "the current OCSP window predates the move"
    );
    up.advance("15m");
    let revoked = StatusOutcome::Revoked {
        reason: Some(RevocationReason::AffiliationChanged),
    };
    assert_eq!(
        pf.check_status("sign", StatusChannel::Ocsp).unwrap(),
        revoked
    );
    assert_eq!(
        pf.check_status("auth", StatusChannel::Ocsp).unwrap(),
        StatusOutcome::Good
    );
    assert_eq!(
        pf.check_status("sign", StatusChannel::Crl).unwrap(),
        StatusOutcome::Good
    );
    up.advance("1d");
    assert_eq!(
        pf.check_status("sign", StatusChannel::Crl).unwrap(),
        revoked
    );
    assert_eq!(
        pf.check_status("auth", StatusChannel::Crl).unwrap(),
        StatusOutcome::Good
    );

    // The revoked certificate is no longer enrollable.
    let mut again = sign.clone();
    again.name = "again".to_owned();
    assert_eq!(
        rejected_for(pf.enrol(&again).unwrap()),
        RejectReason::Revoked
    );
    assert!(matches!(
        pf.check_status("nobody", StatusChannel::Ocsp),
        Err(vocab::PlatformError::UnknownEnrolment(_))
    ));
}

#[test]
fn faults_are_retried_once_or_fail_closed() {
    let up = up();
    let mut pf = up.pf();
    let card = up.card("felica:0123456789ABCD02");
    assert_eq!(
        pf.enrol(&request(&card, "sign", KeyKind::Sign)).unwrap(),
        EnrolOutcome::Accepted
    );

    up.admin(
        "POST",
        "/admin/v1/faults",
        serde_json::json!({"endpoint": "ocsp", "fault": {"kind": "try_later"}, "count": 1}),
    );
    assert_eq!(
        pf.check_status("sign", StatusChannel::Ocsp).unwrap(),
        StatusOutcome::Good
    );
    up.fault("ocsp", "try_later");
    assert!(undetermined(
        pf.check_status("sign", StatusChannel::Ocsp).unwrap()
    ));
    up.clear_faults();

    for (endpoint, kind, via) in [
        ("ocsp", "wrong_key", StatusChannel::Ocsp),
        ("ocsp", "stale_this_update", StatusChannel::Ocsp),
        ("ocsp", "garbage", StatusChannel::Ocsp),
        ("ocsp", "unavailable", StatusChannel::Ocsp),
        ("ocsp", "connection_reset", StatusChannel::Ocsp),
        ("crl", "expired_crl", StatusChannel::Crl),
        ("crl", "garbage", StatusChannel::Crl),
        ("crl", "unavailable", StatusChannel::Crl),
    ] {
        up.fault(endpoint, kind);
        let outcome = pf.check_status("sign", via).unwrap();
        assert!(undetermined(outcome.clone()), "{kind}: {outcome:?}");
        up.clear_faults();
    }

    up.fault("ocsp", "unavailable");
    let mut other = request(&card, "other", KeyKind::Auth);
    other.name = "other".to_owned();
    assert_eq!(
        rejected_for(pf.enrol(&other).unwrap()),
        RejectReason::StatusUndetermined
    );
    up.clear_faults();
    assert_eq!(
        pf.check_status("sign", StatusChannel::Crl).unwrap(),
        StatusOutcome::Good
    );
}

#[test]
fn consent_latest_info_and_the_same_user_across_an_address_change() {
    let up = up();
    let mut pf = up.pf();
    let card = up.card("felica:0123456789ABCD03");
    assert_eq!(
        pf.enrol(&request(&card, "old", KeyKind::Sign)).unwrap(),
        EnrolOutcome::Accepted
    );
    assert_eq!(pf.latest_info("old").unwrap(), LatestOutcome::NotConsented);

    let document = "最新の利用者情報の提供に同意します".as_bytes().to_vec();
    let consent = Consent {
        signature: sign_on_card(&card, &document, KeyKind::Sign),
        document,
    };
    pf.register_consent("old", &consent).unwrap();
    assert!(matches!(
        pf.latest_info("old").unwrap(),
        LatestOutcome::Info { changed: false, .. }
    ));

    up.event(&card, "address_change");
    let address = card.state().persona.address;
    match pf.latest_info("old").unwrap() {
        LatestOutcome::Info { info, changed } => {
            assert!(changed);
            assert_eq!(info.address, address);
        }
        other => panic!("{other:?}"),
    }

    // OCSP publishes the new certificate from the next 15-minute window; until then it is unknown.
    up.advance("15m");
    assert_eq!(
        pf.enrol(&request(&card, "new", KeyKind::Sign)).unwrap(),
        EnrolOutcome::Accepted
    );
    assert_eq!(
        pf.enrol(&request(&card, "auth", KeyKind::Auth)).unwrap(),
        EnrolOutcome::Accepted
    );
    let user = |pf: &mut ReferencePf, name: &str| match pf.resolve_user(name).unwrap() {
        UserOutcome::User { id } => id,
        other => panic!("{name}: {other:?}"),
    };
    let old = user(&mut pf, "old");
    assert_eq!(user(&mut pf, "new"), old);
    assert_eq!(user(&mut pf, "auth"), old);

    let stranger = up.card("felica:0123456789ABCD04");
    assert_eq!(
        pf.enrol(&request(&stranger, "stranger", KeyKind::Auth))
            .unwrap(),
        EnrolOutcome::Accepted
    );
    assert_ne!(user(&mut pf, "stranger"), old);

    up.fault("jlis", "unavailable");
    assert!(matches!(
        pf.latest_info("old").unwrap(),
        LatestOutcome::Undetermined { .. }
    ));
    assert!(matches!(
        pf.resolve_user("old").unwrap(),
        UserOutcome::Undetermined { .. }
    ));
    up.clear_faults();

    up.event(&card, "death");
    assert_eq!(
        pf.latest_info("old").unwrap(),
        LatestOutcome::LatestCertificateRevoked {
            reason: Some(RevocationReason::CessationOfOperation)
        }
    );
}
