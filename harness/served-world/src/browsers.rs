//! Refusing what a web page could make a browser send. A page a developer opens can reach a
//! server on loopback: a cross-site `<form>` or `fetch` POST with a CORS-safelisted content type
//! goes out without a preflight, and a DNS-rebinding page can read the answers. Tools (curl,
//! SDKs, adapters) send neither an `Origin` nor a foreign `Host`, so refusing those costs them
//! nothing. The rules, each answered with our JSON error shape (docs/security.md):
//!
//! - `Host` must name the listener (its IP literal or `localhost`, and its port if it gives one)
//!   when it listens on loopback: another name is a rebinding page (`421 misdirected_host`).
//! - An `Origin` other than the server's own is a page of another site (`403 cross_origin`).
//! - A write to a guarded route (the admin API, the APDU bridge, consents, the Digital Agency's
//!   admin API under `/da/admin/`) may not carry a content type a browser sends cross-site
//!   unasked — `text/plain`, `application/x-www-form-urlencoded`, `multipart/form-data`
//!   (`415 unsupported_media_type`).

use std::net::SocketAddr;

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Answers a request a browser could have been made to send with its refusal; the rest pass.
pub(crate) async fn refuse_browser_requests(
    listener: SocketAddr,
    request: Request,
    next: Next,
) -> Response {
    match refusal(
        listener,
        request.method(),
        request.uri().path(),
        request.headers(),
    ) {
        Some((status, code, message)) => {
            let body = serde_json::json!({"error": code, "message": message});
            (status, axum::Json(body)).into_response()
        }
        None => next.run(request).await,
    }
}

/// Why a request is refused, if it is: status, error code, message.
fn refusal(
    listener: SocketAddr,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Option<(StatusCode, &'static str, String)> {
    if listener.ip().is_loopback() {
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or("");
            if !names_listener(host, listener) {
                return Some((
                    StatusCode::MISDIRECTED_REQUEST,
                    "misdirected_host",
                    format!(
                        "Host {host:?} is not this server ({listener}): a loopback server answers \
                         requests for itself only, not for a name a web page chose"
                    ),
                ));
            }
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let own = origin
            .strip_prefix("http://")
            .is_some_and(|host| is_own_origin(host, listener));
        if !own {
            return Some((
                StatusCode::FORBIDDEN,
                "cross_origin",
                format!(
                    "requests from web pages of other sites (Origin {origin:?}) are refused; \
                     tools send no Origin"
                ),
            ));
        }
    }
    if crate::server::needs_token(method, path) && writes(method) {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if SAFELISTED.contains(&essence.as_str()) {
            return Some((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "Content-Type {content_type:?} is refused here (a browser sends it across \
                     sites unasked): send application/json, or application/octet-stream for \
                     APDUs (curl: -H 'Content-Type: application/json')"
                ),
            ));
        }
    }
    None
}

/// The content types a browser sends cross-site without a CORS preflight (Fetch standard,
/// "CORS-safelisted request-header").
const SAFELISTED: [&str; 3] = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
];

fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `authority` (`host[:port]`) names `listener`: its IP literal, or `localhost`, and its
/// port if it gives one. (OpenSSL's HTTP client, for one, sends the host without the port; what
/// a rebinding page cannot do is name the listener's IP.)
fn names_listener(authority: &str, listener: SocketAddr) -> bool {
    names_listener_with(authority, listener, None)
}

/// [`names_listener`] for an `Origin`, whose port is 80 when it gives none: another local
/// server's page is another origin.
fn is_own_origin(authority: &str, listener: SocketAddr) -> bool {
    names_listener_with(authority, listener, Some(80))
}

fn names_listener_with(authority: &str, listener: SocketAddr, default_port: Option<u16>) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` without a port: the last colon is inside the brackets.
        Some((host, port)) if !port.ends_with(']') => match port.parse::<u16>() {
            Ok(port) => (host, Some(port)),
            Err(_) => return false,
        },
        _ => (authority, default_port),
    };
    if port.is_some_and(|port| port != listener.port()) {
        return false;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip == listener.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener() -> SocketAddr {
        "127.0.0.1:8700".parse().unwrap()
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().unwrap());
        }
        map
    }

    fn code(
        method: Method,
        path: &str,
        pairs: &[(header::HeaderName, &str)],
    ) -> Option<&'static str> {
        refusal(listener(), &method, path, &headers(pairs)).map(|(_, code, _)| code)
    }

    #[test]
    fn the_listener_is_named_by_its_ip_or_localhost_and_its_port_if_given() {
        for good in [
            "127.0.0.1:8700",
            "localhost:8700",
            "LOCALHOST:8700",
            "127.0.0.1",
            "localhost",
        ] {
            assert!(names_listener(good, listener()), "{good}");
        }
        for bad in [
            "evil.example:8700",
            "evil.example",
            "127.0.0.1:8701",
            "127.0.0.1:x",
            "127.0.0.2:8700",
            "",
        ] {
            assert!(!names_listener(bad, listener()), "{bad}");
        }
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        assert!(names_listener("[::1]", v6));
        assert!(names_listener("[::1]:80", v6));
        assert!(!names_listener("[::1]:81", v6));
        assert!(!names_listener("[::2]:80", v6));
        // An Origin's missing port is 80.
        assert!(is_own_origin("127.0.0.1:8700", listener()));
        assert!(!is_own_origin("127.0.0.1", listener()));
        assert!(is_own_origin("[::1]", v6));
    }

    #[test]
    fn what_a_web_page_could_send_is_refused_and_tools_pass() {
        let host = (header::HOST, "127.0.0.1:8700");
        // A rebinding page, a page of another site, a cross-site form or text POST.
        assert_eq!(
            code(
                Method::GET,
                "/admin/v1/cards/x",
                &[(header::HOST, "evil.example:8700")]
            ),
            Some("misdirected_host")
        );
        assert_eq!(
            code(
                Method::POST,
                "/ocsp",
                &[host.clone(), (header::ORIGIN, "http://evil.example")]
            ),
            Some("cross_origin")
        );
        for kind in [
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
        ] {
            assert_eq!(
                code(
                    Method::POST,
                    "/admin/v1/clock",
                    &[host.clone(), (header::CONTENT_TYPE, kind)]
                ),
                Some("unsupported_media_type"),
                "{kind}"
            );
        }
        assert_eq!(
            code(
                Method::POST,
                "/cards/felica:0123456789ABCDEF/apdu",
                &[host.clone(), (header::CONTENT_TYPE, "text/plain")]
            ),
            Some("unsupported_media_type")
        );
        // Tools: no Origin, their own Host, JSON or bytes; the page of the server itself.
        for pairs in [
            vec![host.clone(), (header::CONTENT_TYPE, "application/json")],
            vec![
                host.clone(),
                (header::CONTENT_TYPE, "application/octet-stream"),
            ],
            vec![host.clone()],
            vec![host.clone(), (header::ORIGIN, "http://127.0.0.1:8700")],
            vec![],
        ] {
            assert_eq!(
                code(Method::POST, "/admin/v1/clock", &pairs),
                None,
                "{pairs:?}"
            );
        }
        // The Digital Agency's admin writes are admin writes; its token endpoint takes the
        // form an SP's back end posts (RFC 6749 §4.1.3).
        assert_eq!(
            code(
                Method::POST,
                "/da/admin/v1/logins",
                &[
                    host.clone(),
                    (header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                ]
            ),
            Some("unsupported_media_type")
        );
        assert_eq!(
            code(
                Method::POST,
                "/da/api/realms/main/protocol/openid-connect/token",
                &[
                    host.clone(),
                    (header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                ]
            ),
            None
        );
        // The open routes take any content type: OCSP requests, reads.
        assert_eq!(
            code(
                Method::POST,
                "/ocsp",
                &[
                    host.clone(),
                    (header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                ]
            ),
            None
        );
        // Off loopback the Host is whatever name clients use.
        let wide: SocketAddr = "0.0.0.0:8700".parse().unwrap();
        assert!(refusal(
            wide,
            &Method::GET,
            "/crl/sign.crl",
            &headers(&[(header::HOST, "jpki-sim.internal:8700")])
        )
        .is_none());
    }
}
