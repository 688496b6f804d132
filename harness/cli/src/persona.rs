//! `jpki-sim persona`: what a card id derives to.

use std::process::ExitCode;

use anyhow::Context;
use mock_jlis::world::CardView;
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
    let overrides = args.world.persona_overrides()?;
    let state = StateConfig {
        state_dir: args.world.state.clone(),
        key_cache: args.world.key_cache.clone(),
        cadence: Default::default(),
        ocsp_signer: Default::default(),
        linkage_lag: std::time::Duration::ZERO,
    };
    let world = state.open("http://127.0.0.1:8700")?;
    let card = world
        .provision_generation(&args.card, args.generation, overrides.as_deref())
        .with_context(|| format!("cannot provision {}", args.card))?;
    let view = world.view(&card);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render_text(&view));
    }
    Ok(ExitCode::SUCCESS)
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
