//! A spec read from a JSON document in one pass, noting as it goes the members of the document
//! the spec's `Deserialize` skips: the document's members that the spec does not hold. It is
//! `serde_json`'s reading of a `&Value`, step for step, except that a skipped member present
//! (see [`walk::present`]) in the document is noted with its path, and that map keys are read as
//! plain strings (a spec with numeric map keys fails here and is read the slow way).
//!
//! For a spec whose `Serialize` writes every member its `Deserialize` read under the same name
//! (no `flatten`, `alias` or untagged enum of objects on the way), what is noted is exactly what
//! [`super::unread::unread`] finds by serialising the parsed spec against the document, in the
//! same order: members in the document's order, depth first. `input` checks the two agree on
//! every document in debug builds.

use super::walk;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Map, Value};

/// A member of the document the spec does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread<'de> {
    /// A member of the document itself (its key).
    Member(&'de str),
    /// A member below one (its path, `a.b[1].c`).
    Below(String),
}

impl Unread<'_> {
    /// The path, as [`super::unread::unread`] writes it.
    pub fn path(&self) -> String {
        match self {
            Unread::Member(k) => (*k).to_string(),
            Unread::Below(p) => p.clone(),
        }
    }
}

/// `T` read from `v`, with the members of `v` it skipped, in `v`'s order.
pub fn read<'de, T: de::Deserialize<'de>>(v: &'de Value) -> Result<(T, Vec<Unread<'de>>), Error> {
    let mut unread = Vec::new();
    let t = T::deserialize(Tracked {
        value: v,
        at: Seg::Root,
        out: &mut unread,
    })?;
    Ok((t, unread))
}

/// The names of the members a struct reads (as its `Deserialize` lists them, renamed).
pub fn fields_of<'de, T: de::Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// A deserialiser that only asks a struct for its member names.
struct Fields<'f>(&'f mut &'static [&'static str]);

impl<'de> de::Deserializer<'de> for Fields<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        *self.0 = fields;
        Err(de::Error::custom("only its member names are asked"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Where a value is in the document, written out only when a member below it is noted.
#[derive(Clone, Copy)]
enum Seg<'a, 'de> {
    Root,
    Key(&'a Seg<'a, 'de>, &'de str),
    Index(&'a Seg<'a, 'de>, usize),
}

impl Seg<'_, '_> {
    fn write(&self, out: &mut String) {
        match self {
            Seg::Root => {}
            Seg::Key(parent, k) => {
                parent.write(out);
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(parent, i) => {
                use std::fmt::Write;
                parent.write(out);
                let _ = write!(out, "[{i}]");
            }
        }
    }
}

/// A value of the document being read.
struct Tracked<'a, 'de> {
    value: &'de Value,
    at: Seg<'a, 'de>,
    out: &'a mut Vec<Unread<'de>>,
}

impl<'de> Tracked<'_, 'de> {
    /// The value is skipped: noted when present.
    fn skipped(self) {
        if !walk::present(self.value) {
            return;
        }
        let note = match self.at {
            Seg::Key(Seg::Root, k) => Unread::Member(k),
            at => {
                let mut path = String::new();
                at.write(&mut path);
                Unread::Below(path)
            }
        };
        self.out.push(note);
    }

    fn map<V: Visitor<'de>>(
        self,
        map: &'de Map<String, Value>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let len = map.len();
        let mut members = Members {
            iter: map.iter(),
            current: None,
            at: self.at,
            out: self.out,
        };
        let read = visitor.visit_map(&mut members)?;
        if members.iter.len() == 0 {
            Ok(read)
        } else {
            Err(de::Error::invalid_length(len, &"fewer elements in map"))
        }
    }

    fn seq<V: Visitor<'de>>(self, items: &'de [Value], visitor: V) -> Result<V::Value, Error> {
        let len = items.len();
        let mut elements = Elements {
            iter: items.iter().enumerate(),
            at: self.at,
            out: self.out,
        };
        let read = visitor.visit_seq(&mut elements)?;
        if elements.iter.len() == 0 {
            Ok(read)
        } else {
            Err(de::Error::invalid_length(len, &"fewer elements in array"))
        }
    }
}

/// The members of an object being read.
struct Members<'a, 'de> {
    iter: serde_json::map::Iter<'de>,
    current: Option<(&'de str, &'de Value)>,
    at: Seg<'a, 'de>,
    out: &'a mut Vec<Unread<'de>>,
}

impl<'de> MapAccess<'de> for Members<'_, 'de> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.current = Some((key.as_str(), value));
                let key = de::value::BorrowedStrDeserializer::<Error>::new(key.as_str());
                seed.deserialize(key).map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.current.take() {
            Some((key, value)) => seed.deserialize(Tracked {
                value,
                at: Seg::Key(&self.at, key),
                out: &mut *self.out,
            }),
            None => Err(de::Error::custom("value is missing")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        match self.iter.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(upper),
            _ => None,
        }
    }
}

/// The elements of a list being read.
struct Elements<'a, 'de> {
    iter: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    at: Seg<'a, 'de>,
    out: &'a mut Vec<Unread<'de>>,
}

impl<'de> SeqAccess<'de> for Elements<'_, 'de> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some((i, value)) => seed
                .deserialize(Tracked {
                    value,
                    at: Seg::Index(&self.at, i),
                    out: &mut *self.out,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        match self.iter.size_hint() {
            (lower, Some(upper)) if lower == upper => Some(upper),
            _ => None,
        }
    }
}

/// Methods read as `serde_json` reads a `&Value`: nothing below them is skipped by a visitor.
macro_rules! forwarded {
    ($($method:ident),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            de::Deserializer::$method(self.value, visitor)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Tracked<'_, 'de> {
    type Error = Error;

    forwarded!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64,
        deserialize_char,
        deserialize_str,
        deserialize_string,
        deserialize_bytes,
        deserialize_byte_buf,
        deserialize_unit,
        deserialize_identifier,
    );

    /// A `Value`, or an untagged enum's buffer: read whole, as `serde_json` reads it (what an
    /// untagged enum drops is not seen here; see the module documentation).
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_any(self.value, visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_unit_struct(self.value, name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        // serde_json's raw values read the document themselves.
        if name.starts_with("$serde_json") {
            return de::Deserializer::deserialize_newtype_struct(self.value, name, visitor);
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => self.seq(items, visitor),
            _ => de::Deserializer::deserialize_seq(self.value, visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => self.map(map, visitor),
            _ => de::Deserializer::deserialize_map(self.value, visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => self.map(map, visitor),
            Value::Array(items) => self.seq(items, visitor),
            _ => de::Deserializer::deserialize_struct(self.value, name, fields, visitor),
        }
    }

    /// Enums are read as `serde_json` reads them (the ECS shapes' enums are strings).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_enum(self.value, name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.skipped();
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::TaskDefinitionSpec;
    use crate::translate::unread::unread;
    use crate::translate::validate::Spec;
    use serde_json::json;

    /// The one-pass reading of a task definition and serialising it against the document.
    fn both(doc: &Value) -> Option<(Vec<String>, Vec<String>)> {
        let (spec, noted) = TaskDefinitionSpec::read_noting(doc).ok()?;
        let serialised = unread(doc, &spec).expect("spec serialises");
        Some((noted, serialised))
    }

    #[test]
    fn notes_what_serialising_finds_in_the_same_order() {
        let doc = json!({
            "family": "web", "zzz": 1, "aaa": {"b": null}, "": {"k": 1}, "off": false,
            "revision": 3, "status": "ACTIVE", "compatibilities": ["EC2"],
            "cpu": 256, "memory": "", "tags": [],
            "containerDefinitions": [
                {"name": "a", "image": "i", "x": "", "y": [null], "z": {"q": 0},
                 "portMappings": [{"containerPort": 80, "hostPortX": 1}, {"containerPort": 81}],
                 "dockerLabels": {"k": "v"}, "logConfiguration": {"logDriver": "awslogs",
                    "options": {"a": "b"}, "secretOptions": [{"name": "n", "valueFrom": "v", "extra": true}]},
                 "healthCheck": {"command": ["CMD"], "bogus": {"deep": [1]}}},
                {"name": "b", "image": "i", "essential": null}
            ],
            "volumes": [{"name": "v", "host": {"sourcePath": "/x", "other": 1}}],
        });
        let (noted, serialised) = both(&doc).expect("reads");
        assert_eq!(noted, serialised);
        assert_eq!(
            noted,
            [
                "",
                "containerDefinitions[0].healthCheck.bogus",
                "containerDefinitions[0].logConfiguration.secretOptions[0].extra",
                "containerDefinitions[0].portMappings[0].hostPortX",
                "containerDefinitions[0].z",
                "volumes[0].host.other",
                "zzz",
            ]
        );
    }

    /// Every object of `v`, as a path of keys and indices.
    fn objects(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
        match v {
            Value::Object(m) => {
                out.push(at.clone());
                for (k, x) in m {
                    let mut p = at.clone();
                    p.push(json!(k));
                    objects(x, p, out);
                }
            }
            Value::Array(items) => {
                for (i, x) in items.iter().enumerate() {
                    let mut p = at.clone();
                    p.push(json!(i));
                    objects(x, p, out);
                }
            }
            _ => {}
        }
    }

    fn at<'v>(v: &'v mut Value, path: &[Value]) -> &'v mut Value {
        path.iter().fold(v, |v, s| match s {
            Value::String(k) => &mut v[k.as_str()],
            i => &mut v[i.as_u64().unwrap() as usize],
        })
    }

    /// Members the shapes do not have, of every kind `walk::present` tells apart.
    fn strangers() -> Vec<(&'static str, Value)> {
        vec![
            ("aStranger", json!(1)),
            ("zStranger", json!({"deep": [{"x": "y"}]})),
            ("nullStranger", Value::Null),
            ("falseStranger", json!(false)),
            ("emptyStranger", json!({"a": [], "b": ""})),
        ]
    }

    #[test]
    fn notes_what_serialising_finds_on_every_corpus_task_definition_with_strangers_anywhere() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/taskdefs");
        let mut cases = 0;
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let Ok(mut doc) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            if doc["taskDefinition"].is_object() {
                doc = doc["taskDefinition"].take();
            }
            let mut places = Vec::new();
            objects(&doc, Vec::new(), &mut places);
            for place in places {
                for (key, stranger) in strangers() {
                    let mut mutated = doc.clone();
                    if let Value::Object(m) = at(&mut mutated, &place) {
                        m.insert(key.to_string(), stranger);
                    }
                    if let Some((noted, serialised)) = both(&mutated) {
                        assert_eq!(noted, serialised, "{} at {place:?}", entry.path().display());
                        cases += 1;
                    }
                }
            }
        }
        assert!(cases > 1000, "{cases} cases");
    }

    #[test]
    fn the_member_names_of_a_struct_as_it_reads_them() {
        use crate::api::generated::read_only::RegisterTaskDefinitionReadOnly;
        let fields = fields_of::<RegisterTaskDefinitionReadOnly>();
        for name in ["revision", "status", "taskDefinitionArn", "compatibilities"] {
            assert!(fields.contains(&name), "{name} in {fields:?}");
        }
        assert!(!fields.contains(&"family"));
        assert!(fields_of::<String>().is_empty());
    }

    #[test]
    fn a_spec_that_cannot_be_read_is_an_error_as_serde_json_makes_it() {
        for doc in [
            json!({"containerDefinitions": {"name": "a"}}),
            json!({"containerDefinitions": [{"name": 1}]}),
            json!({"containerDefinitions": [{"portMappings": {"containerPort": 1}}]}),
            json!({"cpu": [1]}),
            json!([1]),
        ] {
            let plain = TaskDefinitionSpec::read(&doc)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let noting = TaskDefinitionSpec::read_noting(&doc)
                .map(|_| ())
                .map_err(|e| e.to_string());
            assert_eq!(noting, plain, "{doc}");
            assert!(plain.is_err(), "{doc}");
        }
    }
}
