//! The test-response page: like the Digital Agency's sandbox, where a tester stands in for the
//! card and the app (テストカード代替機能), an authorization request that finds no armed login
//! is answered, when [`Settings::test_response_page`] is on, with a server-rendered HTML page.
//! It lists the world's cards; the tester picks one, may change the PIN, and chooses 正常 or an
//! abnormal answer. The page's forms `POST` to [`TEST_RESPONSE_PATH`] with the random id of the
//! request the provider holds, which the route answers as an armed login would
//! (docs/digital-agency.md, "Test-response page").
//!
//! The page needs no script and loads nothing; every value in it is escaped ([`escape`]).
//!
//! [`Settings::test_response_page`]: crate::provider::Settings::test_response_page

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sim_card::CardId;

use crate::faults::RedirectError;

/// Where the page's forms post the tester's answer.
pub const TEST_RESPONSE_PATH: &str = "/da/test-response";

/// The longest PIN or signature password the form takes (the signature password's 16).
pub const MAX_SECRET: usize = 16;

/// What the tester answers for the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// 正常: the card with the PIN of the form (the card's own when the field is empty).
    Normal,
    /// 暗証番号誤り: a PIN (or signature password) that is not the card's: the card counts a
    /// try and the request is refused with `access_denied`.
    WrongPin,
    /// 同意しない: the user refuses before the card is touched (`access_denied`).
    Refuse,
    /// The provider answers this error itself, as if it could not go on: no card is touched.
    ProviderError(RedirectError),
}

impl Choice {
    /// Every choice, in the order the page offers them.
    pub const ALL: [Choice; 6] = [
        Choice::Normal,
        Choice::WrongPin,
        Choice::Refuse,
        Choice::ProviderError(RedirectError::LoginRequired),
        Choice::ProviderError(RedirectError::ServerError),
        Choice::ProviderError(RedirectError::TemporarilyUnavailable),
    ];

    /// The form's value of `response`.
    pub fn name(self) -> &'static str {
        match self {
            Choice::Normal => "normal",
            Choice::WrongPin => "wrong_pin",
            Choice::Refuse => "refuse",
            Choice::ProviderError(error) => error.code(),
        }
    }

    /// The choice named `name` (the form's `response`).
    pub fn from_name(name: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the choice is the user's with a card (it needs the form's `card`).
    pub fn needs_card(self) -> bool {
        !matches!(self, Choice::ProviderError(_))
    }

    /// The button's label: Japanese, then English.
    fn label(self) -> (&'static str, &'static str) {
        match self {
            Choice::Normal => ("正常", "Normal: log in with the card"),
            Choice::WrongPin => ("暗証番号誤り", "Wrong PIN (costs a try)"),
            Choice::Refuse => ("同意しない", "Refuse consent"),
            Choice::ProviderError(RedirectError::LoginRequired) => {
                ("ログインが必要", "login_required")
            }
            Choice::ProviderError(RedirectError::ServerError) => ("サーバエラー", "server_error"),
            Choice::ProviderError(RedirectError::TemporarilyUnavailable) => {
                ("一時的に利用不可", "temporarily_unavailable")
            }
            Choice::ProviderError(RedirectError::AccessDenied) => ("拒否", "access_denied"),
        }
    }
}

/// The tester's answer, as the page's form posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The id of the held request (the form's `request`).
    pub request: String,
    /// `response`.
    pub choice: Choice,
    /// `card`, when the choice needs one.
    pub card: Option<CardId>,
    /// `pin` (the PIN or, for a request that signs, the signature password); `None` when the
    /// field is absent or empty: the card's own.
    pub secret: Option<String>,
}

/// Why a form posted to [`TEST_RESPONSE_PATH`] is refused: each a `400`, but
/// [`FormError::CrossSite`] (`403`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormError {
    /// The body is not `application/x-www-form-urlencoded` (HTML §4.10.21.7).
    #[error("the answer is posted as application/x-www-form-urlencoded")]
    NotAForm,
    /// The body is not UTF-8 (the page is, and its forms say `accept-charset="UTF-8"`).
    #[error("the form is not UTF-8")]
    NotUtf8,
    /// The body does not decode as a form.
    #[error("the form does not decode: {0}")]
    Malformed(String),
    /// A field is given twice.
    #[error("{0} is given more than once")]
    Repeated(String),
    /// A field the choice needs is missing or empty.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A field the page never sends.
    #[error("{0:?} is not a field of the test-response form (request, response, card, pin)")]
    UnknownField(String),
    /// `response` names no choice.
    #[error("response {0:?} is none of normal, wrong_pin, refuse, login_required, server_error, temporarily_unavailable")]
    UnknownChoice(String),
    /// `card` is not a card id.
    #[error("card {card:?} is not a card id: {reason}")]
    BadCard {
        /// What was posted.
        card: String,
        /// Why it is not one.
        reason: String,
    },
    /// `card` is not provisioned in the world (any more).
    #[error("card {0} is not provisioned")]
    UnknownCard(CardId),
    /// `pin` is longer than [`MAX_SECRET`] or not printable ASCII.
    #[error("pin must be at most 16 printable ASCII characters")]
    BadSecret,
    /// The page is switched off (`POST /da/admin/v1/settings`).
    #[error("the test-response page is switched off (POST /da/admin/v1/settings {{\"test_response_page\": true}})")]
    Off,
    /// `request` names no held request: never issued, expired, or already answered.
    #[error("the authorization request {0:?} is unknown, expired or already answered: send the authorization request again")]
    UnknownRequest(String),
    /// The client or its redirect URI was withdrawn while the page was open.
    #[error("client {0:?} or its redirect URI is no longer registered")]
    ClientGone(String),
    /// A browser says the form came from a page of another site (`Sec-Fetch-Site`).
    #[error("the answer came from a page of another site (Sec-Fetch-Site {0:?}): only the test-response page answers")]
    CrossSite(String),
}

/// Parses the posted form `body`; refuses what the page never sends.
pub fn parse_answer(body: &[u8]) -> Result<Answer, FormError> {
    let text = std::str::from_utf8(body).map_err(|_| FormError::NotUtf8)?;
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(text).map_err(|err| FormError::Malformed(err.to_string()))?;
    let mut fields = BTreeMap::new();
    for (name, value) in pairs {
        if !matches!(name.as_str(), "request" | "response" | "card" | "pin") {
            return Err(FormError::UnknownField(name));
        }
        if fields.insert(name.clone(), value).is_some() {
            return Err(FormError::Repeated(name));
        }
    }
    let mut field = |name: &str| fields.remove(name).filter(|v| !v.is_empty());
    let request = field("request").ok_or(FormError::Missing("request"))?;
    let response = field("response").ok_or(FormError::Missing("response"))?;
    let choice = Choice::from_name(&response).ok_or(FormError::UnknownChoice(response))?;
    let card = match (choice.needs_card(), field("card")) {
        (true, None) => return Err(FormError::Missing("card")),
        (true, Some(card)) => Some(card.parse::<CardId>().map_err(|err| FormError::BadCard {
            card,
            reason: err.to_string(),
        })?),
        (false, _) => None,
    };
    let secret = field("pin");
    if secret
        .as_deref()
        .is_some_and(|s| s.len() > MAX_SECRET || !s.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(FormError::BadSecret);
    }
    Ok(Answer {
        request,
        choice,
        card,
        secret,
    })
}

/// A PIN (or signature password) that is surely not `correct`: each digit one up (9 → 0),
/// each letter the next (Z → A); `0000` for an empty one.
pub fn wrong_secret(correct: &str) -> String {
    if correct.is_empty() {
        return "0000".into();
    }
    correct
        .chars()
        .map(|c| match c {
            '9' => '0',
            'z' => 'a',
            'Z' => 'A',
            '0'..='8' | 'a'..='y' | 'A'..='Y' => char::from(c as u8 + 1),
            _ => '0',
        })
        .collect()
}

/// `text` for HTML text or a quoted attribute value: `&`, `<`, `>`, `"`, `'` as references.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A card the page offers.
#[derive(Debug, Clone)]
pub struct CardChoice {
    /// The card id.
    pub card: String,
    /// 氏名 of the holder's persona.
    pub holder: String,
    /// The PIN field's value: the card's authentication PIN, or its signature password for a
    /// request that signs.
    pub secret: String,
}

/// What the page shows.
#[derive(Debug, Clone)]
pub struct Page {
    /// The held request's id, carried by every form.
    pub request: String,
    /// The request's client.
    pub client_id: String,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The scopes asked for.
    pub scope: String,
    /// `state`, shown for the tester to recognise the SP's request.
    pub state: String,
    /// The sign transaction, when the request signs.
    pub sign_transaction_id: Option<String>,
    /// Seconds the tester has to answer.
    pub expires_in: i64,
    /// The world's cards.
    pub cards: Vec<CardChoice>,
}

/// The HTTP headers of the page: no caching, no framing, no script, no network resource.
/// `Referrer-Policy: same-origin` keeps the form post's `Origin` (`no-referrer` would make it
/// `null`, which the server's browser rules refuse as a foreign origin).
pub const PAGE_HEADERS: [(&str, &str); 6] = [
    ("content-type", "text/html; charset=utf-8"),
    ("cache-control", "no-store"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
];

const STYLE: &str = "body{font-family:sans-serif;margin:0 auto;max-width:60em;padding:0 1em 2em;\
line-height:1.5}.banner{background:#b00020;color:#fff;padding:.8em 1em;margin:0 -1em 1em;\
font-weight:bold}.banner span{display:block;font-weight:normal}dl{display:grid;\
grid-template-columns:max-content 1fr;gap:.2em 1em}dt{font-weight:bold}dd{margin:0;\
word-break:break-all}form{border:1px solid #888;border-radius:.4em;padding:.6em 1em;\
margin:.8em 0}button{margin:.3em .4em .3em 0;padding:.4em .8em}code{word-break:break-all}";

/// The page, as a whole HTML document.
pub fn render(page: &Page) -> String {
    let mut html = String::with_capacity(4096 + 1024 * page.cards.len());
    let signing = page.sign_transaction_id.is_some();
    html.push_str("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str("<meta name=\"robots\" content=\"noindex, nofollow\">\n");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    html.push_str(
        "<title>【シミュレータ】テストレスポンス — SIMULATOR: test response (jpki-sim)</title>\n",
    );
    let _ = writeln!(html, "<style>{STYLE}</style>\n</head>\n<body>");
    html.push_str(
        "<p class=\"banner\" id=\"simulator\">シミュレータ / SIMULATOR — jpki-sim\
         <span>これはテスト用のシミュレータです。デジタル庁のデジタル認証アプリ・本番環境ではありません。\
         ここで発行されるものはテスト用の鍵で署名され、どこでも有効ではありません。</span>\
         <span lang=\"en\">This is a test simulator, not the Digital Agency's service. \
         What it issues is signed with test keys and is valid nowhere else.</span></p>\n",
    );
    html.push_str("<h1>テストレスポンス <span lang=\"en\">/ Test response</span></h1>\n");
    html.push_str(
        "<p>ログインが準備されていない認可リクエストです。カードと応答を選んでください。\
         <span lang=\"en\">No login was armed for this authorization request: pick the card \
         and the answer the user gives.</span></p>\n",
    );
    html.push_str(
        "<h2>認可リクエスト <span lang=\"en\">/ Authorization request</span></h2>\n<dl>\n",
    );
    let mut row = |term: &str, value: &str| {
        let _ = writeln!(
            html,
            "<dt>{term}</dt><dd><code>{}</code></dd>",
            escape(value)
        );
    };
    row("client_id", &page.client_id);
    row("redirect_uri", &page.redirect_uri);
    row("scope", &page.scope);
    row("state", &page.state);
    if let Some(id) = &page.sign_transaction_id {
        row("sign_transaction_id", id);
    }
    let _ = writeln!(
        html,
        "</dl>\n<p>{} 秒以内に応答してください。<span lang=\"en\">Answer within {} seconds; \
         the page answers once.</span></p>",
        page.expires_in, page.expires_in
    );
    let (secret_ja, secret_en) = if signing {
        (
            "署名用電子証明書のパスワード（6〜16桁）",
            "Signature password",
        )
    } else {
        (
            "利用者証明用電子証明書の暗証番号（4桁）",
            "Authentication PIN",
        )
    };
    html.push_str("<h2>カード <span lang=\"en\">/ Cards</span></h2>\n");
    if page.cards.is_empty() {
        html.push_str(
            "<p id=\"no-cards\">カードがありません。<span lang=\"en\">No card is provisioned \
             in the world: <code>POST /admin/v1/cards</code>, then send the authorization \
             request again.</span></p>\n",
        );
    }
    let request = escape(&page.request);
    for (n, card) in page.cards.iter().enumerate() {
        let id = escape(&card.card);
        let _ = writeln!(
            html,
            "<form method=\"post\" action=\"{TEST_RESPONSE_PATH}\" accept-charset=\"UTF-8\" \
             class=\"card\" data-card=\"{id}\">\n\
             <input type=\"hidden\" name=\"request\" value=\"{request}\">\n\
             <input type=\"hidden\" name=\"card\" value=\"{id}\">\n\
             <h3><code>{id}</code> — {}</h3>\n\
             <p><label for=\"pin-{n}\">{secret_ja} <span lang=\"en\">/ {secret_en}</span></label>\n\
             <input id=\"pin-{n}\" name=\"pin\" type=\"text\" inputmode=\"text\" \
             autocomplete=\"off\" maxlength=\"{MAX_SECRET}\" value=\"{}\"></p>\n<p>",
            escape(&card.holder),
            escape(&card.secret),
        );
        for choice in Choice::ALL.into_iter().filter(|c| c.needs_card()) {
            button(&mut html, choice);
        }
        html.push_str("</p>\n</form>\n");
    }
    html.push_str(
        "<h2>提供者側の異常 <span lang=\"en\">/ Provider-side errors</span></h2>\n\
         <p>カードを使わずに、認可サーバがエラーで応答します。<span lang=\"en\">The provider \
         answers with the error itself; no card is touched.</span></p>\n",
    );
    let _ = write!(
        html,
        "<form method=\"post\" action=\"{TEST_RESPONSE_PATH}\" accept-charset=\"UTF-8\" \
         class=\"provider\">\n<input type=\"hidden\" name=\"request\" value=\"{request}\">\n<p>"
    );
    for choice in Choice::ALL.into_iter().filter(|c| !c.needs_card()) {
        button(&mut html, choice);
    }
    html.push_str("</p>\n</form>\n");
    html.push_str(
        "<p><small>jpki-sim — docs/digital-agency.md, “Test-response page”.</small></p>\n\
         </body>\n</html>\n",
    );
    html
}

fn button(html: &mut String, choice: Choice) {
    let (ja, en) = choice.label();
    let _ = writeln!(
        html,
        "<button type=\"submit\" name=\"response\" value=\"{}\">{ja} <span lang=\"en\">/ {}</span></button>",
        choice.name(),
        escape(en)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_round_trips_through_its_name() {
        for choice in Choice::ALL {
            assert_eq!(Choice::from_name(choice.name()), Some(choice));
        }
        assert_eq!(Choice::from_name("access_denied"), None);
    }

    #[test]
    fn a_wrong_secret_differs_from_the_correct_one_in_every_character() {
        assert_eq!(wrong_secret("1234"), "2345");
        assert_eq!(wrong_secret("9990"), "0001");
        assert_eq!(wrong_secret("ABZ789"), "BCA890");
        assert_eq!(wrong_secret(""), "0000");
    }

    #[test]
    fn escaping_covers_the_five_characters() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
