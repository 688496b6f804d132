//! `jpki-sim adapter check`: an adapter driven through every message of the protocol with
//! valid and invalid input, each answer checked against the protocol's JSON Schema and rules
//! (docs/adapter-protocol.md) and reported message by message. A scenario run says whether an
//! adapter's verdicts are right; this says, first, whether it speaks the protocol — a wrong
//! message shows up here as the message, not as a failed scenario.

pub mod materials;
pub mod probes;
mod schema;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adapter_protocol::{AdapterLink, AdapterSpec, HarnessMessage, VERSION};
use serde::Serialize;
use serde_json::{json, Value};
use vocab::{Feature, Role};

use materials::Materials;
use probes::{Expect, Probe};
use schema::Schemas;

/// What to check and how long to wait.
#[derive(Debug, Clone)]
pub struct CheckConfig {
    /// The adapter: its role and its command or URL.
    pub adapter: AdapterSpec,
    /// How long one answer may take.
    pub timeout: Duration,
    /// Where derived RSA keys are cached across runs.
    pub key_cache: Option<PathBuf>,
}

/// The check could not be made (not the adapter's fault).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The async runtime for the world's server could not start.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The world the adapter is pointed at could not be made.
    #[error("cannot make the world to check against: {0}")]
    World(String),
}

/// How one message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Answered as the protocol says.
    Ok,
    /// Answered otherwise, or broke.
    Wrong,
    /// Not tried: the adapter does not claim the feature and said `unsupported`, or an earlier
    /// break ended the session.
    Skipped,
}

/// One message and how the adapter met it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The message (`hello`, `request check_status (no enrolment field)`, `bye`).
    pub message: String,
    /// How it went.
    pub verdict: Verdict,
    /// What came back, or what was wrong with it.
    pub detail: String,
}

/// Everything the check found.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// `ROLE=COMMAND|URL`, as given.
    pub adapter: String,
    /// The name its `hello` gave, if it answered one.
    pub name: Option<String>,
    /// The features its `hello` claimed.
    pub features: Vec<Feature>,
    /// Message by message, in the order sent.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// How many messages were answered wrong.
    pub fn wrong(&self) -> usize {
        self.count(Verdict::Wrong)
    }

    fn count(&self, verdict: Verdict) -> usize {
        self.findings
            .iter()
            .filter(|f| f.verdict == verdict)
            .count()
    }

    /// One line per message (`ok`, `WRONG`, `skip`), then the counts.
    pub fn text(&self) -> String {
        let mut text = format!("adapter check: {}", self.adapter);
        if let Some(name) = &self.name {
            let _ = write!(text, " ({name})");
        }
        text.push('\n');
        for finding in &self.findings {
            let label = match finding.verdict {
                Verdict::Ok => "ok   ",
                Verdict::Wrong => "WRONG",
                Verdict::Skipped => "skip ",
            };
            let _ = writeln!(text, "{label} {}: {}", finding.message, finding.detail);
        }
        let _ = writeln!(
            text,
            "{} ok, {} wrong, {} skipped",
            self.count(Verdict::Ok),
            self.wrong(),
            self.count(Verdict::Skipped)
        );
        text
    }
}

/// Runs the check: a world with one card, then `hello`, every probe of the role, `bye`, and a
/// `hello` of a version the adapter cannot speak.
pub fn check(config: &CheckConfig) -> Result<CheckReport, CheckError> {
    let materials = Materials::new(config.key_cache.as_deref())?;
    let schemas = Schemas::new();
    let role = config.adapter.role;
    let target = config.adapter.target.as_str();
    let cards = match role {
        Role::Sdk => vec![materials.card_handle()],
        Role::Pf => Vec::new(),
    };
    let mut report = CheckReport {
        adapter: config.adapter.to_string(),
        name: None,
        features: Vec::new(),
        findings: Vec::new(),
    };
    match AdapterLink::open(target, role, materials.environment(cards), config.timeout) {
        Err(err) => report.findings.push(Finding {
            message: "hello".to_owned(),
            verdict: Verdict::Wrong,
            detail: err.to_string(),
        }),
        Ok(link) => {
            report.findings.push(judge_hello(role, &link));
            report.name = Some(link.name.clone());
            report.features = link.features.clone();
            let probes = match role {
                Role::Pf => probes::pf(&materials, &link.features)?,
                Role::Sdk => probes::sdk(&materials),
            };
            session(link, &probes, &schemas, &mut report);
        }
    }
    let environment =
        serde_json::to_value(materials.environment(Vec::new())).unwrap_or_else(|_| json!({}));
    report
        .findings
        .push(wrong_version(target, role, environment, config.timeout));
    Ok(report)
}

/// The adapter's `hello`: a name, and only features of its role.
fn judge_hello(role: Role, link: &AdapterLink) -> Finding {
    let foreign: Vec<String> = link
        .features
        .iter()
        .filter(|feature| feature.role() != role)
        .map(|feature| json!(feature).as_str().unwrap_or_default().to_owned())
        .collect();
    let features: Vec<String> = link
        .features
        .iter()
        .map(|feature| json!(feature).as_str().unwrap_or_default().to_owned())
        .collect();
    let (verdict, detail) = if link.name.trim().is_empty() {
        (Verdict::Wrong, "its hello has an empty `name`".to_owned())
    } else if !foreign.is_empty() {
        (
            Verdict::Wrong,
            format!(
                "it claims {} as a {}: features of the other role",
                foreign.join(", "),
                role.name()
            ),
        )
    } else {
        (
            Verdict::Ok,
            format!(
                "{:?}, version {VERSION}, features [{}]",
                link.name,
                features.join(", ")
            ),
        )
    };
    Finding {
        message: "hello".to_owned(),
        verdict,
        detail,
    }
}

/// Sends every probe in turn, then `bye`. After a break the rest are skipped: the session is
/// gone, and what they would say depends on it.
fn session(mut link: AdapterLink, probes: &[Probe], schemas: &Schemas, report: &mut CheckReport) {
    let features = link.features.clone();
    let on_stdio = link.is_process();
    for (probe, id) in probes.iter().zip(1u64..) {
        let message = format!("request {}", probe.what);
        if probe.after_blank_line && !on_stdio {
            continue;
        }
        let mut request = probe.message.clone();
        request["id"] = json!(id);
        let mut line = request.to_string();
        if probe.after_blank_line {
            line = format!("\n{line}");
        }
        match link.exchange_raw(&line) {
            Ok(answer) => {
                let (verdict, detail) = judge(schemas, probe, id, &answer, &features);
                report.findings.push(Finding {
                    message,
                    verdict,
                    detail,
                });
            }
            Err(err) => {
                report.findings.push(Finding {
                    message,
                    verdict: Verdict::Wrong,
                    detail: err.to_string(),
                });
                let rest = probes.len() - id as usize;
                report.findings.push(Finding {
                    message: format!("the {rest} messages after it, and bye"),
                    verdict: Verdict::Skipped,
                    detail: "the adapter broke, which ends its session".to_owned(),
                });
                return;
            }
        }
    }
    report.findings.push(bye(link));
}

/// An answer against the schema, the request's id and what the probe expects.
fn judge(
    schemas: &Schemas,
    probe: &Probe,
    id: u64,
    answer: &str,
    features: &[Feature],
) -> (Verdict, String) {
    let wrong = |detail: String| (Verdict::Wrong, detail);
    let value: Value = match serde_json::from_str(answer) {
        Ok(value) => value,
        Err(err) => return wrong(format!("{:?} is not JSON ({err})", shown(answer))),
    };
    let errors = schemas.adapter_message(&value);
    if !errors.is_empty() {
        return wrong(format!(
            "{} is not an adapter message: {}",
            shown(answer),
            errors.join("; ")
        ));
    }
    if value["type"] != "response" {
        return wrong(format!("a {} answered a request", value["type"]));
    }
    if value["id"] != json!(id) {
        return wrong(format!(
            "the response to request {id} has the id {}",
            value["id"]
        ));
    }
    let claimed = probe.feature.is_none_or(|f| features.contains(&f));
    match (value.get("result"), value.get("error"), &probe.expect) {
        (Some(result), _, Expect::Result) => {
            let errors = schemas.result(&probe.op, result);
            if errors.is_empty() {
                (
                    Verdict::Ok,
                    format!("result {}", shown(&result.to_string())),
                )
            } else {
                wrong(format!(
                    "result {} is not one of `{}`: {}",
                    shown(&result.to_string()),
                    probe.op,
                    errors.join("; ")
                ))
            }
        }
        (Some(result), _, Expect::Error(code)) => wrong(format!(
            "expected error `{code}`; got result {}",
            shown(&result.to_string())
        )),
        (None, Some(error), expect) => {
            let code = error["code"].as_str().unwrap_or_default();
            let said = format!(
                "error `{code}`: {}",
                shown(error["message"].as_str().unwrap_or_default())
            );
            match expect {
                Expect::Error(want) if code == *want => (Verdict::Ok, said),
                _ if code == "unsupported" && !claimed => (
                    Verdict::Skipped,
                    format!(
                        "it does not claim `{}` and answered {said}",
                        probe
                            .feature
                            .map(|f| json!(f).as_str().unwrap_or_default().to_owned())
                            .unwrap_or_default()
                    ),
                ),
                Expect::Error(want) => wrong(format!("expected error `{want}`; got {said}")),
                Expect::Result => wrong(format!("expected a result; got {said}")),
            }
        }
        (None, None, _) => wrong("a response with neither `result` nor `error`".to_owned()),
    }
}

/// `bye`: a process exits 0 within 2 s; an HTTP session closes (`204`), after which the
/// session is unknown (`404 unknown_session`).
fn bye(link: AdapterLink) -> Finding {
    let finding = |verdict, detail: String| Finding {
        message: "bye".to_owned(),
        verdict,
        detail,
    };
    if let Some((url, session, timeout)) = link.http_session() {
        let bye = HarnessMessage::Bye.to_line();
        let request = json!({"type": "request", "id": 1, "op": "frobnicate"}).to_string();
        return match adapter_protocol::http::post_raw_to(&url, "bye", Some(&session), &bye, timeout)
        {
            Ok((204, _)) => match adapter_protocol::http::post_raw_to(
                &url,
                "request",
                Some(&session),
                &request,
                timeout,
            ) {
                Ok((404, body)) if body.contains("unknown_session") => finding(
                    Verdict::Ok,
                    "204, and the session is unknown afterwards".to_owned(),
                ),
                Ok((status, body)) => finding(
                    Verdict::Wrong,
                    format!(
                        "a request in the closed session answered HTTP {status} {}, not 404 unknown_session",
                        shown(&body)
                    ),
                ),
                Err(err) => finding(Verdict::Wrong, err.to_string()),
            },
            Ok((status, body)) => finding(
                Verdict::Wrong,
                format!("POST /bye answered HTTP {status} {}, not 204", shown(&body)),
            ),
            Err(err) => finding(Verdict::Wrong, err.to_string()),
        };
    }
    match link.bye() {
        Some(status) if status.success() => finding(Verdict::Ok, "it exited 0".to_owned()),
        Some(status) => finding(Verdict::Wrong, format!("it exited with {status}, not 0")),
        None => finding(
            Verdict::Wrong,
            "it was still running 2 s after bye".to_owned(),
        ),
    }
}

/// A `hello` of a version no adapter speaks, otherwise right: a process exits non-zero, an
/// HTTP adapter answers `400 unsupported_version`.
fn wrong_version(target: &str, role: Role, environment: Value, timeout: Duration) -> Finding {
    let hello = json!({
        "type": "hello",
        "version": VERSION + 98,
        "role": role.name(),
        "environment": environment,
    })
    .to_string();
    let message = format!("hello of version {}", VERSION + 98);
    let finding = |verdict, detail: String| Finding {
        message: message.clone(),
        verdict,
        detail,
    };
    if adapter_protocol::link::is_url(target) {
        return match adapter_protocol::http::post_raw_to(target, "hello", None, &hello, timeout) {
            Ok((400, body)) if body.contains("unsupported_version") => {
                finding(Verdict::Ok, "400 unsupported_version".to_owned())
            }
            Ok((status, body)) => finding(
                Verdict::Wrong,
                format!(
                    "answered HTTP {status} {}, not 400 unsupported_version",
                    shown(&body)
                ),
            ),
            Err(err) => finding(Verdict::Wrong, err.to_string()),
        };
    }
    let spawned = Command::new("sh")
        .arg("-c")
        .arg(target)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(err) => return finding(Verdict::Wrong, format!("cannot start it: {err}")),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(format!("{hello}\n").as_bytes());
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                return finding(Verdict::Wrong, "it exited 0".to_owned())
            }
            Ok(Some(status)) => return finding(Verdict::Ok, format!("it exited with {status}")),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return finding(
                    Verdict::Wrong,
                    format!("it was still running after {:.0} s", timeout.as_secs_f64()),
                );
            }
        }
    }
}

/// At most 160 characters of `text`, for the report.
fn shown(text: &str) -> String {
    let text = text.trim_end();
    let mut shown: String = text.chars().take(160).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}
