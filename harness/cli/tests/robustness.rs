//! `jpki-sim up` under unfriendly clients, on loopback, bounded in time: slow senders of request
//! heads, idle kept-alive connections, connect-and-close storms, bodies that are too large or
//! never end, garbage to every route — while a normal client's `/healthz` and OCSP requests
//! must keep being answered within the latency docs/reliability.md states.

mod support;

use std::time::{Duration, Instant};

use support::unfriendly::{
    addr_of, connect_and_close, raise_open_file_limit, request, IdleClients, Prober, SlowClients,
};
use support::{run_ok, Up};

const CARD: &str = "felica:0123456789ABCDEF";

/// The latency docs/reliability.md promises a normal client under these loads.
const NORMAL_CLIENT_WITHIN: Duration = Duration::from_secs(2);

fn up(dir: &tempfile::TempDir, extra: &[&str]) -> Up {
    support::up_with_card(dir.path(), CARD, extra)
}

/// `GET path` on a new connection, closed after the answer.
fn get(addr: std::net::SocketAddr, path: &str) -> Result<(u16, Vec<u8>), String> {
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    request(addr, &head, b"", Duration::from_secs(10))
}

/// An OCSP request (DER) for the card's authentication certificate, made by OpenSSL.
fn ocsp_request(dir: &tempfile::TempDir, up: &Up) -> Vec<u8> {
    let addr = addr_of(&up.url);
    let get = |path: &str| {
        let (status, body) = get(addr, path).expect(path);
        assert_eq!(status, 200, "{path}");
        body
    };
    let view: serde_json::Value =
        serde_json::from_slice(&get(&format!("/admin/v1/cards/{CARD}"))).unwrap();
    let cert = dir.path().join("auth.pem");
    std::fs::write(&cert, view["certificates"]["auth"]["pem"].as_str().unwrap()).unwrap();
    let ca = dir.path().join("auth-ca.pem");
    std::fs::write(&ca, get("/ca/auth.pem")).unwrap();
    let out = dir.path().join("request.der");
    run_ok(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            ca.to_str().unwrap(),
            "-cert",
            cert.to_str().unwrap(),
            "-no_nonce",
            "-reqout",
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(out).unwrap()
}

/// The server's resident memory, from /proc.
fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse().ok())
        .expect("VmRSS");
    kb / 1024.0
}

/// Every `(method, path)` the OpenAPI document lists, with its parameters filled in.
fn every_route(up: &Up) -> Vec<(String, String)> {
    let addr = addr_of(&up.url);
    let (_, body) = get(addr, "/openapi.json").unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let mut routes = Vec::new();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let filled = path
            .replace("{card}", CARD)
            .replace("{hierarchy}", "auth")
            .replace("{file}", "auth.crl")
            .replace("{serial}", "01")
            .replace("{request}", "MAA");
        for method in operations.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                routes.push((method.to_uppercase(), filled.clone()));
            }
        }
    }
    routes
}

#[test]
fn a_normal_client_is_answered_while_slow_idle_and_storming_clients_press() {
    let files = raise_open_file_limit();
    // 1,100 slow and 5,000 idle connections, as the unfriendly clients had, where this
    // process may open that many sockets.
    let (slow_count, idle_count) = (1_100, 5_000.min(files.saturating_sub(1_500) as usize));
    assert!(
        idle_count >= 1_000,
        "the open-file hard limit ({files}) is too low for this test"
    );
    let dir = tempfile::tempdir().unwrap();
    let up = up(
        &dir,
        &[
            "--header-timeout",
            "3s",
            "--body-timeout",
            "2s",
            "--max-connections",
            "1500",
        ],
    );
    let addr = addr_of(&up.url);
    let ocsp = ocsp_request(&dir, &up);
    let rss_before = rss_mb(up.pid());

    let prober = {
        let mut turn = 0u64;
        Prober::start(Duration::from_millis(50), move || {
            turn += 1;
            let (head, body) = if turn.is_multiple_of(2) {
                (
                    format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
                    Vec::new(),
                )
            } else {
                (
                    format!(
                        "POST /ocsp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
                         application/ocsp-request\r\nContent-Length: {}\r\nConnection: \
                         close\r\n\r\n",
                        ocsp.len()
                    ),
                    ocsp.clone(),
                )
            };
            request(addr, &head, &body, Duration::from_secs(10)).map(|(status, _)| status)
        })
    };

    let started = Instant::now();
    let slow = SlowClients::open(addr, slow_count, Duration::from_millis(500));
    let idle = IdleClients::open(addr, idle_count);
    // The cap held: the idle connections beyond it were closed to make room for the next.
    // The closes are the server's tasks' work: on a loaded machine the last FINs may still be
    // on their way, so they are given a few seconds to arrive.
    // The slow ones are counted once, before the wait: their header timeout would otherwise
    // make room by itself.
    let open_slow = slow_count - slow.closed();
    let settled = Instant::now() + Duration::from_secs(10);
    let mut kept_idle = idle.still_open();
    while kept_idle + open_slow > 1_500 && Instant::now() < settled {
        std::thread::sleep(Duration::from_millis(200));
        kept_idle = idle.still_open();
    }
    assert!(
        kept_idle + open_slow <= 1_500,
        "{kept_idle} idle connections kept beside {open_slow} slow ones"
    );
    let stormed = connect_and_close(addr, 5_000);
    let rss_loaded = rss_mb(up.pid());

    // A body declared a terabyte long is refused at once; one that never ends, or stops
    // short, at the body timeout — each with our JSON error.
    let events = |extra: &str| {
        format!(
            "POST /admin/v1/events HTTP/1.1\r\nHost: {addr}\r\nContent-Type: \
             application/json\r\n{extra}\r\n"
        )
    };
    let terabyte = request(
        addr,
        &events("Content-Length: 1000000000000\r\n"),
        b"",
        Duration::from_secs(5),
    )
    .expect("an answer to a terabyte body");
    assert_eq!(terabyte.0, 413);
    assert!(String::from_utf8_lossy(&terabyte.1).contains("payload_too_large"));
    let asked = Instant::now();
    let short = request(
        addr,
        &events("Content-Length: 100\r\n"),
        b"{\"card\":",
        Duration::from_secs(10),
    )
    .expect("an answer to a body that stops short");
    assert_eq!(short.0, 408, "{}", String::from_utf8_lossy(&short.1));
    assert!(String::from_utf8_lossy(&short.1).contains("request_timeout"));
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "{:?}",
        asked.elapsed()
    );
    let chunked = request(
        addr,
        &events("Transfer-Encoding: chunked\r\n"),
        b"1\r\n{\r\n",
        Duration::from_secs(10),
    )
    .expect("an answer to a chunked body that never ends");
    assert_eq!(chunked.0, 408);

    // Garbage to every route, in both media types the routes take: a 4xx with a JSON code or
    // an answer, never a 5xx or a dropped connection.
    let routes = every_route(&up);
    assert!(routes.len() >= 15, "{routes:?}");
    for (method, path) in &routes {
        for media in ["application/json", "application/octet-stream"] {
            let garbage = b"\x00\xff{\"<not json\x30\x82\xff\xff";
            let head = format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {media}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n",
                garbage.len()
            );
            let (status, body) = request(addr, &head, garbage, Duration::from_secs(10))
                .unwrap_or_else(|err| panic!("{method} {path} ({media}): {err}"));
            assert!(status < 500, "{method} {path} ({media}): {status}");
            if status >= 400 {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| {
                    panic!(
                        "{method} {path} ({media}): {status} {}",
                        String::from_utf8_lossy(&body)
                    )
                });
                assert!(json["error"].is_string(), "{method} {path}: {json}");
            }
        }
    }
    // A request head that is not HTTP gets hyper's 400 and the connection closed.
    let (status, _) = request(
        addr,
        "\x16\x03\x01garbage\r\n\r\n",
        b"",
        Duration::from_secs(5),
    )
    .expect("an answer to a head that is not HTTP");
    assert_eq!(status, 400);

    // The slow clients are closed by the header timeout (3 s), all of them.
    let deadline = started + Duration::from_secs(20);
    while slow.closed() < slow.opened() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        slow.closed(),
        slow.opened(),
        "slow clients still open after the header timeout"
    );
    // And the header timeout closed the rest.
    let still_idle = idle.still_open();
    assert_eq!(idle.unanswered, 0, "idle clients went unanswered");

    let probes = prober.finish();
    let mut latencies: Vec<Duration> = probes.iter().map(|(latency, _)| *latency).collect();
    latencies.sort();
    let worst = *latencies.last().unwrap();
    let median = latencies[latencies.len() / 2];
    let failed: Vec<_> = probes
        .iter()
        .filter(|(_, outcome)| outcome.as_ref().ok() != Some(&200))
        .collect();
    eprintln!(
        "robustness: {} slow, {} idle ({} answered, {kept_idle} kept at once, {still_idle} after the header timeout), {stormed} \
         connect-and-close, {} garbage requests; normal client {} probes, median {median:?}, \
         worst {worst:?}; server RSS {rss_before:.0} MB before, {rss_loaded:.0} MB loaded, \
         {:.0} MB after",
        slow.opened(),
        idle_count,
        idle.answered(),
        routes.len() * 2,
        probes.len(),
        rss_mb(up.pid()),
    );
    assert!(failed.is_empty(), "the normal client failed: {failed:?}");
    assert!(probes.len() >= 20, "too few probes: {}", probes.len());
    assert!(
        worst < NORMAL_CLIENT_WITHIN,
        "the normal client waited {worst:?}"
    );
    // Memory is bounded by the connection cap, not by how many clients came.
    // (Before the cap, 5,000 idle connections took the server from 13 to 181 MB.)
    assert!(
        rss_loaded - rss_before < 100.0,
        "{rss_before} → {rss_loaded} MB"
    );
    drop(slow);
    up.stop();
}

#[test]
fn with_every_connection_busy_a_newcomer_is_told_503_then_served_once_one_frees() {
    raise_open_file_limit();
    let dir = tempfile::tempdir().unwrap();
    let up = up(&dir, &["--header-timeout", "2s", "--max-connections", "20"]);
    let addr = addr_of(&up.url);
    // Twenty connections, each in the middle of a request head: none is idle.
    let slow = SlowClients::open(addr, 20, Duration::from_millis(300));
    std::thread::sleep(Duration::from_millis(200));
    let (status, body) = get(addr, "/healthz").unwrap();
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"], "too_many_connections");
    // Once the header timeout closes them, the same request is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    while slow.closed() < slow.opened() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(slow);
    let (status, _) = get(addr, "/healthz").unwrap();
    assert_eq!(status, 200);
    up.stop();
}

#[test]
fn an_idle_connection_makes_room_for_a_new_one_at_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(&dir, &["--max-connections", "10"]);
    let addr = addr_of(&up.url);
    let idle = IdleClients::open(addr, 10);
    assert_eq!(idle.answered(), 10);
    // The eleventh is served, and the longest-idle connection was closed for it.
    let (status, _) = get(addr, "/healthz").unwrap();
    assert_eq!(status, 200);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(idle.still_open(), 9);
    up.stop();
}
