//! Scenario ids, derived from the file's path so that a file can never disagree with its id:
//! `<root>/revocation/ocsp_after_move.yaml` is `revocation/ocsp_after_move`.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// `<area>/<name>`, both `[a-z0-9_]+`. Orders by area, then name (the order of reports).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ScenarioId {
    area: String,
    name: String,
}

/// Why a path or string is not a scenario id. Each variant says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The file is not inside the suite root, so it has no id.
    #[error("not under the suite root {}", root.display())]
    NotUnderRoot {
        /// The suite root.
        root: PathBuf,
    },
    /// Too deep, too shallow, or with `..`: ids have exactly two parts.
    #[error("expected <area>/<name>.yaml under the suite root, got {}", relative.display())]
    Shape {
        /// The path under the root.
        relative: PathBuf,
    },
    /// One extension keeps ids unambiguous (`x.yml` and `x.yaml` would both be `area/x`).
    #[error("expected the extension `.yaml`, got {found:?}")]
    Extension {
        /// The extension found, with its dot (empty when there is none).
        found: String,
    },
    /// An area or name with characters other than `[a-z0-9_]`, or empty.
    #[error("{part:?} is not a valid id part: expected lower-case ASCII letters, digits and `_`")]
    Part {
        /// The part.
        part: String,
    },
    /// A string with no `/` between area and name.
    #[error("{input:?} is not a scenario id: expected <area>/<name>")]
    Text {
        /// The string given.
        input: String,
    },
}

impl ScenarioId {
    /// The id of the scenario file at `path` in the suite rooted at `root`. Purely lexical:
    /// give both paths in the same form (both relative to the same directory, or both absolute).
    pub fn from_path(path: &Path, root: &Path) -> Result<ScenarioId, IdError> {
        let relative = path.strip_prefix(root).map_err(|_| IdError::NotUnderRoot {
            root: root.to_owned(),
        })?;
        let shape = || IdError::Shape {
            relative: relative.to_owned(),
        };
        let parts: Vec<&str> = relative
            .components()
            .map(|c| match c {
                Component::Normal(part) => part.to_str().ok_or_else(shape),
                _ => Err(shape()),
            })
            .collect::<Result<_, _>>()?;
        let [area, file] = parts[..] else {
            return Err(shape());
        };
        let Some((name, extension)) = file.rsplit_once('.') else {
            return Err(IdError::Extension {
                found: String::new(),
            });
        };
        if extension != "yaml" {
            return Err(IdError::Extension {
                found: format!(".{extension}"),
            });
        }
        ScenarioId::new(area, name)
    }

    /// An id from its two parts.
    pub fn new(area: &str, name: &str) -> Result<ScenarioId, IdError> {
        Ok(ScenarioId {
            area: valid_part(area)?.to_owned(),
            name: valid_part(name)?.to_owned(),
        })
    }

    /// The directory under the suite root (`revocation`).
    pub fn area(&self) -> &str {
        &self.area
    }

    /// The file stem (`ocsp_after_move`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl FromStr for ScenarioId {
    type Err = IdError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (area, name) = input.split_once('/').ok_or_else(|| IdError::Text {
            input: input.to_owned(),
        })?;
        ScenarioId::new(area, name)
    }
}

impl fmt::Display for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.area, self.name)
    }
}

impl fmt::Debug for ScenarioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScenarioId({self})")
    }
}

impl Serialize for ScenarioId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

fn valid_part(part: &str) -> Result<&str, IdError> {
    let ok = !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(part)
    } else {
        Err(IdError::Part {
            part: part.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_is_area_and_stem_of_the_path_under_the_root() {
        let id = ScenarioId::from_path(
            Path::new("scenarios/revocation/ocsp_after_move.yaml"),
            Path::new("scenarios"),
        )
        .unwrap();
        assert_eq!(id.to_string(), "revocation/ocsp_after_move");
        assert_eq!((id.area(), id.name()), ("revocation", "ocsp_after_move"));
        assert_eq!("revocation/ocsp_after_move".parse::<ScenarioId>(), Ok(id));
    }

    #[test]
    fn paths_outside_area_and_name_are_refused_with_what_was_expected() {
        let root = Path::new("scenarios");
        let id = |p: &str| ScenarioId::from_path(Path::new(p), root).unwrap_err();
        assert_eq!(
            id("scenarios/x.yaml").to_string(),
            "expected <area>/<name>.yaml under the suite root, got x.yaml"
        );
        assert!(matches!(id("scenarios/a/b/c.yaml"), IdError::Shape { .. }));
        assert!(matches!(
            id("elsewhere/a/b.yaml"),
            IdError::NotUnderRoot { .. }
        ));
        assert_eq!(
            id("scenarios/a/b.yml").to_string(),
            "expected the extension `.yaml`, got \".yml\""
        );
        assert_eq!(
            id("scenarios/Card/b.yaml").to_string(),
            "\"Card\" is not a valid id part: expected lower-case ASCII letters, digits and `_`"
        );
        assert!(matches!(id("scenarios/a/b-c.yaml"), IdError::Part { .. }));
        assert!(matches!(id("scenarios/a/.yaml"), IdError::Part { .. }));
        assert!(matches!(
            "no_slash".parse::<ScenarioId>(),
            Err(IdError::Text { .. })
        ));
    }

    #[test]
    fn ids_sort_by_area_then_name() {
        let mut ids: Vec<ScenarioId> = ["card_x/a", "card/b", "card/a"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        ids.sort();
        let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(texts, ["card/a", "card/b", "card_x/a"]);
    }
}
