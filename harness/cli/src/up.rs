//! `jpki-sim up`: the world over HTTP, and each card attached to a vpcd reader.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use mock_jlis::world::{Cadence, OcspSigner};
use sim_card::transport::vpcd::{Backoff, VpcdClient};
use sim_card::CardId;

use super::{parse_card_id, WorldArgs};
use served_world::{Limits, Server, StateConfig};

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// HTTP listen address. Off loopback the admin API needs --admin-token.
    #[arg(long, default_value = "127.0.0.1:8700", env = "JPKI_SIM_LISTEN")]
    pub listen: SocketAddr,
    /// A card to provision and attach (`felica:<16 hex>` or `typea:<8|14|20 hex>`); repeatable.
    /// Card i goes to vpcd port PORT+i.
    #[arg(long = "card", value_name = "CARD", value_parser = parse_card_id)]
    pub cards: Vec<CardId>,
    /// vpcd address of the first reader ("Virtual PCD 00 00" is 127.0.0.1:35963).
    #[arg(
        long,
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:35963",
        env = "JPKI_SIM_VPCD"
    )]
    pub vpcd: String,
    /// Serve the cards over the HTTP bridge only, without attaching them to vpcd.
    #[arg(long)]
    pub no_vpcd: bool,
    /// Base URL written into certificates (CRL and OCSP locations); default http://LISTEN.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// When revocations become visible: `realistic` (daily CRL at 00:00 JST, OCSP on
    /// 15-minute boundaries) or `instant`.
    #[arg(
        long,
        value_enum,
        default_value = "realistic",
        env = "JPKI_SIM_CADENCE"
    )]
    pub cadence: CadenceArg,
    /// Who signs OCSP responses: a delegated responder certificate, or the CA key.
    #[arg(
        long,
        value_enum,
        default_value = "delegated",
        env = "JPKI_SIM_OCSP_SIGNER"
    )]
    pub ocsp_signer: OcspSignerArg,
    /// How long after issuance linkage (old → new, sign ↔ auth) becomes visible: `0s` (default)
    /// or e.g. `90m`, as observed in the field.
    #[arg(long, default_value = "0s", value_parser = parse_lag, env = "JPKI_SIM_LINKAGE_LAG")]
    pub linkage_lag: std::time::Duration,
    /// Bearer token the admin API, the APDU bridge and consents require (required when
    /// listening off loopback). Prefer --admin-token-file or the environment: `ps` shows flags.
    #[arg(long, env = "JPKI_SIM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// A file holding the admin token (its first line; surrounding blanks ignored), so the
    /// token appears neither in `ps` nor in the environment.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "admin_token",
        env = "JPKI_SIM_ADMIN_TOKEN_FILE"
    )]
    pub admin_token_file: Option<std::path::PathBuf>,
    /// Time a connection has to send a complete request head, after connecting and again
    /// between requests (so also the keep-alive idle timeout).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub header_timeout: std::time::Duration,
    /// Time a request's body has to arrive, whole, after its head; later it gets 408.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_timeout)]
    pub body_timeout: std::time::Duration,
    /// Connections open at once. Beyond it the longest-idle connection is closed, or, with
    /// every connection busy, the newcomer gets 503. Lowered to what the open-file limit allows.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections as u32,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// The TCP accept queue asked of the kernel (capped by net.core.somaxconn).
    #[arg(long, value_name = "N", default_value_t = Limits::default().backlog,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub backlog: u32,
    #[command(flatten)]
    pub world: WorldArgs,
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let duration = mock_jlis::clock::parse_duration(text).map_err(|err| err.to_string())?;
    if duration.is_zero() {
        return Err("a timeout of zero would close every connection at once".to_owned());
    }
    Ok(duration)
}

/// The listener's limits from the flags, the connection cap lowered to what the open-file
/// limit (raised to its hard limit first) can hold.
fn limits(args: &UpArgs) -> Limits {
    let files = served_world::raise_open_file_limit();
    let capacity = files.connection_capacity().max(1);
    let mut max_connections = usize::try_from(args.max_connections).unwrap_or(usize::MAX);
    if max_connections > capacity {
        eprintln!(
            "jpki-sim: --max-connections {max_connections} lowered to {capacity}: the open-file \
             limit is {} (raise it with `ulimit -Hn`)",
            files.soft
        );
        max_connections = capacity;
    }
    Limits {
        header_timeout: args.header_timeout,
        body_timeout: args.body_timeout,
        max_connections,
        backlog: args.backlog,
    }
}

/// The admin token: given, read from its file, or none.
fn admin_token(args: &UpArgs) -> anyhow::Result<Option<String>> {
    let Some(path) = &args.admin_token_file else {
        return Ok(args.admin_token.clone());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
    // An empty file gives an empty token, which the server refuses with its own message.
    Ok(Some(text.lines().next().unwrap_or("").trim().to_owned()))
}

fn parse_lag(text: &str) -> Result<std::time::Duration, String> {
    mock_jlis::clock::parse_duration(text).map_err(|err| err.to_string())
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CadenceArg {
    Realistic,
    Instant,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OcspSignerArg {
    Delegated,
    Ca,
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: UpArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Read first: a missing token file should stop the server before any work.
    let token = admin_token(&args)?;
    let limits = limits(&args);
    // Certificates carry the base URL (CRL distribution points, OCSP): `http://0.0.0.0:8700`
    // would send every verifier to an address that is nowhere.
    anyhow::ensure!(
        args.base_url.is_some() || !args.listen.ip().is_unspecified(),
        "--listen {} takes every interface, so the URL clients reach it by cannot be guessed: \
         give it with --base-url http://HOST:{} (it goes into the certificates' CRL and OCSP \
         locations)",
        args.listen,
        args.listen.port()
    );
    // Bound first: a taken port, or a token the address needs, is reported before any card is
    // provisioned.
    let bound = Server::bind(args.listen, token.as_deref(), limits)?;
    let base_url = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", bound.addr()));
    let overrides = args.world.persona_overrides()?;
    let state = StateConfig {
        state_dir: args.world.state.clone(),
        key_cache: args.world.key_cache.clone(),
        cadence: match args.cadence {
            CadenceArg::Realistic => Cadence::Realistic,
            CadenceArg::Instant => Cadence::Instant,
        },
        ocsp_signer: match args.ocsp_signer {
            OcspSignerArg::Delegated => OcspSigner::Delegated,
            OcspSignerArg::Ca => OcspSigner::Ca,
        },
        linkage_lag: args.linkage_lag,
    };
    // Held while the server runs: a second server on the same state is refused.
    let _state_lock = match &args.world.state {
        Some(dir) => Some(served_world::StateLock::acquire(dir)?),
        None => None,
    };
    let world = tokio::task::spawn_blocking(move || state.open(&base_url)).await??;
    let world = Arc::new(world);

    let mut provisioned = Vec::new();
    for (index, card) in args.cards.iter().enumerate() {
        eprintln!(
            "jpki-sim: provisioning {card} ({}/{})",
            index + 1,
            args.cards.len()
        );
        let world2 = world.clone();
        let card2 = card.clone();
        let overrides2 = overrides.clone();
        let card =
            tokio::task::spawn_blocking(move || world2.provision(&card2, overrides2.as_deref()))
                .await?
                .with_context(|| format!("cannot provision {card}"))?;
        provisioned.push(card);
    }

    let server = Server::serve_bound(world.clone(), bound, token, None)?;

    let mut attachments = Vec::new();
    if !args.no_vpcd && !provisioned.is_empty() {
        let (host, port) = split_host_port(&args.vpcd)?;
        for (index, card) in provisioned.iter().enumerate() {
            let port = port
                .checked_add(u16::try_from(index).context("too many cards")?)
                .context("vpcd port out of range")?;
            let client =
                VpcdClient::spawn((host.as_str(), port), card.shared(), Backoff::default())
                    .with_context(|| format!("cannot attach {} to vpcd {host}:{port}", card.id))?;
            attachments.push((card.id.clone(), format!("{host}:{port}"), client));
        }
    }

    // The world's cards: those given now and those a saved state brought back.
    let cards = world.cards();
    println!(
        "jpki-sim: ready at {} in {:.1} s ({} card{})",
        server.url(),
        started.elapsed().as_secs_f64(),
        cards.len(),
        if cards.len() == 1 { "" } else { "s" }
    );
    println!(
        "  limits: header timeout {:?}, body timeout {:?}, {} connections, backlog {}",
        limits.header_timeout, limits.body_timeout, limits.max_connections, limits.backlog
    );
    for card in &cards {
        let id = &card.id;
        let vpcd = attachments
            .iter()
            .find(|(attached, _, _)| attached == id)
            .map_or_else(
                || "not attached".to_owned(),
                |(_, addr, _)| format!("vpcd {addr}"),
            );
        println!(
            "  {id}: {vpcd}; APDU bridge {}/cards/{id}/apdu",
            server.url()
        );
    }

    wait_for_signal().await?;
    eprintln!("jpki-sim: stopping");
    for (_, _, client) in attachments {
        client.stop();
    }
    server.stop().await;
    Ok(ExitCode::SUCCESS)
}

fn split_host_port(text: &str) -> anyhow::Result<(String, u16)> {
    let (host, port) = text
        .rsplit_once(':')
        .with_context(|| format!("--vpcd {text:?}: expected HOST:PORT"))?;
    let port = port
        .parse()
        .with_context(|| format!("--vpcd {text:?}: {port:?} is not a port number"))?;
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = terminate.recv() => {}
    }
    Ok(())
}
