//! `jpki-sim persona`: what a card id derives to.

use std::process::ExitCode;

use anyhow::Context;
use mock_jlis::world::{CardView, World};
use sim_card::CardId;

use super::{parse_card_id, WorldArgs};
use served_world::StateConfig;

#[derive(Debug, clap::Args)]
pub struct PersonaArgs {
    /// `felica:<16 hex>` or `typea:<8|14|20 hex>`.
    #[arg(value_parser = parse_card_id)]
    pub card: CardId,
    /// Card generation (1 = first issue; each renewal adds one).
    #[arg(long, default_value_t = 1)]
    pub generation: u32,
    /// Print the admin API's JSON view instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub world: WorldArgs,
}

pub fn run(args: PersonaArgs) -> anyhow::Result<ExitCode> {
    let view = match &args.world.state {
        Some(dir) => saved_view(&args, dir)?,
        None => derived_view(&args)?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render_text(&view));
    }
    Ok(ExitCode::SUCCESS)
}

/// The card as a saved world has it, life events and all. A command that prints never writes:
/// nothing is provisioned or re-personalised in `dir` (that is `jpki-sim up`'s, through the
/// admin API and its event path).
fn saved_view(args: &PersonaArgs, dir: &std::path::Path) -> anyhow::Result<CardView> {
    anyhow::ensure!(
        args.world.persona.is_none() && args.generation == 1,
        "--persona and --generation derive a card afresh; with --state, persona shows the saved \
         card as it is (drop --state to see a derivation)"
    );
    let world = open_world(args, Some(dir))?;
    let card = world.card(&args.card).with_context(|| {
        format!(
            "{} is not provisioned in {} (without --state, persona shows what it derives to)",
            args.card,
            dir.display()
        )
    })?;
    Ok(world.view(&card))
}

/// What the card id derives to, in a world of its own in memory (keys from the key cache).
fn derived_view(args: &PersonaArgs) -> anyhow::Result<CardView> {
    let overrides = args.world.persona_overrides()?;
    let world = open_world(args, None)?;
    let card = world
        .provision_generation(&args.card, args.generation, overrides.as_deref())
        .with_context(|| format!("cannot provision {}", args.card))?;
    Ok(world.view(&card))
}

/// The saved world in `dir`, or a world of its own in memory.
fn open_world(args: &PersonaArgs, dir: Option<&std::path::Path>) -> anyhow::Result<World> {
    let state = StateConfig {
        state_dir: dir.map(ToOwned::to_owned),
        key_cache: args.world.key_cache.clone(),
        cadence: Default::default(),
        ocsp_signer: Default::default(),
        linkage_lag: std::time::Duration::ZERO,
    };
    state.open("http://127.0.0.1:8700")
}

fn render_text(view: &CardView) -> String {
    let p = &view.persona;
    let mut out = String::new();
    let mut line = |label: &str, value: &str| out.push_str(&format!("{label:<22}{value}\n"));
    line("card", &view.card.to_string());
    line("generation", &view.generation.to_string());
    line("name", &p.name);
    line("kana", &p.name_kana);
    line("romaji", &p.name_romaji);
    line("sex", &p.sex.code().to_string());
    line("birth date", &p.birth_date.to_string());
    line("address", &p.address);
    line(
        "municipality",
        &format!(
            "{} {} ({})",
            p.municipality_code, p.municipality, p.municipality_romaji
        ),
    );
    line("my number", p.my_number.reveal());
    line("security code", &p.security_code);
    line("card serial", &p.card_serial);
    line("card issued", &p.card_issued_on.to_string());
    line("card expires", &p.card_expires_on.to_string());
    line("sign password", &p.pins.sign_password);
    line("auth PIN", &p.pins.auth_pin);
    line("input-assist PIN", &p.pins.text_pin);
    line("PIN-A", &p.pins.pin_a);
    line("PIN-B", &p.pins.pin_b);
    line("birth-date PIN", &p.pins.birth_pin);
    match &view.certificates.sign {
        Some(sign) => line(
            "sign cert serial",
            &format!("{} (until {})", sign.serial, rfc3339(sign.not_after)),
        ),
        None => line("sign cert serial", "none (holder under 15 at issuance)"),
    }
    let auth = &view.certificates.auth;
    line(
        "auth cert serial",
        &format!("{} (until {})", auth.serial, rfc3339(auth.not_after)),
    );
    out
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
