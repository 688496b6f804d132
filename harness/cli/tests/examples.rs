//! Every request in `examples/` against a live `jpki-sim up`, so that the examples cannot rot:
//! the `.http` file's requests each answered 2xx, and `curl.sh` run to its end.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::unfriendly::{addr_of, request};
use support::Up;

/// `jpki-sim up` with no card and its key cache in `dir`: the examples provision their own.
fn up(dir: &Path) -> Up {
    let cache = dir.join("keys.sqlite");
    Up::start(&["--no-vpcd", "--key-cache", cache.to_str().unwrap()])
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// One request of an `.http` file: its title, method, target, headers and body.
#[derive(Debug)]
struct HttpRequest {
    title: String,
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// The requests of an `.http` file in the editor clients' format: `@name = value` variables,
/// `### title` separators, a request line, headers, a blank line, a body; `#` comments.
fn parse(text: &str, base: &str) -> Vec<HttpRequest> {
    let mut requests = Vec::new();
    for block in text.split("\n###").skip(1) {
        let (title, rest) = block.split_once('\n').unwrap_or((block, ""));
        let mut lines = rest.lines().filter(|line| !line.starts_with('#'));
        let Some(request_line) = lines.find(|line| !line.trim().is_empty()) else {
            continue;
        };
        let (method, target) = request_line.split_once(' ').expect("METHOD URL");
        let mut headers = Vec::new();
        let mut body = String::new();
        let mut in_body = false;
        for line in lines {
            if in_body {
                body.push_str(line);
                body.push('\n');
            } else if line.trim().is_empty() {
                in_body = true;
            } else {
                let (name, value) = line.split_once(':').expect("a header");
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        requests.push(HttpRequest {
            title: title.trim().to_owned(),
            method: method.to_owned(),
            target: target.trim().replace("{{base}}", base),
            headers,
            body: body.trim().to_owned(),
        });
    }
    requests
}

#[test]
fn every_request_of_the_http_file_is_answered_2xx() {
    let text = std::fs::read_to_string(examples().join("requests.http")).unwrap();
    assert!(text.contains("@base = http://127.0.0.1:8700"));
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    let addr = addr_of(&up.url);
    let requests = parse(&text, &up.url);
    assert!(requests.len() >= 15, "{requests:?}");
    for example in &requests {
        let path = example
            .target
            .strip_prefix(&up.url)
            .expect("under {{base}}");
        let mut head = format!("{} {path} HTTP/1.1\r\nHost: {addr}\r\n", example.method);
        for (name, value) in &example.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            example.body.len()
        ));
        let (status, answer) = request(
            addr,
            &head,
            example.body.as_bytes(),
            Duration::from_secs(60),
        )
        .unwrap_or_else(|err| panic!("{}: {err}", example.title));
        assert!(
            (200..300).contains(&status),
            "{}: {} {path} answered {status}: {}",
            example.title,
            example.method,
            String::from_utf8_lossy(&answer)
        );
    }
    up.stop();
}

#[test]
fn the_curl_examples_run_to_their_end() {
    let dir = tempfile::tempdir().unwrap();
    let up = up(dir.path());
    let out = std::process::Command::new("bash")
        .arg(examples().join("curl.sh"))
        .env("BASE", &up.url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The bridge's status word, OpenSSL's verdict on the OCSP answer, J-LIS's status.
    assert!(stdout.contains("90 00"), "{stdout}");
    assert!(stdout.contains(": good"), "{stdout}");
    assert!(stdout.contains("\"status\""), "{stdout}");
    up.stop();
}
