//! `jpki-sim adapter ref-sdk|ref-pf`: the bundled reference SDK or PF as an adapter, speaking
//! the adapter protocol on stdin and stdout, or over HTTP with `--listen ADDR`
//! (docs/adapter-protocol.md). On stdio it exits 0 after `bye` or the end of input, non-zero
//! only when the protocol itself breaks; over HTTP it serves sessions until SIGINT or SIGTERM.
//! `jpki-sim adapter check --sut ROLE=COMMAND|URL` checks any adapter against the protocol,
//! message by message (`conformance::adapter_check`).

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;

use reference::pf::Mutant;
use reference::serve::http as serve_http;
use reference::serve::{serve, Served};

#[derive(Debug, clap::Args)]
pub struct AdapterArgs {
    #[command(subcommand)]
    pub which: Which,
    /// Serve the protocol over HTTP on ADDR (`127.0.0.1:0` picks a free port) instead of
    /// stdio; prints `jpki-sim: ready at URL`. Off loopback it needs --allow-remote.
    #[arg(long, value_name = "ADDR", global = true)]
    pub listen: Option<SocketAddr>,
    /// Allow --listen off loopback: anyone who reaches the port can make this adapter fetch
    /// the URLs a hello names.
    #[arg(long, global = true)]
    pub allow_remote: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum Which {
    /// The reference SDK, reaching cards over the APDU bridge URL of each request.
    RefSdk,
    /// The reference PF.
    RefPf {
        /// Make this mutant's deliberate mistake (for checking that a suite catches it).
        #[arg(long, value_name = "NAME")]
        mutant: Option<Mutant>,
    },
    /// Check an adapter against the protocol: every message with valid and invalid input, each
    /// answer against the protocol's schema and rules, reported message by message; exit 1 when
    /// one is wrong.
    Check {
        /// The adapter: pf=COMMAND, sdk=COMMAND (run with `sh -c`) or pf=URL, sdk=URL (HTTP).
        #[arg(long, value_name = "ROLE=COMMAND|URL")]
        sut: adapter_protocol::AdapterSpec,
        /// Seconds the adapter may take to answer one message.
        #[arg(long, value_name = "SECONDS", default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
        timeout: u64,
        /// Where derived RSA keys are cached across runs.
        #[arg(long, value_name = "FILE", env = "JPKI_SIM_KEY_CACHE")]
        key_cache: Option<std::path::PathBuf>,
        /// Also write the findings as JSON (`-` for stdout).
        #[arg(long, value_name = "FILE")]
        json: Option<std::path::PathBuf>,
    },
}

pub fn run(args: AdapterArgs) -> anyhow::Result<ExitCode> {
    let served = match args.which {
        Which::RefSdk => Served::Sdk,
        Which::RefPf { mutant } => Served::Pf(mutant),
        Which::Check {
            sut,
            timeout,
            key_cache,
            json,
        } => {
            anyhow::ensure!(
                args.listen.is_none(),
                "--listen serves a reference adapter; `adapter check` drives one (--sut)"
            );
            return check(sut, timeout, key_cache, json);
        }
    };
    if let Some(listen) = args.listen {
        anyhow::ensure!(
            serve_http::is_loopback(&listen) || args.allow_remote,
            "--listen {listen} is off loopback: add --allow-remote to serve other hosts"
        );
        return listen_http(served, listen);
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    serve(served, stdin, stdout).context("the adapter protocol broke")?;
    Ok(ExitCode::SUCCESS)
}

fn check(
    sut: adapter_protocol::AdapterSpec,
    timeout: u64,
    key_cache: Option<std::path::PathBuf>,
    json: Option<std::path::PathBuf>,
) -> anyhow::Result<ExitCode> {
    use conformance::adapter_check::{check, CheckConfig};
    let config = CheckConfig {
        adapter: sut,
        timeout: std::time::Duration::from_secs(timeout),
        key_cache: key_cache.or_else(served_world::default_key_cache),
    };
    let report = check(&config).context("the check could not be made")?;
    let text = report.text();
    let document = serde_json::to_string_pretty(&report).context("the findings as JSON")? + "\n";
    match json.as_deref() {
        Some(path) if path == std::path::Path::new("-") => {
            eprint!("{text}");
            print!("{document}");
        }
        Some(path) => {
            std::fs::write(path, document)
                .with_context(|| format!("cannot write {}", path.display()))?;
            print!("{text}");
        }
        None => print!("{text}"),
    }
    Ok(if report.wrong() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn listen_http(served: Served, listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("no local address")?;
        let what = match served {
            Served::Sdk => "reference SDK".to_owned(),
            Served::Pf(None) => "reference PF".to_owned(),
            Served::Pf(Some(mutant)) => format!("reference PF, mutant {mutant}"),
        };
        println!("jpki-sim: ready at http://{addr} ({what} adapter, protocol version 1)");
        use std::io::Write;
        std::io::stdout()
            .flush()
            .context("cannot write the ready line")?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot watch SIGTERM")?;
        let stop = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        };
        serve_http::serve(listener, served, stop)
            .await
            .context("the HTTP adapter failed")?;
        eprintln!("jpki-sim: adapter stopping");
        Ok(ExitCode::SUCCESS)
    })
}
