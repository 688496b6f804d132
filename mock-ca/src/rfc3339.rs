//! Instants in messages as RFC 3339 (`2026-12-02T19:31:47Z`): the form the admin API takes and
//! the JSON answers carry, so a user can paste what an error says back into a request. `time`'s
//! own Display (`2026-12-02 19:31:47.0 +00:00:00`) is neither.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// `instant` shown as RFC 3339.
pub fn rfc3339(instant: &OffsetDateTime) -> impl fmt::Display + '_ {
    Shown(instant)
}

struct Shown<'a>(&'a OffsetDateTime);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(text) => f.write_str(&text),
            // Years outside 0000–9999 have no RFC 3339 form; say it as `time` does.
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn instants_read_as_the_api_writes_them() {
        assert_eq!(
            rfc3339(&datetime!(2026-12-02 19:31:47 UTC)).to_string(),
            "2026-12-02T19:31:47Z"
        );
        assert_eq!(
            rfc3339(&datetime!(2026-12-02 19:31:47.5 +09:00)).to_string(),
            "2026-12-02T19:31:47.5+09:00"
        );
    }
}
