//! The world's durable state in an embedded SQLite database.
//!
//! One file (`<state dir>/world.sqlite`) holds the key cache (derived RSA keys as PKCS#8, so a
//! second start skips key generation), the provisioned cards and each card's PIN state. Every
//! write is its own transaction and returns only after it commits, so an acknowledged change
//! survives a crash of the process (WAL journal, `synchronous=NORMAL`: durable against process
//! death, not against power loss of the host).

pub(crate) mod rows;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// Bumped when the schema changes incompatibly; older files are refused with a clear error.
const SCHEMA_VERSION: i64 = 2;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory of `--state DIR` (or of the database file) cannot be created.
    #[error("cannot create state directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What creating it failed with.
        #[source]
        source: std::io::Error,
    },
    /// SQLite cannot open the file (not a database, no permission).
    #[error("cannot open state database {path}")]
    Open {
        /// The database file (`:memory:` for an in-memory store).
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a build with another schema; it is refused, never migrated.
    #[error(
        "state database {path} has schema version {found}, this build reads version {expected}"
    )]
    SchemaVersion {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
        /// The version this build writes.
        expected: i64,
    },
    /// A statement or transaction failed (disk full, a locked file, a corrupt page).
    #[error("state database query failed")]
    Sqlite(#[from] rusqlite::Error),
}

/// A provisioned card as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardRecord {
    /// The canonical card id.
    pub card: String,
    /// The current card generation.
    pub generation: u32,
    /// Persona overrides as YAML text, if any were given.
    pub overrides: Option<String>,
    /// The current persona (JSON) once life events changed it; derived again otherwise.
    pub persona_json: Option<String>,
    /// How many times the signature certificate was re-issued in this generation.
    pub sign_revision: u32,
    /// `active`, `deceased`, `emigrated`, `lost`, `suspended`.
    pub life: String,
}

/// A certificate row (see [`crate::registry::CertRecord`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// The serial, upper-case hex.
    pub serial_hex: String,
    /// `sign` or `auth`.
    pub hierarchy: String,
    /// The holder's canonical card id.
    pub card: String,
    /// The card generation it was issued for.
    pub generation: u32,
    /// Re-issue count within the generation (0 = issued with the card).
    pub revision: u32,
    /// 5-digit municipality code of the holder at issuance.
    pub municipality_code: String,
    /// The prefecture of the CRL distribution point.
    pub prefecture_romaji: String,
    /// The municipality of the CRL distribution point.
    pub municipality_romaji: String,
    /// Start of validity, RFC 3339.
    pub not_before: String,
    /// End of validity, RFC 3339.
    pub not_after: String,
    /// When it was revoked, RFC 3339; `None` while it never was.
    pub revoked_at: Option<String>,
    /// The revocation reason's snake_case name (`affiliation_changed`), with `revoked_at`.
    pub reason: Option<String>,
    /// The serial (upper-case hex) of the certificate that replaced it.
    pub superseded_by: Option<String>,
    /// The certificate itself (DER), so a restart serves the very same bytes.
    pub der: Vec<u8>,
}

/// Everything one life event changes, written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct EventCommit {
    /// The canonical card id.
    pub card: String,
    /// The event's kind, snake_case (`address_change`).
    pub kind: String,
    /// When it happened by the world clock, RFC 3339.
    pub at: String,
    /// The request as JSON, for the audit trail.
    pub body: String,
    /// The card's row after the event.
    pub card_record: Option<CardRecord>,
    /// Certificates to insert or replace (new ones, and revoked or superseded old ones).
    pub certificates: Vec<CertificateRow>,
}

/// A consent to the latest basic-4-info service, as recorded in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Assigned by the store on insert (ignored by [`Store::insert_consent`]).
    pub id: i64,
    /// The signature certificate the consent document was signed with (upper-case hex).
    pub serial_hex: String,
    /// The holder's canonical card id: consents are looked up by card, then by chain.
    pub card: String,
    /// When it was granted, RFC 3339.
    pub granted_at: String,
    /// When it stops being in force, RFC 3339.
    pub expires_at: String,
    /// When it was first withdrawn, RFC 3339; `None` while it never was.
    pub withdrawn_at: Option<String>,
    /// SHA-256 of the signed consent document (hex): the evidence, not the document itself.
    pub document_sha256: String,
}

/// A handle on the state database. Cheap operations, one connection behind a mutex.
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) `world.sqlite` inside `dir`.
    pub fn open_dir(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        let path = dir.join("world.sqlite");
        owner_only(dir, &path).map_err(|source| StoreError::CreateDir {
            path: dir.to_owned(),
            source,
        })?;
        Self::open(&path)
    }

    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(connect(path)?, path.to_owned())
    }

    /// Opens (creating if needed) a file used only as a key cache. Its keys do not depend on the
    /// world schema, so a cache written by another version is reused, never refused: only the
    /// `key_cache` table is touched.
    pub fn open_key_cache(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The cache holds private keys: only its owner reads it. A directory that does not
            // exist yet is left to `connect`'s error.
            if dir.is_dir() {
                let _ = owner_only_file(path);
            }
        }
        let conn = connect(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        enable_wal(&conn)?;
        conn.execute_batch(
            "BEGIN IMMEDIATE;
             CREATE TABLE IF NOT EXISTS key_cache (seed BLOB PRIMARY KEY, pkcs8 BLOB NOT NULL);
             COMMIT;",
        )?;
        Ok(Store {
            path: path.to_owned(),
            conn: Mutex::new(conn),
        })
    }

    /// A private in-memory store: the world is gone when it is dropped.
    pub fn in_memory() -> Result<Self, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: PathBuf::from(":memory:"),
            source,
        })?;
        Self::init(conn, PathBuf::from(":memory:"))
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records a consent; returns its id.
    pub fn insert_consent(&self, row: &ConsentRow) -> Result<i64, StoreError> {
        let conn = self.lock();
        conn.execute(
            "INSERT INTO consents (serial, card, granted_at, expires_at, withdrawn_at, document_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                row.serial_hex,
                row.card,
                row.granted_at,
                row.expires_at,
                row.withdrawn_at,
                row.document_sha256,
            ],
        )?;
        Ok(conn.last_insert_rowid())
    }

    /// Every consent given with any certificate of `card`, oldest first.
    pub fn consents_of_card(&self, card: &str) -> Result<Vec<ConsentRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT id, serial, card, granted_at, expires_at, withdrawn_at, document_sha256
             FROM consents WHERE card = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([card], |row| {
            Ok(ConsentRow {
                id: row.get(0)?,
                serial_hex: row.get(1)?,
                card: row.get(2)?,
                granted_at: row.get(3)?,
                expires_at: row.get(4)?,
                withdrawn_at: row.get(5)?,
                document_sha256: row.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks the consents `ids` withdrawn at `at` in one transaction (already withdrawn ones keep
    /// their first withdrawal time).
    pub fn withdraw_consents(&self, ids: &[i64], at: &str) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        for id in ids {
            tx.execute(
                "UPDATE consents SET withdrawn_at = ?2 WHERE id = ?1 AND withdrawn_at IS NULL",
                params![id, at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The cached PKCS#8 of the key derived from `seed`, if it was derived before.
    pub fn cached_key(&self, seed: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT pkcs8 FROM key_cache WHERE seed = ?1",
                [&seed[..]],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Caches the PKCS#8 of the key derived from `seed` (the seed's 32 bytes).
    pub fn put_key(&self, seed: &[u8; 32], pkcs8: &[u8]) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT OR REPLACE INTO key_cache (seed, pkcs8) VALUES (?1, ?2)",
            params![&seed[..], pkcs8],
        )?;
        Ok(())
    }

    /// Records a provisioned card and its certificates in one transaction (idempotent: the
    /// latest values win).
    pub fn put_card(
        &self,
        record: &CardRecord,
        certificates: &[CertificateRow],
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        upsert_card(&tx, record)?;
        for certificate in certificates {
            upsert_certificate(&tx, certificate)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Every provisioned card, by card id.
    pub fn cards(&self) -> Result<Vec<CardRecord>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT card, generation, overrides, persona_json, sign_revision, life FROM cards ORDER BY card",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(CardRecord {
                card: row.get(0)?,
                generation: row.get(1)?,
                overrides: row.get(2)?,
                persona_json: row.get(3)?,
                sign_revision: row.get(4)?,
                life: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every certificate the world issued, with its DER.
    pub fn certificates(&self) -> Result<Vec<CertificateRow>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT serial, hierarchy, card, generation, revision, municipality_code, prefecture_romaji,
                    municipality_romaji, not_before, not_after, revoked_at, reason, superseded_by, der
             FROM certificates",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(CertificateRow {
                serial_hex: row.get(0)?,
                hierarchy: row.get(1)?,
                card: row.get(2)?,
                generation: row.get(3)?,
                revision: row.get(4)?,
                municipality_code: row.get(5)?,
                prefecture_romaji: row.get(6)?,
                municipality_romaji: row.get(7)?,
                not_before: row.get(8)?,
                not_after: row.get(9)?,
                revoked_at: row.get(10)?,
                reason: row.get(11)?,
                superseded_by: row.get(12)?,
                der: row.get(13)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes one life event and everything it changes atomically; returns the event's id.
    pub fn commit_event(&self, commit: &EventCommit) -> Result<i64, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO events (card, kind, at, body) VALUES (?1, ?2, ?3, ?4)",
            params![commit.card, commit.kind, commit.at, commit.body],
        )?;
        let id = tx.last_insert_rowid();
        if let Some(record) = &commit.card_record {
            upsert_card(&tx, record)?;
        }
        for certificate in &commit.certificates {
            upsert_certificate(&tx, certificate)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Number of events recorded for `card` (all kinds).
    pub fn event_count(&self, card: &str) -> Result<u64, StoreError> {
        let conn = self.lock();
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM events WHERE card = ?1",
            [card],
            |row| row.get(0),
        )?)
    }

    /// The persisted clock mode (JSON), if the clock was ever set or moved.
    pub fn clock(&self) -> Result<Option<String>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row("SELECT mode FROM clock WHERE id = 1", [], |row| row.get(0))
            .optional()?)
    }

    /// Persists the clock mode (JSON of [`crate::clock::ClockMode`]); the world does so before
    /// the clock moves.
    pub fn put_clock(&self, mode_json: &str) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT INTO clock (id, mode) VALUES (1, ?1) ON CONFLICT(id) DO UPDATE SET mode = excluded.mode",
            [mode_json],
        )?;
        Ok(())
    }

    /// The card's persisted PIN state (JSON of `sim_card::PinSnapshot`) for one generation.
    pub fn pin_state(&self, card: &str, generation: u32) -> Result<Option<String>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT snapshot FROM pin_state WHERE card = ?1 AND generation = ?2",
                params![card, generation],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Persists the card's PIN state (JSON of `sim_card::PinSnapshot`) for one generation,
    /// whenever the card OS reports its counters changed.
    pub fn put_pin_state(
        &self,
        card: &str,
        generation: u32,
        snapshot_json: &str,
    ) -> Result<(), StoreError> {
        self.lock().execute(
            "INSERT OR REPLACE INTO pin_state (card, generation, snapshot) VALUES (?1, ?2, ?3)",
            params![card, generation, snapshot_json],
        )?;
        Ok(())
    }

    fn init(conn: Connection, path: PathBuf) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        enable_wal(&conn)?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        match found {
            0 => {
                conn.execute_batch(
                    "BEGIN IMMEDIATE;
                     CREATE TABLE IF NOT EXISTS key_cache (seed BLOB PRIMARY KEY, pkcs8 BLOB NOT NULL);
                     CREATE TABLE IF NOT EXISTS cards (card TEXT PRIMARY KEY, generation INTEGER NOT NULL,
                         overrides TEXT, persona_json TEXT, sign_revision INTEGER NOT NULL DEFAULT 0,
                         life TEXT NOT NULL DEFAULT 'active');
                     CREATE TABLE IF NOT EXISTS pin_state (card TEXT NOT NULL, generation INTEGER NOT NULL,
                         snapshot TEXT NOT NULL, PRIMARY KEY (card, generation));
                     CREATE TABLE IF NOT EXISTS certificates (serial TEXT NOT NULL, hierarchy TEXT NOT NULL,
                         card TEXT NOT NULL, generation INTEGER NOT NULL, revision INTEGER NOT NULL,
                         municipality_code TEXT NOT NULL, prefecture_romaji TEXT NOT NULL,
                         municipality_romaji TEXT NOT NULL, not_before TEXT NOT NULL, not_after TEXT NOT NULL,
                         revoked_at TEXT, reason TEXT, superseded_by TEXT, der BLOB NOT NULL,
                         PRIMARY KEY (hierarchy, serial));
                     CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, card TEXT NOT NULL,
                         kind TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL);
                     CREATE TABLE IF NOT EXISTS clock (id INTEGER PRIMARY KEY CHECK (id = 1), mode TEXT NOT NULL);
                     CREATE TABLE IF NOT EXISTS consents (id INTEGER PRIMARY KEY AUTOINCREMENT,
                         serial TEXT NOT NULL, card TEXT NOT NULL, granted_at TEXT NOT NULL,
                         expires_at TEXT NOT NULL, withdrawn_at TEXT, document_sha256 TEXT NOT NULL);
                     CREATE INDEX IF NOT EXISTS consents_by_card ON consents (card);
                     COMMIT;",
                )?;
                conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            found => {
                return Err(StoreError::SchemaVersion {
                    path,
                    found,
                    expected: SCHEMA_VERSION,
                })
            }
        }
        Ok(Store {
            path,
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Switches the file to write-ahead logging (a property of the file, so usually already done).
/// The switch needs the file to itself, and SQLite answers BUSY without waiting when another
/// connection opens it at the same moment, so it is retried for a few seconds.
fn enable_wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
        if mode.eq_ignore_ascii_case("wal") || mode.eq_ignore_ascii_case("memory") {
            return Ok(());
        }
        match conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
        {
            Ok(_) => return Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens the database file at `path`, creating its directory first.
fn connect(path: &Path) -> Result<Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    Connection::open(path).map_err(|source| StoreError::Open {
        path: path.to_owned(),
        source,
    })
}

fn upsert_card(tx: &rusqlite::Transaction<'_>, record: &CardRecord) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT INTO cards (card, generation, overrides, persona_json, sign_revision, life)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(card) DO UPDATE SET generation = excluded.generation, overrides = excluded.overrides,
             persona_json = excluded.persona_json, sign_revision = excluded.sign_revision, life = excluded.life",
        params![
            record.card,
            record.generation,
            record.overrides,
            record.persona_json,
            record.sign_revision,
            if record.life.is_empty() { "active" } else { record.life.as_str() },
        ],
    )?;
    Ok(())
}

fn upsert_certificate(
    tx: &rusqlite::Transaction<'_>,
    row: &CertificateRow,
) -> Result<(), rusqlite::Error> {
    tx.execute(
        "INSERT OR REPLACE INTO certificates (serial, hierarchy, card, generation, revision, municipality_code,
             prefecture_romaji, municipality_romaji, not_before, not_after, revoked_at, reason, superseded_by, der)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            row.serial_hex,
            row.hierarchy,
            row.card,
            row.generation,
            row.revision,
            row.municipality_code,
            row.prefecture_romaji,
            row.municipality_romaji,
            row.not_before,
            row.not_after,
            row.revoked_at,
            row.reason,
            row.superseded_by,
            row.der,
        ],
    )?;
    Ok(())
}

/// The state directory and its database readable by their owner only (0700, 0600): they hold
/// every card's and CA's private key and the PINs. SQLite gives the `-wal` and `-shm` files the
/// database's mode. Existing state is tightened too.
fn owner_only(dir: &Path, database: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    owner_only_file(database)
}

/// Creates `file` empty and 0600 if it is missing, and makes an existing one 0600.
///
/// An existing file is never opened here: closing any descriptor of a file drops every POSIX
/// lock this process holds on it, so opening and closing a database another connection of this
/// process is using would let a second process write under that connection's feet (a key cache
/// shared by parallel worlds was corrupted that way). `create_new` opens only a file it creates.
fn owner_only_file(file: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(file)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The state holds private keys and PINs: the directory and every database file are its
    /// owner's alone, also when the state existed with looser modes.
    #[test]
    #[cfg(unix)]
    fn state_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("state");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        {
            let store = Store::open_dir(&dir).unwrap();
            store
                .put_clock(r#"{"mode":"following","offset_seconds":0}"#)
                .unwrap();
            assert_eq!(mode(&dir), 0o700);
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
        let cache = parent.path().join("keys.sqlite");
        Store::open_key_cache(&cache)
            .unwrap()
            .put_key(&[1; 32], b"pkcs8")
            .unwrap();
        assert_eq!(mode(&cache), 0o600);
    }

    #[test]
    fn state_survives_reopening_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let seed = [7u8; 32];
        {
            let store = Store::open_dir(dir.path()).unwrap();
            store.put_key(&seed, b"pkcs8").unwrap();
            store
                .put_card(
                    &CardRecord {
                        card: "felica:0123456789ABCDEF".into(),
                        generation: 1,
                        ..CardRecord::default()
                    },
                    &[],
                )
                .unwrap();
            store
                .put_pin_state("felica:0123456789ABCDEF", 1, "{\"x\":1}")
                .unwrap();
        }
        let store = Store::open_dir(dir.path()).unwrap();
        assert_eq!(
            store.cached_key(&seed).unwrap().as_deref(),
            Some(&b"pkcs8"[..])
        );
        assert_eq!(store.cached_key(&[0u8; 32]).unwrap(), None);
        assert_eq!(store.cards().unwrap().len(), 1);
        assert_eq!(
            store
                .pin_state("felica:0123456789ABCDEF", 1)
                .unwrap()
                .as_deref(),
            Some("{\"x\":1}")
        );
        assert_eq!(store.pin_state("felica:0123456789ABCDEF", 2).unwrap(), None);
    }

    #[test]
    fn put_card_is_idempotent_and_latest_generation_wins() {
        let store = Store::in_memory().unwrap();
        for generation in [1, 1, 2] {
            store
                .put_card(
                    &CardRecord {
                        card: "typea:04A1B2C3".into(),
                        generation,
                        ..CardRecord::default()
                    },
                    &[],
                )
                .unwrap();
        }
        let cards = store.cards().unwrap();
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].generation, 2);
    }

    #[test]
    fn a_key_cache_of_any_schema_version_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.sqlite");
        let old = Connection::open(&path).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        old.execute_batch("CREATE TABLE key_cache (seed BLOB PRIMARY KEY, pkcs8 BLOB NOT NULL);")
            .unwrap();
        old.execute(
            "INSERT INTO key_cache VALUES (?1, ?2)",
            params![&[9u8; 32][..], b"k".as_slice()],
        )
        .unwrap();
        drop(old);
        let cache = Store::open_key_cache(&path).unwrap();
        assert_eq!(
            cache.cached_key(&[9u8; 32]).unwrap().as_deref(),
            Some(&b"k"[..])
        );
        let fresh = Store::open_key_cache(&dir.path().join("new/keys.sqlite")).unwrap();
        fresh.put_key(&[1u8; 32], b"x").unwrap();
        assert!(fresh.cached_key(&[1u8; 32]).unwrap().is_some());
    }

    #[test]
    fn many_openers_of_a_new_file_at_once_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.sqlite");
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|i| {
                    let path = &path;
                    scope.spawn(move || {
                        let store = if i % 2 == 0 {
                            Store::open_key_cache(path)
                        } else {
                            Store::open(path)
                        };
                        store
                            .map(|s| s.put_key(&[i as u8; 32], b"k"))
                            .err()
                            .map(|e| e.to_string())
                    })
                })
                .collect();
            for handle in handles {
                assert_eq!(handle.join().unwrap(), None);
            }
        });
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.sqlite");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = Store::open(&path).err().expect("must refuse");
        assert!(err.to_string().contains("schema version 99"), "{err}");
    }
}
