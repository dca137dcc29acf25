//! Reading hand-written TOML so that every complaint names the file, the line and the
//! dotted key (`sneak.toml:14: key `kinds.humanoid.keys.leg_x`: …`).
//!
//! The document is walked by hand from toml's spanned tree instead of through serde:
//! serde reports a bad value by type alone, while a motion file's checks (keys in order,
//! a channel the kind has) need the exact place of the value they reject.

use std::ops::Range;

use kinema_core::{Error, Result};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// A document's text and the name its errors carry.
#[derive(Clone, Copy)]
pub(crate) struct Doc<'a> {
    pub label: &'a str,
    pub text: &'a str,
}

impl<'a> Doc<'a> {
    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    /// An error at `span`, about the dotted `key` (empty for the document itself).
    pub fn error(
        &self,
        span: &Range<usize>,
        key: &str,
        message: impl AsRef<str>,
        hint: impl Into<String>,
    ) -> Error {
        let at = format!("{}:{}", self.label, self.line(span.start));
        let message = message.as_ref();
        if key.is_empty() {
            Error::invalid(format!("{at}: {message}"), hint)
        } else {
            Error::invalid(format!("{at}: key `{key}`: {message}"), hint)
        }
    }

    /// The document's root table, or its syntax error with the line.
    pub fn parse(&self) -> Result<Spanned<DeTable<'a>>> {
        DeTable::parse(self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            self.error(
                &span,
                "",
                format!("this is not valid TOML: {}", e.message().trim()),
                "fix the syntax (see docs/MOTIONS.md for a complete example)",
            )
        })
    }

    /// The root table, ready to be read.
    pub fn root<'t>(&self, table: &'t Spanned<DeTable<'a>>) -> Table<'t, 'a> {
        Table::new(*self, String::new(), table.span(), table.get_ref())
    }
}

/// A table being read: hands out its values by key; [`Table::allow`] first names any key
/// that is not part of the format (a typo, usually) before a required one is missed.
pub(crate) struct Table<'t, 'a> {
    doc: Doc<'a>,
    path: String,
    span: Range<usize>,
    /// `(key, key span, value)`, in the order they are written.
    entries: Vec<(&'t str, Range<usize>, &'t Spanned<DeValue<'a>>)>,
}

impl<'t, 'a> Table<'t, 'a> {
    fn new(doc: Doc<'a>, path: String, span: Range<usize>, table: &'t DeTable<'a>) -> Self {
        let mut entries: Vec<_> = table
            .iter()
            .map(|(k, v)| (k.get_ref().as_ref(), k.span(), v))
            .collect();
        entries.sort_by_key(|(_, span, _)| span.start);
        Table {
            doc,
            path,
            span,
            entries,
        }
    }

    /// The dotted key of `key` in this table.
    pub fn key_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// An error about the table as a whole, at its header.
    pub fn error(&self, message: impl AsRef<str>, hint: impl Into<String>) -> Error {
        self.doc.error(&self.span, &self.path, message, hint)
    }

    pub fn get(&self, key: &str) -> Option<Value<'t, 'a>> {
        let (_, _, v) = self.entries.iter().find(|(k, _, _)| *k == key)?;
        Some(Value {
            doc: self.doc,
            path: self.key_path(key),
            value: v,
        })
    }

    /// The value of `key`, or an error saying it is missing and what to write.
    pub fn require(&self, key: &str, example: &str) -> Result<Value<'t, 'a>> {
        self.get(key).ok_or_else(|| {
            let what = if self.path.is_empty() {
                "the file".to_string()
            } else {
                format!("[{}]", self.path)
            };
            self.doc.error(
                &self.span,
                &self.key_path(key),
                format!("required key is missing from {what}"),
                format!("add `{example}`"),
            )
        })
    }

    /// Every entry, for tables whose keys are names (channels, kinds).
    pub fn entries(&self) -> Vec<(&'t str, Range<usize>, Value<'t, 'a>)> {
        self.entries
            .iter()
            .map(|(key, span, value)| {
                let value = Value {
                    doc: self.doc,
                    path: self.key_path(key),
                    value,
                };
                (*key, span.clone(), value)
            })
            .collect()
    }

    /// Refuses a key not in `allowed`, the keys this table may have, naming the nearest.
    pub fn allow(&self, allowed: &[&str]) -> Result<()> {
        let unknown = self.entries.iter().find(|(k, _, _)| !allowed.contains(k));
        if let Some((key, span, _)) = unknown {
            let suggestion = allowed
                .iter()
                .map(|a| (crate::text::edit_distance(key, a), *a))
                .filter(|(d, _)| *d <= (key.chars().count() / 3).max(1))
                .min_by_key(|(d, _)| *d)
                .map(|(_, a)| format!(" (did you mean `{a}`?)"))
                .unwrap_or_default();
            return Err(self.doc.error(
                span,
                &self.key_path(key),
                format!("is not part of a motion file{suggestion}"),
                format!(
                    "keys allowed here: {} (see docs/MOTIONS.md)",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(())
    }
}

/// One value with its dotted key, read as the type the format expects.
pub(crate) struct Value<'t, 'a> {
    doc: Doc<'a>,
    pub path: String,
    value: &'t Spanned<DeValue<'a>>,
}

impl<'t, 'a> Value<'t, 'a> {
    pub fn line(&self) -> usize {
        self.doc.line(self.value.span().start)
    }

    pub fn error(&self, message: impl AsRef<str>, hint: impl Into<String>) -> Error {
        self.doc
            .error(&self.value.span(), &self.path, message, hint)
    }

    /// An error about this value's key, at `span` (the key's own place).
    pub fn error_at(
        &self,
        span: &Range<usize>,
        message: impl AsRef<str>,
        hint: impl Into<String>,
    ) -> Error {
        self.doc.error(span, &self.path, message, hint)
    }

    fn wrong_type(&self, want: &str, example: &str) -> Error {
        self.error(
            format!("expected {want}, found {}", self.value.get_ref().type_str()),
            format!("write it as {example}"),
        )
    }

    pub fn string(&self, example: &str) -> Result<&'t str> {
        match self.value.get_ref() {
            DeValue::String(s) => Ok(s.as_ref()),
            _ => Err(self.wrong_type("a string", example)),
        }
    }

    pub fn boolean(&self, example: &str) -> Result<bool> {
        match self.value.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(self.wrong_type("true or false", example)),
        }
    }

    /// A finite number, integer or float. Floats are read from their decimal text straight
    /// to `f32`, so `0.015` here is exactly the `0.015f32` a Rust literal would be.
    pub fn number(&self, example: &str) -> Result<f32> {
        let parsed = match self.value.get_ref() {
            DeValue::Float(f) => f.as_str().replace('_', "").parse::<f32>().ok(),
            DeValue::Integer(i) => i64::from_str_radix(&i.as_str().replace('_', ""), i.radix())
                .ok()
                .map(|v| v as f32),
            _ => return Err(self.wrong_type("a number", example)),
        };
        match parsed {
            Some(v) if v.is_finite() => Ok(v),
            _ => Err(self.error(
                "is not a finite number",
                format!("write an ordinary number, e.g. {example}"),
            )),
        }
    }

    /// The items of an array; item `i` is named `key[i]` in errors.
    pub fn array(&self, example: &str) -> Result<Vec<Value<'t, 'a>>> {
        match self.value.get_ref() {
            DeValue::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, item)| Value {
                    doc: self.doc,
                    path: format!("{}[{i}]", self.path),
                    value: item,
                })
                .collect()),
            _ => Err(self.wrong_type("an array", example)),
        }
    }

    pub fn table(&self, example: &str) -> Result<Table<'t, 'a>> {
        match self.value.get_ref() {
            DeValue::Table(t) => Ok(Table::new(
                self.doc,
                self.path.clone(),
                self.value.span(),
                t,
            )),
            _ => Err(self.wrong_type("a table", example)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_root<T>(text: &str, f: impl FnOnce(Table) -> Result<T>) -> Result<T> {
        let doc = Doc {
            label: "m.toml",
            text,
        };
        let parsed = doc.parse()?;
        f(doc.root(&parsed))
    }

    #[test]
    fn errors_carry_file_line_and_dotted_key() {
        let e = with_root("a = 1\n[t]\nx = \"no\"\n", |root| {
            let t = root.require("t", "[t]")?.table("[t]")?.get("x").unwrap();
            t.number("1.5")
        })
        .unwrap_err();
        assert!(
            e.message
                .starts_with("m.toml:3: key `t.x`: expected a number, found string"),
            "{e}"
        );
        let e = with_root("a = 1\n", |root| root.require("b", "b = 2").map(|_| ())).unwrap_err();
        assert!(e.message.contains("m.toml:1: key `b`: required key"), "{e}");
        let e = with_root("a = [1,\n2\nc = 3\n", |_| Ok(())).unwrap_err();
        assert!(
            e.message.starts_with("m.toml:3: this is not valid TOML"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_named_with_a_suggestion() {
        let e = with_root("name = 1\nsumary = 2\n", |root| {
            root.allow(&["name", "summary"])
        })
        .unwrap_err();
        assert!(
            e.message.contains(
                "m.toml:2: key `sumary`: is not part of a motion file (did you mean `summary`?)"
            ),
            "{e}"
        );
    }

    #[test]
    fn numbers_read_exactly_and_refuse_non_finite() {
        let v = with_root("a = 0.015\nb = -24\nc = 1_0.5\n", |root| {
            Ok([
                root.get("a").unwrap().number("1")?,
                root.get("b").unwrap().number("1")?,
                root.get("c").unwrap().number("1")?,
            ])
        })
        .unwrap();
        assert_eq!(v, [0.015f32, -24.0, 10.5]);
        let e = with_root("a = nan\n", |root| root.get("a").unwrap().number("1")).unwrap_err();
        assert!(e.message.contains("not a finite number"), "{e}");
    }
}
