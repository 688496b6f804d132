//! Every report kind looked at as a person would: rendered by headless Chromium, the screenshot
//! must have ink on it, the numbers the browser shows in the summary must be the JSON report's,
//! and Japanese text must come out as glyphs, not as the boxes a browser draws without a CJK
//! font. Skipped without Chromium unless `JPKI_SIM_REQUIRE_PCSC` is set (CI sets it, and
//! scripts/setup-debian.sh installs `chromium` and `fonts-noto-cjk`).
//!
//! `JPKI_SIM_UPDATE_SCREENSHOTS=1` also copies the screenshots to `docs/images/`, the examples
//! the README shows.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::show;

const BIN: &str = env!("CARGO_BIN_EXE_jpki-sim");

/// The browser: `$CHROMIUM`, else Debian's `/usr/bin/chromium`; `None` when absent and not
/// required.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    support::tool_available(path.exists(), &format!("Chromium at {}", path.display()))
        .then_some(path)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn key_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("rendered-reports-keys.sqlite")
}

/// `jpki-sim ARGS` in the repository's root, so that reports name the suite as a user there
/// would (`scenarios/card`).
fn jpki_sim(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(repo())
        .args(args)
        .arg("--key-cache")
        .arg(key_cache())
        .output()
        .expect("jpki-sim runs")
}

/// Runs the browser headless with `args` on `page` (with `#fragment` if not empty); answers its
/// stdout. A browser that does not finish within a minute is killed and fails the test.
fn browse(browser: &Path, profile: &Path, args: &[String], page: &Path, fragment: &str) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            // Root in a container has no user namespace for the sandbox.
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}{fragment}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish on {} within 60 s", page.display());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(status.success(), "chromium {status}: {stderr}");
    reader.join().unwrap()
}

/// A screenshot of `page` at 1200×1500 into `png`, decoded to RGB(A) rows.
fn screenshot(browser: &Path, dir: &Path, page: &Path, png: &Path) -> Pixels {
    let profile = tempfile::tempdir_in(dir).unwrap();
    browse(
        browser,
        profile.path(),
        &[
            "--window-size=1200,1500".to_owned(),
            format!("--screenshot={}", png.display()),
        ],
        page,
        "",
    );
    Pixels::read(png)
}

/// The DOM as the browser built it from `page`, its scripts run.
fn dom(browser: &Path, dir: &Path, page: &Path) -> String {
    dom_at(browser, dir, page, "")
}

/// [`dom`] of `page#fragment`.
fn dom_at(browser: &Path, dir: &Path, page: &Path, fragment: &str) -> String {
    let profile = tempfile::tempdir_in(dir).unwrap();
    browse(
        browser,
        profile.path(),
        &["--dump-dom".to_owned()],
        page,
        fragment,
    )
}

/// A decoded screenshot.
struct Pixels {
    width: usize,
    height: usize,
    channels: usize,
    data: Vec<u8>,
}

impl Pixels {
    fn read(path: &Path) -> Pixels {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(std::io::BufReader::new(file));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut data = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut data).unwrap();
        data.truncate(info.buffer_size());
        Pixels {
            width: info.width as usize,
            height: info.height as usize,
            channels: info.color_type.samples(),
            data,
        }
    }

    fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * self.channels;
        if self.channels >= 3 {
            [self.data[at], self.data[at + 1], self.data[at + 2]]
        } else {
            [self.data[at]; 3]
        }
    }

    /// The share of pixels unlike the top-left one (the page's background), and how many
    /// distinct colours there are.
    fn ink(&self) -> (f64, usize) {
        let background = self.rgb(0, 0);
        let mut inked = 0usize;
        let mut colours = std::collections::HashSet::new();
        for y in 0..self.height {
            for x in 0..self.width {
                let pixel = self.rgb(x, y);
                if pixel != background {
                    inked += 1;
                }
                colours.insert(pixel);
            }
        }
        (
            inked as f64 / (self.width * self.height) as f64,
            colours.len(),
        )
    }
}

/// Not blank: some text and some colour (the summary's bars), not a page of one colour.
fn assert_looks_like_a_page(pixels: &Pixels, what: &str) {
    assert_eq!((pixels.width, pixels.height), (1200, 1500), "{what}");
    let (inked, colours) = pixels.ink();
    assert!(
        inked > 0.01,
        "{what}: only {:.3} % of the screenshot differs from its background",
        inked * 100.0
    );
    assert!(colours > 16, "{what}: only {colours} colours");
}

/// With `JPKI_SIM_UPDATE_SCREENSHOTS` set, the screenshot becomes the docs' example.
fn keep_as_example(png: &Path, name: &str) {
    if std::env::var_os("JPKI_SIM_UPDATE_SCREENSHOTS").is_some() {
        let to = repo().join("docs/images").join(name);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(png, &to).unwrap();
    }
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `results` of `adapter` whose outcome is `outcome`.
fn count(report: &Value, adapter: &str, outcome: &str) -> usize {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["adapter"] == adapter && r["outcome"] == outcome)
        .count()
}

/// The summary row the browser shows for `adapter`: its cells' text, tags dropped.
fn summary_row(dom: &str, adapter: &str) -> String {
    let start = dom
        .find(&format!("<tr><td>{adapter}</td>"))
        .unwrap_or_else(|| panic!("no summary row for {adapter} in\n{dom}"));
    let row = &dom[start..start + dom[start..].find("</tr>").unwrap()];
    let mut text = String::new();
    let mut in_tag = false;
    for c in row.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(c),
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn conformance_and_matrix_reports_render_with_the_json_numbers() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (card, revocation) = ("scenarios/card", "scenarios/revocation");

    // The reference plays every role; then a PF that ignores revocation, as an adapter: it takes
    // part only in PF steps (the card scenarios are not exercised) and fails some of them.
    let out = jpki_sim(&[
        "run",
        card,
        revocation,
        "--json",
        path("reference.json").to_str().unwrap(),
        "--html",
        path("reference.html").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let pf_adapter = format!("pf={BIN} adapter ref-pf --mutant ignores-revocation");
    let out = jpki_sim(&[
        "run",
        card,
        revocation,
        "--sut",
        &pf_adapter,
        "--name",
        "pf-ignoring-revocation",
        "--json",
        path("pf.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let out = Command::new(BIN)
        .arg("report")
        .arg(path("reference.json"))
        .arg(path("pf.json"))
        .arg("--json")
        .arg(path("matrix.json"))
        .arg("--html")
        .arg(path("matrix.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));

    let reference = read_json(&path("reference.json"));
    let passed = count(&reference, "reference", "pass");
    assert!(passed > 20, "{reference:#}");
    let shown = dom(&browser, dir.path(), &path("reference.html"));
    let row = summary_row(&shown, "reference");
    assert!(
        row.contains(&format!("{passed} passed")),
        "the browser shows {row:?}; the JSON says {passed} passed"
    );
    // The Japanese the report carries (scenario descriptions) reaches the page as text.
    assert!(shown.contains("照合番号"), "{shown}");
    // The search box, run by the browser: `#search=TEXT` leaves the scenarios whose row has
    // TEXT (the id or the description here, every outcome being `pass`).
    let query = "Lockout";
    let matching = reference["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            let text = format!("{} {}", r["id"], r["description"]).to_lowercase();
            text.contains(&query.to_lowercase())
        })
        .count();
    assert!(matching > 0 && matching < passed, "{matching} of {passed}");
    let searched = dom_at(
        &browser,
        dir.path(),
        &path("reference.html"),
        &format!("#search={query}"),
    );
    let visible = searched.matches("<tr class=\"row-quiet\">").count()
        + searched.matches("<tr class=\"row-problem\">").count();
    assert_eq!(visible, matching, "rows left by the search for {query:?}");
    assert!(
        !searched.contains("id=\"search-label\" hidden"),
        "the search box stays hidden"
    );
    let pixels = screenshot(
        &browser,
        dir.path(),
        &path("reference.html"),
        &path("conformance.png"),
    );
    assert_looks_like_a_page(&pixels, "conformance report");
    keep_as_example(&path("conformance.png"), "report-conformance.png");

    let matrix = read_json(&path("matrix.json"));
    let shown = dom(&browser, dir.path(), &path("matrix.html"));
    let adapters: Vec<String> = {
        let mut names: Vec<String> = matrix["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["adapter"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names.dedup();
        names
    };
    assert_eq!(adapters.len(), 2, "{adapters:?}");
    assert!(
        count(&matrix, "pf-ignoring-revocation", "fail") > 0,
        "{matrix:#}"
    );
    for adapter in &adapters {
        let row = summary_row(&shown, adapter);
        for (outcome, words) in [
            ("pass", "passed"),
            ("fail", "failed"),
            ("not_exercised", "not exercised"),
        ] {
            let n = count(&matrix, adapter, outcome);
            if n > 0 {
                assert!(
                    row.contains(&format!("{n} {words}")),
                    "{adapter}: the browser shows {row:?}; the JSON says {n} {words}"
                );
            }
        }
    }
    let pixels = screenshot(
        &browser,
        dir.path(),
        &path("matrix.html"),
        &path("matrix.png"),
    );
    assert_looks_like_a_page(&pixels, "matrix report");
    keep_as_example(&path("matrix.png"), "report-matrix.png");
}

#[test]
fn load_report_renders_with_the_json_numbers() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (json, html) = (dir.path().join("load.json"), dir.path().join("load.html"));
    let out = jpki_sim(&[
        "load",
        "--op",
        "status",
        "--cards",
        "4",
        "--duration",
        "3s",
        "--warmup",
        "0s",
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let report = read_json(&json);
    let shown = dom(&browser, dir.path(), &html);
    for (label, key) in [
        ("operations completed", "attempted"),
        ("correct answers", "ops"),
    ] {
        let want = format!(
            "<tr><th>{label}</th><td class=\"n\">{}</td></tr>",
            report[key]
        );
        assert!(shown.contains(&want), "no {want:?} in\n{shown}");
    }
    assert!(report["ops"].as_u64().unwrap() > 0, "{report:#}");
    let pixels = screenshot(&browser, dir.path(), &html, &dir.path().join("load.png"));
    assert_looks_like_a_page(&pixels, "load report");
    keep_as_example(&dir.path().join("load.png"), "report-load.png");
}

/// The reports' Japanese in the reports' font stack must not render like characters no font
/// has (private-use code points, drawn as identical boxes): without a CJK font it would.
#[test]
fn japanese_renders_as_glyphs_not_boxes() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                "<!DOCTYPE html><html lang=\"ja\"><head><meta charset=\"utf-8\"><style>body{{font-family:system-ui,'Noto Sans CJK JP',sans-serif;font-size:40px;margin:20px}}</style></head><body><p>{text}</p></body></html>"
            ),
        )
        .unwrap();
        path
    };
    let words = "署名用電子証明書 照合番号A 基本4情報";
    let boxes: String = words
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if c.is_ascii() {
                c
            } else {
                char::from_u32(0xE000 + i as u32).unwrap()
            }
        })
        .collect();
    let japanese = screenshot(
        &browser,
        dir.path(),
        &page("ja.html", words),
        &dir.path().join("ja.png"),
    );
    let unknown = screenshot(
        &browser,
        dir.path(),
        &page("boxes.html", &boxes),
        &dir.path().join("boxes.png"),
    );
    let (inked, _) = japanese.ink();
    assert!(inked > 0.001, "the Japanese page is blank");
    assert!(
        japanese.data != unknown.data,
        "Japanese renders exactly like code points no font has: is a CJK font installed (fonts-noto-cjk)?"
    );
}
