//! The request journal: the last requests the world answered, newest last, so that a test or a
//! developer can see what the system under test actually asked (`GET /admin/v1/requests`, as
//! HTTP mocks such as WireMock offer), and `-v` logs each one. The middleware wraps every route
//! of the router, the extensions' (`routes::router_with`, the Digital Agency's `/da`) included,
//! once: a request is one entry.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::world::World;

/// Requests kept; older ones are dropped.
pub const JOURNAL_CAPACITY: usize = 1000;

/// One answered request.
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    /// When it arrived, by the host's clock (RFC 3339, UTC): the world's clock may be elsewhere.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query.
    pub path: String,
    /// The answer's HTTP status.
    pub status: u16,
    /// From arrival to the answer being ready, milliseconds.
    pub millis: f64,
}

/// The last [`JOURNAL_CAPACITY`] requests.
#[derive(Debug, Default)]
pub struct Journal {
    entries: Mutex<VecDeque<JournalEntry>>,
}

impl Journal {
    /// Adds `entry`, dropping the oldest beyond the capacity.
    pub fn record(&self, entry: JournalEntry) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() == JOURNAL_CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The newest `limit` entries, oldest first.
    pub fn recent(&self, limit: usize) -> Vec<JournalEntry> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let skip = entries.len().saturating_sub(limit);
        entries.iter().skip(skip).cloned().collect()
    }

    /// Forgets every entry (a test starting afresh).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

/// Middleware: records each request once its answer is ready, except reads of the journal
/// itself, and logs it at debug level (`jpki-sim up -v`).
pub(crate) async fn record(
    State(world): State<Arc<World>>,
    request: Request,
    next: Next,
) -> Response {
    let at = OffsetDateTime::now_utc();
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), ToString::to_string);
    let response = next.run(request).await;
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    let status = response.status().as_u16();
    tracing::debug!(%method, %path, status, millis, "request");
    if !(method == "GET" && path.starts_with("/admin/v1/requests")) {
        world.journal().record(JournalEntry {
            at,
            method,
            path,
            status,
            millis,
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u16) -> JournalEntry {
        JournalEntry {
            at: OffsetDateTime::UNIX_EPOCH,
            method: "GET".into(),
            path: format!("/{n}"),
            status: n,
            millis: 0.0,
        }
    }

    #[test]
    fn the_journal_keeps_the_newest_entries_in_order() {
        let journal = Journal::default();
        for n in 0..(JOURNAL_CAPACITY as u16 + 5) {
            journal.record(entry(n));
        }
        let all = journal.recent(usize::MAX);
        assert_eq!(all.len(), JOURNAL_CAPACITY);
        assert_eq!(all[0].status, 5);
        let last = journal.recent(2);
        assert_eq!(
            last.iter().map(|e| e.status).collect::<Vec<_>>(),
            [JOURNAL_CAPACITY as u16 + 3, JOURNAL_CAPACITY as u16 + 4]
        );
        journal.clear();
        assert!(journal.recent(10).is_empty());
    }
}
