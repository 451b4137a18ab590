//! Reading a file's text into JSON documents (YAML multi-document; JSON is YAML), strictly:
//! every document is read on its own, so one broken document costs only itself; a key written
//! twice in one mapping is an error naming its JSON path (YAML 1.2 and RFC 8259 both say keys
//! should be unique, and Kubernetes' strict decoding rejects duplicates, where a plain reader
//! keeps the last one silently); numbers that are not finite are errors. Nesting is bounded by
//! `serde_yaml_ng`'s recursion limit (128 levels), and aliases by its expansion limit.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::fmt;

/// A document that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// JSON path of the problem (`.` for the document itself).
    pub path: String,
    /// What is wrong, with its line in the file.
    pub message: String,
}

/// Every document of `text` in order (empty documents skipped), each read on its own.
pub fn documents(text: &str) -> Vec<Result<Value, ReadError>> {
    split(text)
        .into_iter()
        .filter_map(|(line, chunk)| match document(chunk) {
            Ok(Value::Null) => None,
            Ok(v) => Some(Ok(v)),
            Err(e) => Some(Err(ReadError {
                path: e.path,
                message: shift_lines(&e.message, line - 1),
            })),
        })
        .collect()
}

/// The documents of a YAML stream: `(first line, text)`. A line `---` (or `...`) at column 0
/// always starts (ends) a document in YAML, whatever came before, so splitting there is exact;
/// lines before the first `---` that hold only directives or comments stay with that document.
fn split(text: &str) -> Vec<(usize, &str)> {
    let mut out: Vec<(usize, &str)> = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 1, 0);
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
        };
        if marker("---") && !only_directives(&text[start..offset]) {
            out.push((start_line, &text[start..offset]));
            (start, start_line) = (offset, i + 1);
        } else if marker("...") {
            out.push((start_line, &text[start..offset]));
            (start, start_line) = (offset + line.len(), i + 2);
        }
        offset += line.len();
    }
    out.push((start_line, &text[start..]));
    out
}

fn only_directives(chunk: &str) -> bool {
    chunk.lines().all(|l| {
        let l = l.trim();
        l.is_empty() || l.starts_with('#') || l.starts_with('%')
    })
}

/// `line N` in a parser message, counted from the file's first line.
fn shift_lines(message: &str, by: usize) -> String {
    if by == 0 {
        return message.to_string();
    }
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find("line ") {
        let (head, tail) = rest.split_at(at + 5);
        out.push_str(head);
        let digits = tail.chars().take_while(char::is_ascii_digit).count();
        if let Ok(n) = tail[..digits].parse::<usize>() {
            out.push_str(&(n + by).to_string());
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// Flow collections (`[`, `{`) open at once, at most: deeper input is refused before parsing
/// (the YAML scanner slows down quadratically with the depth of flow collections; the
/// deserializer refuses more than 128 levels anyway).
pub const MAX_FLOW_DEPTH: usize = 256;

/// The line where more than [`MAX_FLOW_DEPTH`] flow collections are open (brackets in quoted
/// text count too: only a document of more than 256 unclosed brackets is refused).
fn too_deep(chunk: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1);
    for b in chunk.bytes() {
        match b {
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.saturating_sub(1),
            b'\n' => line += 1,
            _ => {}
        }
        if depth > MAX_FLOW_DEPTH {
            return Some(line);
        }
    }
    None
}

/// One document; the path of a duplicate key or a non-finite number is reported.
fn document(chunk: &str) -> Result<Value, ReadError> {
    if let Some(line) = too_deep(chunk) {
        return Err(ReadError {
            path: ".".into(),
            message: format!("nested deeper than {MAX_FLOW_DEPTH} levels at line {line}"),
        });
    }
    let ctx = Context::default();
    let mut docs = serde_yaml_ng::Deserializer::from_str(chunk);
    let Some(de) = docs.next() else {
        return Ok(Value::Null);
    };
    let read = Seed { ctx: &ctx }.deserialize(de);
    let failed_at = ctx.failed_at.borrow_mut().take();
    let value = read.map_err(|e| match failed_at {
        Some((path, message)) => ReadError {
            path,
            message: match e.location() {
                Some(l) => format!("{message} at line {} column {}", l.line(), l.column()),
                None => message,
            },
        },
        None => ReadError {
            path: ".".into(),
            message: format!("not valid YAML or JSON: {e}"),
        },
    })?;
    if docs.next().is_some() {
        return Err(ReadError {
            path: ".".into(),
            message: "not valid YAML or JSON: more than one document".into(),
        });
    }
    Ok(value)
}

/// The path being read, and where reading failed.
#[derive(Default)]
struct Context {
    path: RefCell<Vec<Segment>>,
    failed_at: RefCell<Option<(String, String)>>,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Context {
    fn path_with(&self, last: Option<&str>) -> String {
        let mut out = String::new();
        for s in self.path.borrow().iter() {
            match s {
                Segment::Key(k) if out.is_empty() => out.push_str(k),
                Segment::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        if let Some(k) = last {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(k);
        }
        if out.is_empty() { ".".into() } else { out }
    }

    fn fail<E: de::Error>(&self, last: Option<&str>, message: &str) -> E {
        let path = self.path_with(last);
        self.failed_at
            .borrow_mut()
            .get_or_insert((path, message.to_string()));
        E::custom(message)
    }

    fn within<T>(&self, s: Segment, read: impl FnOnce() -> T) -> T {
        self.path.borrow_mut().push(s);
        let out = read();
        self.path.borrow_mut().pop();
        out
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    ctx: &'a Context,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML or JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| {
                self.ctx
                    .fail(None, &format!("`{v}` is not a finite number"))
            })
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.into()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = self
            .ctx
            .within(Segment::Index(out.len()), || seq.next_element_seed(self))?
        {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(self.ctx.fail(
                    Some(&key),
                    &format!("duplicate key `{key}` (each key may appear once in a mapping)"),
                ));
            }
            let v = self
                .ctx
                .within(Segment::Key(key.clone()), || map.next_value_seed(self))?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }

    /// A tagged value (`!Ref x`): a one-entry mapping from the tag, as
    /// `serde_yaml_ng::with::singleton_map_recursive` reads it.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess;
        let (tag, variant): (String, _) = data.variant()?;
        let v = self.ctx.within(Segment::Key(tag.clone()), || {
            variant.newtype_variant_seed(self)
        })?;
        Ok(Value::Object(Map::from_iter([(tag, v)])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> Vec<Result<Value, ReadError>> {
        documents(text)
    }

    #[test]
    fn a_duplicate_key_is_an_error_naming_its_path() {
        let out = read("spec:\n  containerDefinitions:\n  - {name: a, cpu: 1, cpu: 2}\n");
        let e = out[0].clone().unwrap_err();
        assert_eq!(e.path, "spec.containerDefinitions[0].cpu");
        assert!(e.message.starts_with("duplicate key `cpu`"), "{e:?}");
        assert!(e.message.contains("at line 3"), "{e:?}");
    }

    #[test]
    fn a_duplicate_key_in_json_is_an_error_too() {
        let e = read(r#"{"family": "a", "family": "b"}"#)[0]
            .clone()
            .unwrap_err();
        assert_eq!(e.path, "family");
    }

    #[test]
    fn one_broken_document_costs_only_itself() {
        let out = read("a: 1\n---\nb: [unclosed\n---\nc: 3\n...\n---\n# only a comment\n");
        assert_eq!(out.len(), 3, "{out:?}");
        assert_eq!(out[0], Ok(json!({"a": 1})));
        let e = out[1].clone().unwrap_err();
        assert_eq!(e.path, ".");
        assert!(e.message.contains("line 4"), "{e:?}");
        assert_eq!(out[2], Ok(json!({"c": 3})));
    }

    #[test]
    fn directives_and_inline_documents_are_read() {
        let out = read("%YAML 1.2\n---\na: 1\n--- {b: 2}\n");
        assert_eq!(out, vec![Ok(json!({"a": 1})), Ok(json!({"b": 2}))]);
    }

    #[test]
    fn tags_read_as_one_entry_mappings() {
        let out = read("a: !Ref b\n");
        assert_eq!(out, vec![Ok(json!({"a": {"Ref": "b"}}))]);
    }

    #[test]
    fn non_finite_numbers_are_errors() {
        let e = read("a: [1, .inf]\n")[0].clone().unwrap_err();
        assert_eq!(e.path, "a[1]");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = "[".repeat(100_000);
        assert!(read(&text)[0].is_err());
    }
}
