//! The served world carries the Digital Agency's routes on its listener, behind the same guards
//! as the rest: the OpenID Connect endpoints open, `/da/admin/` behind the admin token and the
//! browser rules.

use std::sync::Arc;

use mock_jlis::store::Store;
use mock_jlis::world::{World, WorldConfig};
use served_world::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 exchange on a fresh connection: the status and the body.
async fn exchange(addr: std::net::SocketAddr, head: &str, body: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "{head}\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap();
    (status, body)
}

/// A world served on a free loopback port with `token`, its base URL the listener's.
async fn serve(token: Option<&str>) -> (Arc<World>, Server, std::net::SocketAddr) {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("da-keys.sqlite");
    let world = Arc::new(
        World::open(
            WorldConfig::new(format!("http://{addr}")),
            Store::in_memory().unwrap(),
            Some(Store::open_key_cache(&cache).unwrap()),
        )
        .unwrap(),
    );
    let server = Server::start(world.clone(), addr, token.map(str::to_owned))
        .await
        .unwrap();
    (world, server, addr)
}

#[tokio::test]
async fn the_da_routes_are_served_and_their_admin_api_is_guarded() {
    let (_world, server, addr) = serve(Some("s3cret")).await;

    let (status, body) = exchange(
        addr,
        "GET /da/api/realms/main/.well-known/openid-configuration HTTP/1.1",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("\"issuer\":\"http://{addr}/da/api/realms/main\"")));

    let client =
        r#"{"client_id": "RP1", "redirect_uris": ["https://sp.example/cb"], "jwks": {"keys": []}}"#;
    let (status, body) = exchange(
        addr,
        "POST /da/admin/v1/clients HTTP/1.1\r\nContent-Type: application/json",
        client,
    )
    .await;
    assert_eq!(status, 401, "no token: {body}");
    let (status, body) = exchange(
        addr,
        "POST /da/admin/v1/clients HTTP/1.1\r\nContent-Type: application/json\r\nAuthorization: Bearer s3cret",
        client,
    )
    .await;
    // Past the guard: the empty JWKS is the provider's refusal.
    assert_eq!(status, 422, "{body}");
    let (status, _) = exchange(
        addr,
        "POST /da/admin/v1/logins HTTP/1.1\r\nContent-Type: text/plain\r\nAuthorization: Bearer s3cret",
        "{}",
    )
    .await;
    assert_eq!(status, 415);
    // The token endpoint authenticates its clients itself and takes the form an SP posts.
    let (status, body) = exchange(
        addr,
        "POST /da/api/realms/main/protocol/openid-connect/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        "grant_type=authorization_code",
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("invalid_client"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn the_listeners_openapi_document_carries_the_da_routes() {
    let (_world, server, addr) = serve(None).await;
    let (status, body) = exchange(addr, "GET /openapi.json HTTP/1.1", "").await;
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(served["servers"][0]["url"], format!("http://{addr}"));
    let da: serde_json::Value = serde_json::from_str(mock_da::OPENAPI).unwrap();
    for path in da["paths"].as_object().unwrap().keys() {
        assert!(served["paths"][path].is_object(), "{path}");
    }
    assert!(served["paths"]["/admin/v1/requests"].is_object());
    server.stop().await;
}

#[tokio::test]
async fn da_requests_are_journaled_once_each_like_the_worlds() {
    let (world, server, addr) = serve(None).await;
    world.journal().clear();
    let discovery = "/da/api/realms/main/.well-known/openid-configuration";
    let (status, _) = exchange(addr, &format!("GET {discovery} HTTP/1.1"), "").await;
    assert_eq!(status, 200);
    let (status, _) = exchange(
        addr,
        "POST /da/api/realms/main/protocol/openid-connect/token HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        "grant_type=authorization_code",
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = exchange(addr, "GET /da/no/such/path?x=1 HTTP/1.1", "").await;
    assert_eq!(status, 404);
    let (status, _) = exchange(addr, "GET /healthz HTTP/1.1", "").await;
    assert_eq!(status, 200);

    let (status, body) = exchange(addr, "GET /admin/v1/requests HTTP/1.1", "").await;
    assert_eq!(status, 200, "{body}");
    let journal: serde_json::Value = serde_json::from_str(&body).unwrap();
    let seen: Vec<(String, String, u64)> = journal["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("GET", discovery, 200),
        (
            "POST",
            "/da/api/realms/main/protocol/openid-connect/token",
            401,
        ),
        ("GET", "/da/no/such/path?x=1", 404),
        ("GET", "/healthz", 200),
    ]
    .map(|(m, p, s)| (m.to_owned(), p.to_owned(), s));
    assert_eq!(seen, expected, "each request once, in order");
    server.stop().await;
}
