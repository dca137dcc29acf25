//! A minimal reader for Godot's text resource format, enough to check what we write:
//! `[section key=value …]` headers, `key = value` properties, and the variants numbers,
//! strings, `&"string names"`, booleans, constructors such as `Rect2(…)`,
//! `SubResource("id")`, arrays and dictionaries.

use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Num(f64),
    Str(String),
    Name(String),
    Bool(bool),
    Null,
    Call(String, Vec<Value>),
    Array(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    pub fn num(&self) -> f64 {
        match self {
            Value::Num(n) => *n,
            other => panic!("expected a number, got {other:?}"),
        }
    }

    pub fn str(&self) -> &str {
        match self {
            Value::Str(s) | Value::Name(s) => s,
            other => panic!("expected a string, got {other:?}"),
        }
    }

    pub fn get(&self, key: &str) -> &Value {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {key}")),
            other => panic!("expected a dictionary, got {other:?}"),
        }
    }

    /// `Name(args…)` with every argument a number.
    pub fn call_nums(&self, name: &str) -> Vec<f64> {
        match self {
            Value::Call(n, args) if n == name => args.iter().map(Value::num).collect(),
            other => panic!("expected {name}(...), got {other:?}"),
        }
    }

    /// The id inside `SubResource("id")` / `ExtResource("id")`.
    pub fn reference(&self, kind: &str) -> &str {
        match self {
            Value::Call(n, args) if n == kind && args.len() == 1 => args[0].str(),
            other => panic!("expected {kind}(\"id\"), got {other:?}"),
        }
    }
}

#[derive(Debug)]
pub struct Section {
    pub kind: String,
    pub attrs: BTreeMap<String, Value>,
    pub props: Vec<(String, Value)>,
}

impl Section {
    pub fn prop(&self, key: &str) -> Option<&Value> {
        self.props.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Punct(char),
    Str(String),
    Name(String),
    Num(f64),
    Ident(String),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    let read_string = |i: &mut usize| -> Result<String, String> {
        let mut s = String::new();
        *i += 1;
        loop {
            let c = *chars.get(*i).ok_or("unterminated string")?;
            *i += 1;
            match c {
                '"' => return Ok(s),
                '\\' => {
                    let e = *chars.get(*i).ok_or("bad escape")?;
                    *i += 1;
                    s.push(match e {
                        'n' => '\n',
                        't' => '\t',
                        other => other,
                    });
                }
                c => s.push(c),
            }
        }
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == ';' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if "[]{}(),:=".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else if c == '"' {
            out.push(Tok::Str(read_string(&mut i)?));
        } else if c == '&' && chars.get(i + 1) == Some(&'"') {
            i += 1;
            out.push(Tok::Name(read_string(&mut i)?));
        } else if c.is_ascii_digit() || c == '-' || c == '.' {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || chars[i] == '-'
                    || chars[i] == '+')
            {
                i += 1;
            }
            let s: String = chars[start..i].iter().collect();
            out.push(Tok::Num(s.parse().map_err(|_| format!("bad number {s}"))?));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '/')
            {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self
            .toks
            .get(self.pos)
            .cloned()
            .ok_or("unexpected end of file")?;
        self.pos += 1;
        Ok(t)
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.next()? {
            Tok::Punct(p) if p == c => Ok(()),
            other => Err(format!("expected {c:?}, got {other:?}")),
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Ident(s) => Ok(s),
            other => Err(format!("expected a name, got {other:?}")),
        }
    }

    /// Values separated by commas up to `close` (a trailing comma is allowed).
    fn list(
        &mut self,
        close: char,
        mut item: impl FnMut(&mut Self) -> Result<(), String>,
    ) -> Result<(), String> {
        loop {
            if self.peek() == Some(&Tok::Punct(close)) {
                self.pos += 1;
                return Ok(());
            }
            item(self)?;
            match self.next()? {
                Tok::Punct(',') => {}
                Tok::Punct(p) if p == close => return Ok(()),
                other => return Err(format!("expected ',' or {close:?}, got {other:?}")),
            }
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        Ok(match self.next()? {
            Tok::Num(n) => Value::Num(n),
            Tok::Str(s) => Value::Str(s),
            Tok::Name(s) => Value::Name(s),
            Tok::Ident(id) if id == "true" => Value::Bool(true),
            Tok::Ident(id) if id == "false" => Value::Bool(false),
            Tok::Ident(id) if id == "null" => Value::Null,
            Tok::Ident(id) => {
                self.expect('(')?;
                let mut args = Vec::new();
                self.list(')', |p| {
                    args.push(p.value()?);
                    Ok(())
                })?;
                Value::Call(id, args)
            }
            Tok::Punct('[') => {
                let mut items = Vec::new();
                self.list(']', |p| {
                    items.push(p.value()?);
                    Ok(())
                })?;
                Value::Array(items)
            }
            Tok::Punct('{') => {
                let mut items = Vec::new();
                self.list('}', |p| {
                    let k = p.value()?;
                    p.expect(':')?;
                    items.push((k, p.value()?));
                    Ok(())
                })?;
                Value::Dict(items)
            }
            other => return Err(format!("unexpected {other:?}")),
        })
    }
}

/// Parses a whole `.tres`/`.tscn` text into its sections.
pub fn parse(text: &str) -> Result<Vec<Section>, String> {
    let mut p = Parser {
        toks: tokenize(text)?,
        pos: 0,
    };
    let mut sections: Vec<Section> = Vec::new();
    while p.peek().is_some() {
        p.expect('[')?;
        let kind = p.ident()?;
        let mut attrs = BTreeMap::new();
        while p.peek() != Some(&Tok::Punct(']')) {
            let key = p.ident()?;
            p.expect('=')?;
            attrs.insert(key, p.value()?);
        }
        p.expect(']')?;
        let mut props = Vec::new();
        while let Some(Tok::Ident(_)) = p.peek() {
            let key = p.ident()?;
            p.expect('=')?;
            props.push((key, p.value()?));
        }
        sections.push(Section { kind, attrs, props });
    }
    Ok(sections)
}

#[test]
fn parser_reads_the_variants_we_use() {
    let s = parse("[gd_resource type=\"X\" format=3]\n\n[resource]\na = [{\n\"k\": &\"n\",\n\"r\": Rect2(1, 2.5, 3, -4)\n}, true]\n").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].attrs["format"], Value::Num(3.0));
    let a = s[1].prop("a").unwrap();
    let Value::Array(items) = a else { panic!() };
    assert_eq!(items[0].get("k"), &Value::Name("n".into()));
    assert_eq!(
        items[0].get("r").call_nums("Rect2"),
        vec![1.0, 2.5, 3.0, -4.0]
    );
    assert!(parse("[resource]\na = [1, 2").is_err());
}
