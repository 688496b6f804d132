//! Positions of nodes in a YAML document, for errors found after parsing (an unknown enrolment
//! name, a card index out of range) and for reports that point at a step.
//!
//! `serde_norway` keeps no spans in values, but it stamps an error raised inside a value with
//! the position where that value starts. So we walk the document again down a key path and
//! raise a marker error at the target: its position is the node's.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserializer;

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1.
    pub column: usize,
}

/// One step of a path from the document root: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A mapping key.
    Key(Cow<'static, str>),
    /// A sequence index, from 0.
    Index(usize),
}

/// A key segment.
pub fn key(name: &'static str) -> Segment {
    Segment::Key(Cow::Borrowed(name))
}

/// Renders a path the way `serde_norway` names fields in its messages (`steps[3].sdk.card`).
pub struct KeyPath<'a>(pub &'a [Segment]);

impl fmt::Display for KeyPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(name) if i == 0 => f.write_str(name)?,
                Segment::Key(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl Position {
    /// The first line and column: where a document-wide problem is reported.
    pub const START: Position = Position { line: 1, column: 1 };
}

/// Where the node at `path` starts, or where its nearest existing ancestor starts.
pub fn locate(text: &str, path: &[Segment]) -> Position {
    (0..=path.len())
        .rev()
        .find_map(|len| probe(text, &path[..len], None))
        .unwrap_or(Position::START)
}

/// Where the first mapping key `name` under the node at `path` is, depth first.
pub fn locate_key(text: &str, path: &[Segment], name: &str) -> Option<Position> {
    probe(text, path, Some(name))
}

/// Parses a path as `serde_norway` prints it (`steps[3].sdk`); `.` alone is the root.
pub fn parse_key_path(text: &str) -> Vec<Segment> {
    let mut path = Vec::new();
    for part in text.split('.').filter(|p| !p.is_empty()) {
        let (name, indices) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            path.push(Segment::Key(Cow::Owned(name.to_owned())));
        }
        for index in indices.split('[') {
            if let Ok(i) = index.trim_end_matches(']').parse() {
                path.push(Segment::Index(i));
            }
        }
    }
    path
}

const MARKER: &str = "\u{1}located\u{1}";

fn probe(text: &str, path: &[Segment], find_key: Option<&str>) -> Option<Position> {
    let deserializer = serde_norway::Deserializer::from_str(text);
    match (Probe { path, find_key }).deserialize(deserializer) {
        Err(error) if error.to_string().contains(MARKER) => error.location().map(|at| Position {
            line: at.line(),
            column: at.column(),
        }),
        _ => None,
    }
}

/// Walks to the node at `path`, ignoring everything else; fails with [`MARKER`] there, or at
/// the first key `find_key` below it.
struct Probe<'p> {
    path: &'p [Segment],
    find_key: Option<&'p str>,
}

impl<'de> DeserializeSeed<'de> for Probe<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Probe<'_> {
    fn leaf<E: de::Error>(self) -> Result<(), E> {
        if self.path.is_empty() && self.find_key.is_none() {
            Err(E::custom(MARKER))
        } else {
            Ok(())
        }
    }
}

impl<'de> Visitor<'de> for Probe<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.leaf()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.leaf()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.leaf()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            if self.find_key.is_none() {
                return Err(de::Error::custom(MARKER));
            }
            while seq.next_element_seed(Probe { ..self })?.is_some() {}
            return Ok(());
        };
        let &Segment::Index(index) = first else {
            return Ok(());
        };
        for _ in 0..index {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Probe { path: rest, ..self })?;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((first, rest)) = self.path.split_first() else {
            let Some(find_key) = self.find_key else {
                return Err(de::Error::custom(MARKER));
            };
            // Depth first: each key, then its value.
            while map
                .next_key_seed(KeyText {
                    fail_on: Some(find_key),
                })?
                .is_some()
            {
                map.next_value_seed(Probe { ..self })?;
            }
            return Ok(());
        };
        let Segment::Key(wanted) = first else {
            return Ok(());
        };
        while let Some(key) = map.next_key_seed(KeyText { fail_on: None })? {
            if key.as_deref() == Some(wanted) {
                return map.next_value_seed(Probe { path: rest, ..self });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A mapping key as text, or `None` for keys that are not strings; fails with [`MARKER`] on
/// the key `fail_on`.
#[derive(Clone, Copy)]
struct KeyText<'k> {
    fail_on: Option<&'k str>,
}

impl<'de> DeserializeSeed<'de> for KeyText<'_> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyText<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if self.fail_on == Some(v) {
            return Err(E::custom(MARKER));
        }
        Ok(Some(v.to_owned()))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
description: x
steps:
  - sdk: {op: pin_status, pin: auth, expect: ok}
  - pf:
      op: check_status
      enrolment: alice
";

    #[test]
    fn finds_keys_inside_block_and_flow_nodes() {
        use Segment::Index;
        let at = |path: &[Segment]| {
            let p = locate(DOC, path);
            (p.line, p.column)
        };
        assert_eq!(at(&[key("description")]), (1, 14));
        assert_eq!(at(&[key("steps"), Index(0)]), (3, 5));
        assert_eq!(
            at(&[key("steps"), Index(0), key("sdk"), key("pin")]),
            (3, 32)
        );
        assert_eq!(
            at(&[key("steps"), Index(1), key("pf"), key("enrolment")]),
            (6, 18)
        );
        // A missing node falls back to its nearest ancestor.
        assert_eq!(at(&[key("steps"), Index(1), key("pf"), key("via")]), (5, 7));
        assert_eq!(at(&[key("steps"), Index(9)]), (3, 3));
        let found = locate_key(DOC, &[key("steps"), Index(1)], "enrolment").unwrap();
        assert_eq!((found.line, found.column), (6, 7));
        assert_eq!(
            locate_key(DOC, &[key("steps"), Index(0)], "enrolment"),
            None
        );
    }

    #[test]
    fn key_path_renders_like_the_parser() {
        let path = [key("steps"), Segment::Index(3), key("sdk"), key("card")];
        assert_eq!(KeyPath(&path).to_string(), "steps[3].sdk.card");
        assert_eq!(parse_key_path("steps[3].sdk.card"), path);
        assert_eq!(parse_key_path("."), []);
    }
}
