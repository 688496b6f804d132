//! An adapter as a child process: `sh -c COMMAND`, JSON lines on its stdin and stdout, its
//! stderr kept (the last lines) for failure messages.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::wire::{
    AdapterMessage, Environment, HarnessMessage, Operation, Request, Response, VERSION,
};
use crate::AdapterError;
use vocab::{Feature, Role};

/// Lines of stderr kept for failure messages.
const STDERR_LINES: usize = 20;

/// How long a failing process is given to exit and finish its stderr.
const SETTLE: Duration = Duration::from_millis(500);

/// How long `bye` waits for the process to exit before it is killed.
const BYE_GRACE: Duration = Duration::from_secs(2);

/// A running adapter process that has answered `hello`.
pub struct ProcessAdapter {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Set when stderr reaches its end.
    stderr_done: Arc<std::sync::atomic::AtomicBool>,
    timeout: Duration,
    next_id: u64,
    /// The adapter's name, from its `hello`.
    pub name: String,
    /// What it supports, from its `hello`.
    pub features: Vec<Feature>,
}

impl ProcessAdapter {
    /// Spawns `sh -c command`, says `hello` as `role` with `environment`, and waits at most
    /// `timeout` for its answer (and for each response later).
    pub fn spawn(
        command: &str,
        role: Role,
        environment: Environment,
        timeout: Duration,
    ) -> Result<ProcessAdapter, AdapterError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| AdapterError::Spawn {
                command: command.to_owned(),
                source,
            })?;
        let (lines, (stderr, stderr_done)) = match (child.stdout.take(), child.stderr.take()) {
            (Some(stdout), Some(stderr)) => (read_lines(stdout), keep_tail(stderr)),
            _ => {
                let _ = child.kill();
                return Err(AdapterError::Spawn {
                    command: command.to_owned(),
                    source: std::io::Error::other("no pipes to the process"),
                });
            }
        };
        let mut adapter = ProcessAdapter {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr,
            stderr_done,
            timeout,
            next_id: 1,
            name: String::new(),
            features: Vec::new(),
        };
        adapter.send(&HarnessMessage::Hello {
            version: VERSION,
            role,
            environment,
        })?;
        match adapter.receive("hello")? {
            AdapterMessage::Hello {
                version: VERSION,
                name,
                features,
            } => {
                adapter.name = name;
                adapter.features = features;
                Ok(adapter)
            }
            AdapterMessage::Hello { version, .. } => Err(adapter.broke(format!(
                "it speaks protocol version {version}, not {VERSION}"
            ))),
            AdapterMessage::Response(_) => {
                Err(adapter.broke("it answered hello with a response".to_owned()))
            }
        }
    }

    /// Sends `operation` and returns the response with its id.
    pub fn call(&mut self, operation: Operation) -> Result<Response, AdapterError> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&HarnessMessage::Request(Request { id, operation }))?;
        match self.receive("a response")? {
            AdapterMessage::Response(response) if response.id == id => Ok(response),
            AdapterMessage::Response(response) => Err(self.broke(format!(
                "it answered request {id} with the id {}",
                response.id
            ))),
            AdapterMessage::Hello { .. } => {
                Err(self.broke(format!("it answered request {id} with a hello")))
            }
        }
    }

    /// Writes `line` as it is (a newline is added) and answers the next line the adapter
    /// writes, unparsed: for checking how an adapter meets input the typed messages cannot
    /// express (`jpki-sim adapter check`).
    pub fn exchange_raw(&mut self, line: &str) -> Result<String, AdapterError> {
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.trim_end_matches('\n').as_bytes())
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("stdin is closed")),
        };
        if let Err(err) = written {
            self.settle();
            return Err(self.broke(format!("cannot write to it: {err}")));
        }
        self.receive_line("an answer")
    }

    /// Says `bye` and waits briefly for the process to exit; kills it otherwise. Answers how it
    /// exited, `None` when it had to be killed.
    pub fn bye(mut self) -> Option<std::process::ExitStatus> {
        let _ = self.send(&HarnessMessage::Bye);
        self.stdin = None;
        let deadline = std::time::Instant::now() + BYE_GRACE;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The last lines the process wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn send(&mut self, message: &HarnessMessage) -> Result<(), AdapterError> {
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(message.to_line().as_bytes())
                .and_then(|()| stdin.flush()),
            None => Err(std::io::Error::other("stdin is closed")),
        };
        written.map_err(|err| {
            self.settle();
            self.broke(format!("cannot write to it: {err}"))
        })
    }

    /// Waits briefly for a failing process to exit and for its last words on stderr.
    fn settle(&mut self) {
        let deadline = std::time::Instant::now() + SETTLE;
        while std::time::Instant::now() < deadline {
            let exited = matches!(self.child.try_wait(), Ok(Some(_)));
            if exited && self.stderr_done.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn receive(&mut self, what: &str) -> Result<AdapterMessage, AdapterError> {
        let line = self.receive_line(what)?;
        AdapterMessage::from_line(&line).map_err(|err| {
            let shown: String = line.chars().take(200).collect();
            self.broke(format!("it wrote a malformed line {shown:?} ({err})"))
        })
    }

    fn receive_line(&mut self, what: &str) -> Result<String, AdapterError> {
        match self.lines.recv_timeout(self.timeout) {
            Ok(line) => Ok(line),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(self.broke(format!(
                "no {what} within {:.1} s",
                self.timeout.as_secs_f64()
            ))),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.settle();
                let status = self
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map_or("closed its stdout".to_owned(), |s| format!("exited ({s})"));
                Err(self.broke(format!("it {status} instead of sending {what}")))
            }
        }
    }

    /// The adapter broke: `detail`, with its stderr tail.
    fn broke(&self, detail: String) -> AdapterError {
        AdapterError::Broken {
            detail,
            stderr: Some(self.stderr_tail()),
        }
    }
}

impl Drop for ProcessAdapter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Stdout, line by line, on a channel (so that reads can time out).
fn read_lines(stdout: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) if line.trim().is_empty() => continue,
                Ok(line) => {
                    if send.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    receive
}

/// Keeps the last [`STDERR_LINES`] lines of stderr; the flag is set at its end.
fn keep_tail(
    stderr: impl std::io::Read + Send + 'static,
) -> (
    Arc<Mutex<VecDeque<String>>>,
    Arc<std::sync::atomic::AtomicBool>,
) {
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (kept, finished) = (tail.clone(), done.clone());
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let mut kept = kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() == STDERR_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
        finished.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    (tail, done)
}
