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
        crate::print_out(&format!("{}\n", serde_json::to_string_pretty(&view)?))?;
    } else {
        crate::print_out(&render_text(&view))?;
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

/// The text view: one line per value, named as the JSON view names it, with the term the
/// card's documentation and users use (the README's "Terms" table).
fn render_text(view: &CardView) -> String {
    let p = &view.persona;
    let mut out = String::new();
    let mut line = |label: &str, value: &str, term: &str| {
        let pad = " ".repeat(VALUE_COLUMNS.saturating_sub(display_width(value)).max(2));
        let line = format!("{label:<16}{value}{pad}{term}");
        out.push_str(line.trim_end());
        out.push('\n');
    };
    line("card", &view.card.to_string(), "");
    line(
        "generation",
        &view.generation.to_string(),
        "1 = first issue",
    );
    out_section(&mut line, "基本4情報 (basic 4 info)");
    line("name", &p.name, "氏名");
    line("name_kana", &p.name_kana, "");
    line("name_romaji", &p.name_romaji, "");
    line("address", &p.address, "住所");
    line("birth_date", &p.birth_date.to_string(), "生年月日");
    line("sex", &p.sex.code().to_string(), sex_term(p.sex.code()));
    out_section(&mut line, "card");
    line(
        "municipality",
        &p.municipality,
        &format!(
            "市区町村 {} ({})",
            p.municipality_code, p.municipality_romaji
        ),
    );
    line("my_number", p.my_number.reveal(), "個人番号");
    line("security_code", &p.security_code, "セキュリティコード");
    line("card_serial", &p.card_serial, "");
    line("card_issued_on", &p.card_issued_on.to_string(), "");
    line(
        "card_expires_on",
        &p.card_expires_on.to_string(),
        "有効期限",
    );
    out_section(&mut line, "PINs (as the card takes them now)");
    line(
        "sign_password",
        &p.pins.sign_password,
        "署名用パスワード (JPKI)",
    );
    line("auth_pin", &p.pins.auth_pin, "利用者証明用暗証番号 (JPKI)");
    line("text_pin", &p.pins.text_pin, "券面事項入力補助用暗証番号");
    line("pin_a", &p.pins.pin_a, "照合番号A (個人番号)");
    line(
        "pin_b",
        &p.pins.pin_b,
        "照合番号B (生年月日+有効期限年+セキュリティコード)",
    );
    line("birth_pin", &p.pins.birth_pin, "生年月日 (券面事項確認AP)");
    line("juki_pin", &p.pins.juki_pin, "住基AP");
    line("common_pin", &p.pins.common_pin, "共通AP");
    out_section(&mut line, "certificates");
    match &view.certificates.sign {
        Some(sign) => line(
            "sign",
            &sign.serial.to_string(),
            &format!("署名用電子証明書, until {}", rfc3339(sign.not_after)),
        ),
        None => line(
            "sign",
            "none",
            "署名用電子証明書: holder under 15 at issuance",
        ),
    }
    let auth = &view.certificates.auth;
    line(
        "auth",
        &auth.serial.to_string(),
        &format!("利用者証明用電子証明書, until {}", rfc3339(auth.not_after)),
    );
    out
}

/// Terminal columns the value column takes.
const VALUE_COLUMNS: usize = 28;

/// Columns `text` takes on a terminal: East Asian wide and full-width characters (kanji, kana,
/// full-width digits and spaces) take two.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3040..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6 => 2,
            _ => 1,
        })
        .sum()
}

/// A blank line and a heading between groups.
fn out_section(line: &mut impl FnMut(&str, &str, &str), title: &str) {
    line("", "", "");
    line(&format!("# {title}"), "", "");
}

/// The sex code's meaning (ISO/IEC 5218, as the card's 基本4情報 carry it).
fn sex_term(code: char) -> &'static str {
    match code {
        '1' => "男性 (male)",
        '2' => "女性 (female)",
        '9' => "適用不能 (not applicable)",
        _ => "不明 (not known)",
    }
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}
