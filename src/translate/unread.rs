//! The input paths a parsed spec does not hold: members present (see [`walk::present`]) in an
//! input document but absent from the spec serialised back to JSON. The parsed spec is
//! serialised against the input, member by member, without building the serialised value:
//! only the members the input has as objects or lists are followed, and a path is written out
//! only when it is reported. The result is exactly that of serialising the spec with
//! `serde_json::to_value` and comparing the two values (see [`diff`]), in the same order.

use super::walk;
use serde::Serialize;
use serde::ser;
use serde_json::{Map, Value};

/// Why a spec could not be serialised (a `Serialize` implementation failed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Error(String);

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// Paths (`a.b[1].c`) present in `input` whose member `parsed` does not serialise, in the
/// order of the input's members.
pub fn unread<T: Serialize + ?Sized>(input: &Value, parsed: &T) -> Result<Vec<String>, Error> {
    parsed.serialize(Diff {
        input,
        at: Seg::Root,
    })
}

/// The paths present in `input` and absent from `parsed` (two JSON values), in `input`'s
/// order, below `path`.
pub fn diff(input: &Value, parsed: &Value, path: &str, out: &mut Vec<String>) {
    match (input, parsed) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match b.get(k) {
                    Some(bv) => diff(v, bv, &p, out),
                    None if walk::present(v) => out.push(p),
                    None => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                diff(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Where a value is in the input, written out only when needed.
#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Key(&'a Seg<'a>, &'a str),
    Index(&'a Seg<'a>, usize),
}

impl Seg<'_> {
    /// The path as [`diff`] writes it.
    fn path(&self) -> String {
        match self {
            Seg::Root => String::new(),
            Seg::Key(parent, k) => {
                let p = parent.path();
                if p.is_empty() {
                    (*k).to_string()
                } else {
                    format!("{p}.{k}")
                }
            }
            Seg::Index(parent, i) => format!("{}[{i}]", parent.path()),
        }
    }
}

/// Serialises a value against `input`, returning the unread paths below it.
struct Diff<'a> {
    input: &'a Value,
    at: Seg<'a>,
}

impl<'a> Diff<'a> {
    fn members(self) -> Compound<'a> {
        match self.input {
            Value::Object(map) => Compound::Members(Members {
                input: map,
                at: self.at,
                seen: Vec::with_capacity(map.len()),
                key: None,
            }),
            _ => Compound::Ignored,
        }
    }

    fn elements(self) -> Compound<'a> {
        match self.input {
            Value::Array(items) => Compound::Elements(Elements {
                input: items,
                at: self.at,
                next: 0,
                found: Vec::new(),
            }),
            _ => Compound::Ignored,
        }
    }
}

/// The unread paths below `value` serialised against `input` (at `at`): nothing unless both
/// are objects or both lists.
fn below<T: Serialize + ?Sized>(
    input: &Value,
    at: Seg<'_>,
    value: &T,
) -> Result<Vec<String>, Error> {
    match input {
        Value::Object(_) | Value::Array(_) => value.serialize(Diff { input, at }),
        _ => Ok(Vec::new()),
    }
}

/// An object serialised against an input object: the members serialised, with what was unread
/// below each (a member serialised twice keeps its last value, as in a JSON map).
struct Members<'a> {
    input: &'a Map<String, Value>,
    at: Seg<'a>,
    seen: Vec<(&'a str, Vec<String>)>,
    key: Option<String>,
}

impl Members<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let Some((k, v)) = self.input.get_key_value(key) else {
            return Ok(());
        };
        let found = below(v, Seg::Key(&self.at, k), value)?;
        match self.seen.iter_mut().find(|(s, _)| same(s, k)) {
            Some(slot) => slot.1 = found,
            None => self.seen.push((k, found)),
        }
        Ok(())
    }

    fn end(mut self) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in self.input {
            match self.seen.iter().position(|(s, _)| same(s, k)) {
                Some(i) => out.append(&mut self.seen[i].1),
                None if walk::present(v) => out.push(Seg::Key(&self.at, k).path()),
                None => {}
            }
        }
        out
    }
}

/// Whether `seen` is the key `key` of the input object (both are borrowed from it, and its keys
/// are distinct strings: comparing where they are is enough).
fn same(seen: &str, key: &str) -> bool {
    std::ptr::eq(seen, key)
}

/// A list serialised against an input list: element by element, as far as both go.
struct Elements<'a> {
    input: &'a [Value],
    at: Seg<'a>,
    next: usize,
    found: Vec<String>,
}

impl Elements<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let i = self.next;
        self.next += 1;
        if let Some(item) = self.input.get(i) {
            let found = below(item, Seg::Index(&self.at, i), value)?;
            self.found.extend(found);
        }
        Ok(())
    }
}

/// A tuple or struct enum variant (`{variant: [..]}`, `{variant: {..}}`): rare, so built as
/// JSON and compared with [`diff`].
struct Variant<'a> {
    input: &'a Value,
    at: Seg<'a>,
    variant: &'static str,
    items: Vec<Value>,
    fields: Map<String, Value>,
}

impl Variant<'_> {
    fn end(self, inner: Value) -> Vec<String> {
        let mut parsed = Map::new();
        parsed.insert(self.variant.to_string(), inner);
        let mut out = Vec::new();
        diff(
            self.input,
            &Value::Object(parsed),
            &self.at.path(),
            &mut out,
        );
        out
    }
}

/// What a compound value is serialised against.
enum Compound<'a> {
    Members(Members<'a>),
    Elements(Elements<'a>),
    Variant(Variant<'a>),
    /// The input is not of the same shape: nothing below is unread.
    Ignored,
}

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(|e| Error(e.to_string()))
}

/// A map key as JSON writes it.
fn key_string<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match to_value(key)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(Error("key must be a string".into())),
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self {
            Compound::Elements(e) => e.element(value),
            Compound::Variant(v) => {
                v.items.push(to_value(value)?);
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn end(self) -> Result<Vec<String>, Error> {
        Ok(match self {
            Compound::Members(m) => m.end(),
            Compound::Elements(e) => e.found,
            Compound::Variant(mut v) => {
                let items = std::mem::take(&mut v.items);
                v.end(Value::Array(items))
            }
            Compound::Ignored => Vec::new(),
        })
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Vec<String>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Vec<String>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Vec<String>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        if let Compound::Members(m) = self {
            m.key = Some(key_string(key)?);
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if let Compound::Members(m) = self {
            let key = m.key.take().unwrap_or_default();
            m.member(&key, value)?;
        }
        Ok(())
    }
    fn end(self) -> Result<Vec<String>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self {
            Compound::Members(m) => m.member(key, value),
            Compound::Variant(v) => {
                v.fields.insert(key.to_string(), to_value(value)?);
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fn end(self) -> Result<Vec<String>, Error> {
        Ok(match self {
            Compound::Variant(mut v) => {
                let fields = std::mem::take(&mut v.fields);
                v.end(Value::Object(fields))
            }
            other => ser::SerializeSeq::end(other)?,
        })
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = Vec<String>;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Vec<String>, Error> {
        ser::SerializeStruct::end(self)
    }
}

macro_rules! leaves {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<Vec<String>, Error> {
            Ok(Vec::new())
        })*
    };
}

impl<'a> ser::Serializer for Diff<'a> {
    type Ok = Vec<String>;
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    leaves!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    );

    fn serialize_none(self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<String>, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
    ) -> Result<Vec<String>, Error> {
        Ok(Vec::new())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Vec<String>, Error> {
        value.serialize(self)
    }
    /// `{variant: value}`.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Vec<String>, Error> {
        match self.members() {
            Compound::Members(mut m) => {
                m.member(variant, value)?;
                Ok(m.end())
            }
            _ => Ok(Vec::new()),
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.elements())
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.elements())
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.elements())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.variant(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.members())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.members())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.variant(variant))
    }
}

impl<'a> Diff<'a> {
    fn variant(self, variant: &'static str) -> Compound<'a> {
        Compound::Variant(Variant {
            input: self.input,
            at: self.at,
            variant,
            items: Vec::new(),
            fields: Map::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn by_value(input: &Value, parsed: &Value) -> Vec<String> {
        let mut out = Vec::new();
        diff(input, parsed, "", &mut out);
        out
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Port {
        container_port: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        name: Option<String>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum Shape {
        Plain,
        Wrapped(Port),
        Pair(i32, Port),
        Named { port: Port },
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Inner {
        family: String,
        port_mappings: Vec<Port>,
        labels: std::collections::BTreeMap<String, String>,
        shapes: Vec<Shape>,
        extra: Option<Value>,
    }

    #[derive(Serialize)]
    struct Spec {
        #[serde(flatten)]
        inner: Inner,
        #[serde(skip_serializing_if = "Option::is_none")]
        revision: Option<i64>,
    }

    #[test]
    fn the_same_paths_in_the_same_order_as_the_serialised_value() {
        let spec = Spec {
            inner: Inner {
                family: "web".into(),
                port_mappings: vec![
                    Port {
                        container_port: 80,
                        name: None,
                    },
                    Port {
                        container_port: 81,
                        name: Some("b".into()),
                    },
                ],
                labels: [("a".to_string(), "1".to_string())].into(),
                shapes: vec![
                    Shape::Plain,
                    Shape::Wrapped(Port {
                        container_port: 1,
                        name: None,
                    }),
                    Shape::Pair(
                        2,
                        Port {
                            container_port: 3,
                            name: None,
                        },
                    ),
                    Shape::Named {
                        port: Port {
                            container_port: 4,
                            name: None,
                        },
                    },
                ],
                extra: Some(json!({"x": [1, {"y": 2}]})),
            },
            revision: None,
        };
        let input = json!({
            "family": "web", "zzz": 1, "aaa": {"b": null}, "revision": 3, "": {"k": 1},
            "portMappings": [{"containerPort": 80, "name": "a", "hostPort": 1}, {"containerPort": 81, "x": ""}, {"q": 1}],
            "labels": {"a": "1", "b": "2"},
            "shapes": ["plain", {"wrapped": {"containerPort": 1, "w": 1}, "other": 1},
                {"pair": [2, {"containerPort": 3, "p": 1}]}, {"named": {"port": {"n": 1}, "m": 1}}],
            "extra": {"x": [1, {"y": 2, "z": 3}], "v": true},
        });
        let expected = by_value(&input, &serde_json::to_value(&spec).unwrap());
        assert_eq!(unread(&input, &spec).unwrap(), expected);
        assert_eq!(
            expected,
            vec![
                "",
                "extra.v",
                "extra.x[1].z",
                "labels.b",
                "portMappings[0].hostPort",
                "portMappings[0].name",
                "revision",
                "shapes[1].other",
                "shapes[1].wrapped.w",
                "shapes[2].pair[1].p",
                "shapes[3].named.m",
                "shapes[3].named.port.n",
                "zzz",
            ]
        );
    }
}
