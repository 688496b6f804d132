//! `jpki-sim adapter ref-sdk|ref-pf`: the bundled reference SDK or PF as an adapter, speaking
//! the adapter protocol on stdin and stdout, or over HTTP with `--listen ADDR`
//! (docs/adapter-protocol.md). On stdio it exits 0 after `bye` or the end of input, non-zero
//! only when the protocol itself breaks; over HTTP it serves sessions until SIGINT or SIGTERM.

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
}

pub fn run(args: AdapterArgs) -> anyhow::Result<ExitCode> {
    let served = match args.which {
        Which::RefSdk => Served::Sdk,
        Which::RefPf { mutant } => Served::Pf(mutant),
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
