//! Unfriendly clients for the robustness tests: slow senders of request heads, idle kept-alive
//! connections, connect-and-close storms, and a normal client timing its answers.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Raises this process's open-file soft limit to its hard limit (thousands of client sockets)
/// and returns it.
pub fn raise_open_file_limit() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// The `host:port` of a `http://host:port` URL.
pub fn addr_of(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("a loopback URL")
}

/// Whether the server has closed this connection (end of stream or reset), without waiting.
fn closed_by_server(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut reader = stream;
    let mut byte = [0u8; 512];
    let closed = loop {
        match reader.read(&mut byte) {
            Ok(0) => break true,
            // Something the server said (a 408, say): read on to see whether it closed after.
            Ok(_) => continue,
            Err(err) if err.kind() == ErrorKind::WouldBlock => break false,
            Err(_) => break true,
        }
    };
    stream.set_nonblocking(false).expect("blocking");
    closed
}

/// Connections that send a request head one header line at a time, forever (slowloris).
pub struct SlowClients {
    stop: Arc<AtomicBool>,
    closed: Arc<AtomicUsize>,
    opened: usize,
    dripper: Option<JoinHandle<()>>,
}

impl SlowClients {
    /// Opens `count` connections, each with a request line and no end of head, and keeps
    /// adding a header line to each every `every`.
    pub fn open(addr: SocketAddr, count: usize, every: Duration) -> SlowClients {
        let mut streams = Vec::with_capacity(count);
        for _ in 0..count {
            let mut stream = TcpStream::connect(addr).expect("connect a slow client");
            let _ =
                stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes());
            streams.push(Some(stream));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let closed = Arc::new(AtomicUsize::new(0));
        let dripper = {
            let stop = stop.clone();
            let closed = closed.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    for slot in streams.iter_mut() {
                        let Some(stream) = slot else { continue };
                        if closed_by_server(stream) || stream.write_all(b"X-Slow: 1\r\n").is_err() {
                            *slot = None;
                            closed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(every);
                }
            })
        };
        SlowClients {
            stop,
            closed,
            opened: count,
            dripper: Some(dripper),
        }
    }

    /// How many the server has closed so far.
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed)
    }

    /// How many were opened.
    pub fn opened(&self) -> usize {
        self.opened
    }
}

impl Drop for SlowClients {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(dripper) = self.dripper.take() {
            let _ = dripper.join();
        }
    }
}

/// Connections that asked one thing, kept alive, and then say nothing.
pub struct IdleClients {
    streams: Vec<TcpStream>,
    /// Connections refused or closed before their first answer.
    pub unanswered: usize,
}

impl IdleClients {
    /// Opens `count` connections, each answered once (`GET /healthz`, kept alive).
    pub fn open(addr: SocketAddr, count: usize) -> IdleClients {
        let mut streams = Vec::with_capacity(count);
        let mut unanswered = 0;
        for _ in 0..count {
            let Ok(mut stream) = TcpStream::connect(addr) else {
                unanswered += 1;
                continue;
            };
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            if stream.write_all(request.as_bytes()).is_err() || !read_answer(&mut stream) {
                unanswered += 1;
                continue;
            }
            streams.push(stream);
        }
        IdleClients {
            streams,
            unanswered,
        }
    }

    /// How many the server still keeps open.
    pub fn still_open(&self) -> usize {
        self.streams
            .iter()
            .filter(|stream| !closed_by_server(stream))
            .count()
    }

    /// How many were answered and kept.
    pub fn answered(&self) -> usize {
        self.streams.len()
    }
}

/// Reads one `/healthz` answer (`ok\n`) off a kept-alive connection.
fn read_answer(stream: &mut TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    while !seen.ends_with(b"\r\n\r\nok\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
    seen.starts_with(b"HTTP/1.1 200")
}

/// Connects and closes `count` times, as fast as it can.
pub fn connect_and_close(addr: SocketAddr, count: usize) -> usize {
    (0..count)
        .filter(|_| TcpStream::connect(addr).is_ok())
        .count()
}

/// One probe: its latency and the HTTP status or what went wrong.
pub type Probe = (Duration, Result<u16, String>);

/// A normal client asking `probe` every `every` and timing the answers, until stopped.
pub struct Prober {
    stop: Arc<AtomicBool>,
    results: Arc<Mutex<Vec<Probe>>>,
    thread: Option<JoinHandle<()>>,
}

impl Prober {
    /// Starts probing; `probe` returns the HTTP status or what went wrong.
    pub fn start(
        every: Duration,
        mut probe: impl FnMut() -> Result<u16, String> + Send + 'static,
    ) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let stop = stop.clone();
            let results = results.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let outcome = probe();
                    results.lock().unwrap().push((started.elapsed(), outcome));
                    std::thread::sleep(every);
                }
            })
        };
        Prober {
            stop,
            results,
            thread: Some(thread),
        }
    }

    /// Stops and returns every probe's latency and outcome.
    pub fn finish(mut self) -> Vec<Probe> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        std::mem::take(&mut *self.results.lock().unwrap())
    }
}

/// One request on a new connection with a deadline: the status, or what went wrong.
pub fn request(
    addr: SocketAddr,
    head: &str,
    body: &[u8],
    deadline: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let mut stream = TcpStream::connect_timeout(&addr, deadline).map_err(|err| err.to_string())?;
    stream
        .set_read_timeout(Some(deadline))
        .map_err(|err| err.to_string())?;
    stream
        .set_write_timeout(Some(deadline))
        .map_err(|err| err.to_string())?;
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|err| format!("write: {err}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|err| format!("read: {err}"))?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no status line in {} bytes", response.len()))?;
    let body = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or_else(Vec::new, |end| response[end + 4..].to_vec());
    Ok((status, body))
}
