//! The container image (`container/Containerfile`, built by `scripts/container-image`): built
//! with podman from the test binary, then its own filesystem — exported from the image, not the
//! staging directory — runs `jpki-sim --version` and two scenarios of the built-in suite, with the
//! image's environment. The image's entrypoint and default command must parse as a `jpki-sim`
//! command line.
//!
//! The run goes through `chroot` into the exported filesystem rather than `podman run`: some
//! sandboxes (this project's CI among them) refuse the rlimit calls every OCI runtime makes at
//! container start, while the image's contents are what a user's `podman run` executes.

mod support;

use std::path::Path;
use std::process::Command;

use clap::Parser;
use jpki_sim::{Cli, Command as JpkiCommand};

fn podman_found() -> bool {
    Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// podman with its storage in `dir` (the `vfs` driver works on any filesystem, nested overlays
/// included), so the test touches nobody's images.
fn podman(dir: &Path) -> Command {
    let conf = dir.join("storage.conf");
    if !conf.exists() {
        std::fs::write(
            &conf,
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                dir.join("graph").display(),
                dir.join("run").display()
            ),
        )
        .unwrap();
    }
    let mut command = Command::new("podman");
    command.env("CONTAINERS_STORAGE_CONF", &conf);
    command
}

fn ok(command: &mut Command) -> String {
    let out = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{command:?} failed:\n{text}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_image_builds_from_nothing_and_its_filesystem_runs_the_built_in_suite() {
    if !support::tool_available(podman_found(), "podman") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("localhost/jpki-sim:test-{}", std::process::id());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/container-image");
    let conf = dir.path().join("storage.conf");
    podman(dir.path()); // writes the storage configuration
    ok(Command::new(&script)
        .args(["--binary", env!("CARGO_BIN_EXE_jpki-sim"), "--tag", &tag])
        .env("CONTAINERS_STORAGE_CONF", &conf));

    let inspect =
        ok(podman(dir.path()).args(["image", "inspect", &tag, "--format", "{{json .Config}}"]));
    let config: serde_json::Value = serde_json::from_str(inspect.trim()).unwrap();
    let entrypoint: Vec<String> = serde_json::from_value(config["Entrypoint"].clone()).unwrap();
    let cmd: Vec<String> = serde_json::from_value(config["Cmd"].clone()).unwrap();
    assert_eq!(entrypoint, ["/usr/local/bin/jpki-sim"]);
    let default = Cli::try_parse_from(entrypoint.iter().chain(&cmd))
        .unwrap_or_else(|err| panic!("the image's command {cmd:?}: {err}"));
    assert!(matches!(default.command, JpkiCommand::Up(_)), "{cmd:?}");
    let env: Vec<String> = serde_json::from_value(config["Env"].clone()).unwrap();

    let container = ok(podman(dir.path()).args(["create", "--network", "none", &tag]));
    let root = dir.path().join("rootfs");
    std::fs::create_dir(&root).unwrap();
    let export = dir.path().join("image.tar");
    ok(podman(dir.path()).args([
        "export",
        "--output",
        export.to_str().unwrap(),
        container.trim(),
    ]));
    ok(podman(dir.path()).args(["rm", container.trim()]));
    ok(Command::new("tar")
        .arg("-xf")
        .arg(&export)
        .arg("-C")
        .arg(&root));
    ok(podman(dir.path()).args(["rmi", &tag]));

    let in_image = |args: &[&str]| {
        let mut command = Command::new("chroot");
        command
            .arg(&root)
            .arg(&entrypoint[0])
            .args(args)
            .env_clear();
        for pair in &env {
            if let Some((name, value)) = pair.split_once('=') {
                command.env(name, value);
            }
        }
        command.current_dir("/");
        ok(&mut command)
    };
    let version = in_image(&["--version"]);
    assert!(
        version.contains(env!("CARGO_PKG_VERSION")),
        "the image's jpki-sim says {version}"
    );
    let run = in_image(&["run", "card/auth_pin_lockout", "revocation/reason_override"]);
    assert!(run.contains("pass    card/auth_pin_lockout"), "{run}");
    assert!(run.contains("pass    revocation/reason_override"), "{run}");
}
