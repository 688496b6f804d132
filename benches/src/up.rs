//! A `jpki-sim up` child process with one card attached to a vpcd reader of a running pcscd.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// vpcd port of the first reader, "Virtual PCD 00 00".
pub const VPCD_PORT: u16 = 35963;
/// PC/SC name of the reader behind [`VPCD_PORT`].
pub const VPCD_READER: &str = "Virtual PCD 00 00";

/// The `jpki-sim` binary: `$JPKI_SIM_BIN`, else next to the running executable's profile
/// directory (`target/<profile>/deps/<bench>` → `target/<profile>/jpki-sim`), else
/// `$CARGO_TARGET_DIR` or the workspace's `target/`, release before debug.
pub fn locate_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("JPKI_SIM_BIN").map(PathBuf::from) {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("JPKI_SIM_BIN={} does not exist", path.display()))
        };
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(profile_dir) = exe.parent().and_then(Path::parent) {
            candidates.push(profile_dir.join("jpki-sim"));
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    candidates.push(target.join("release/jpki-sim"));
    candidates.push(target.join("debug/jpki-sim"));
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no jpki-sim binary (looked at {}); build it first with \
             `cargo build --release -p jpki-sim`, or set JPKI_SIM_BIN",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// Lines of `/proc/net/tcp` as (local port, remote port, state).
fn tcp_sockets() -> Vec<(u16, u16, u8)> {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return Vec::new();
    };
    let port = |addr: &str| {
        addr.rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let local = port(fields.next()?)?;
            let remote = port(fields.next()?)?;
            let state = u8::from_str_radix(fields.next()?, 16).ok()?;
            Some((local, remote, state))
        })
        .collect()
}

const TCP_ESTABLISHED: u8 = 0x01;
const TCP_LISTEN: u8 = 0x0A;

/// Whether pcscd's vpcd listens on `port`. Read from /proc, never by connecting: vpcd would take
/// a probe connection for a card.
pub fn vpcd_listening(port: u16) -> bool {
    tcp_sockets()
        .iter()
        .any(|&(local, _, state)| local == port && state == TCP_LISTEN)
}

/// Whether a virtual card (another `jpki-sim up`, a test) is already attached to `port`.
pub fn vpcd_in_use(port: u16) -> bool {
    tcp_sockets().iter().any(|&(local, remote, state)| {
        state == TCP_ESTABLISHED && (local == port || remote == port)
    })
}

/// A running `jpki-sim up`; SIGTERM and wait on drop.
pub struct Up {
    child: Child,
    /// The HTTP base URL from the ready line.
    pub url: String,
}

impl Up {
    /// Starts `binary up --listen 127.0.0.1:0 --card <card> --vpcd 127.0.0.1:<port>` and waits
    /// for its ready line. Derived keys come from the default per-user key cache, so only the
    /// first start on a machine pays for key generation.
    pub fn start(binary: &Path, card: &str, vpcd_port: u16) -> Result<Up, String> {
        let mut child = Command::new(binary)
            .args(["up", "--listen", "127.0.0.1:0", "--card", card, "--vpcd"])
            .arg(format!("127.0.0.1:{vpcd_port}"))
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("jpki-sim: ready at ") {
                    let url = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(url.to_owned());
                }
            }
        });
        let mut up = Up {
            child,
            url: String::new(),
        };
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => {
                up.url = url;
                Ok(up)
            }
            Err(_) => Err("jpki-sim up printed no ready line within 120 s".to_owned()),
        }
    }

    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on the pid of our own, not yet reaped, child.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        self.terminate();
    }
}
