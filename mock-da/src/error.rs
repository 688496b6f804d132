//! OAuth errors (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3), and where each goes: on the redirect,
//! as a JSON answer of the token or userinfo endpoint, or as a 400 page when the redirect
//! cannot be trusted.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Where an [`OAuthError`] is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Appended to the client's redirect URI with `state`.
    Redirect,
    /// A JSON body with this status (token endpoint, the sign API, untrusted redirects).
    Json(StatusCode),
    /// A bearer-token refusal (userinfo, the sign API): `401` with
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    Bearer,
}

/// An OAuth error: its code, a description for the developer, and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    /// The registered error code (`invalid_request`, `access_denied`, ...).
    pub code: &'static str,
    /// `error_description`, kept to the characters RFC 6749 §4.1.2.1 allows (printable ASCII
    /// without `"` and `\`; see [`description`]).
    pub description: String,
    /// Where it is answered.
    pub delivery: Delivery,
}

impl OAuthError {
    /// An error for the client's redirect URI.
    pub fn redirect(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: self::description(&description.into()),
            delivery: Delivery::Redirect,
        }
    }

    /// A `400` page: the client or redirect URI cannot be trusted, so nothing is redirected.
    pub fn page(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: self::description(&description.into()),
            delivery: Delivery::Json(StatusCode::BAD_REQUEST),
        }
    }

    /// A token-endpoint error (`400`).
    pub fn token(code: &'static str, description: impl Into<String>) -> Self {
        OAuthError::page(code, description)
    }

    /// `401 invalid_client`: the client assertion did not authenticate a client.
    pub fn client(description: impl Into<String>) -> Self {
        OAuthError {
            code: "invalid_client",
            description: self::description(&description.into()),
            delivery: Delivery::Json(StatusCode::UNAUTHORIZED),
        }
    }

    /// `500 server_error`: a simulator fault.
    pub fn server(description: impl Into<String>) -> Self {
        OAuthError {
            code: "server_error",
            description: self::description(&description.into()),
            delivery: Delivery::Json(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }

    /// A JSON error with another status (the sign API's `403` and `404`).
    pub fn status(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: self::description(&description.into()),
            delivery: Delivery::Json(status),
        }
    }

    /// `401 invalid_token` for userinfo and the sign API.
    pub fn bearer(description: impl Into<String>) -> Self {
        OAuthError {
            code: "invalid_token",
            description: self::description(&description.into()),
            delivery: Delivery::Bearer,
        }
    }

    /// The JSON body: the OAuth members, and `message` like every other error of the server.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({
            "error": self.code,
            "error_description": self.description,
            "message": self.description,
        })
    }
}

/// `text` in the characters an `error_description` may hold (RFC 6749 §4.1.2.1: `%x20-21 /
/// %x23-5B / %x5D-7E`): quotes become `'`, a backslash `/`, `§` "section ", anything else outside
/// printable ASCII `?`, so a strict client parses every refusal.
pub fn description(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push('\''),
            '\\' => out.push('/'),
            '§' => out.push_str("section "),
            ' '..='~' => out.push(c),
            _ => out.push('?'),
        }
    }
    out
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let no_store = [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ];
        match self.delivery {
            Delivery::Json(status) => (status, no_store, Json(self.body())).into_response(),
            // A redirect error reaching here had no trustworthy redirect: answer it as a page.
            Delivery::Redirect => {
                (StatusCode::BAD_REQUEST, no_store, Json(self.body())).into_response()
            }
            Delivery::Bearer => {
                let challenge = format!(
                    "Bearer error=\"{}\", error_description=\"{}\"",
                    self.code, self.description
                );
                (
                    StatusCode::UNAUTHORIZED,
                    [(header::WWW_AUTHENTICATE, challenge)],
                    Json(self.body()),
                )
                    .into_response()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_keep_to_the_characters_rfc_6749_allows() {
        let error = OAuthError::page(
            "invalid_request",
            "redirect_uri \"x\\y\" (RFC 7636 §4.1) 鍵",
        );
        assert_eq!(
            error.description,
            "redirect_uri 'x/y' (RFC 7636 section 4.1) ?"
        );
    }
}
