//! Text helpers the renderers share.

use crate::runner::ScenarioResult;

/// Escapes text for XML and HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The trace of a result, one entry per line.
pub fn trace_text(result: &ScenarioResult) -> String {
    result
        .trace
        .iter()
        .map(|entry| entry.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}
