//! Reports every unsupported or always-approximated field present in a spec, from the table, so
//! that no field is dropped without a warning even where no translation rule looks at it.

use super::Warnings;
use super::fields::tree::Node;
use super::fields::{self, Disposition, Request};
use serde_json::Value;

/// Spec members that belong to Tidewater (extensions) or are read-only describe output: not
/// request fields, so not walked.
const SKIPPED: &[&str] = &[
    "ingress",
    "policy",
    "scheduleExpression",
    "scheduleExpressionTimezone",
    "state",
    "secretStore",
    "autoscaler",
];

/// Walk a serialised spec of `request`, reporting table rows that must always be reported.
/// Paths are prefixed with `prefix` (for nested specs).
pub fn report(request: Request, spec: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = spec else { return };
    for (key, value) in map {
        if SKIPPED.contains(&key.as_str()) {
            continue;
        }
        if request == Request::CreateService && key == "autoScaling" {
            walk_auto_scaling(value, warnings);
            continue;
        }
        walk(request, key, key, value, warnings);
    }
}

fn walk_auto_scaling(value: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = value else { return };
    if let Some(target) = map.get("scalableTarget") {
        walk_root(
            Request::RegisterScalableTarget,
            "autoScaling.scalableTarget",
            target,
            warnings,
        );
    }
    for (key, request) in [
        ("scalingPolicies", Request::PutScalingPolicy),
        ("scheduledActions", Request::PutScheduledAction),
    ] {
        if let Some(Value::Array(items)) = map.get(key) {
            for (i, item) in items.iter().enumerate() {
                walk_root(request, &format!("autoScaling.{key}[{i}]"), item, warnings);
            }
        }
    }
}

fn walk_root(request: Request, prefix: &str, value: &Value, warnings: &mut Warnings) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        walk(request, &format!("{prefix}.{key}"), key, v, warnings);
    }
}

/// `concrete` is the path shown to the user; `norm` the path in table form.
fn walk(request: Request, concrete: &str, norm: &str, value: &Value, warnings: &mut Warnings) {
    let mut paths = Paths {
        concrete: concrete.to_string(),
        norm: norm.to_string(),
    };
    paths.walk(request, value, warnings);
}

/// The path being walked, in both forms, grown and cut back as the walk goes down and up.
struct Paths {
    /// The path shown to the user (`containerDefinitions[1].ulimits`).
    concrete: String,
    /// The path in table form (`containerDefinitions[].ulimits`).
    norm: String,
}

impl Paths {
    fn walk(&mut self, request: Request, value: &Value, warnings: &mut Warnings) {
        let Some(reporting) = fields::reporting(request, &self.norm) else {
            return;
        };
        if !present(value) {
            return;
        }
        if let Some(row) = reporting {
            if !warnings.has_path(&self.concrete) {
                match row.disposition {
                    Disposition::Unsupported => {
                        warnings.unsupported(self.concrete.clone(), row.note)
                    }
                    _ => warnings.approximated(self.concrete.clone(), row.note),
                }
            }
            return;
        }
        let (concrete, norm) = (self.concrete.len(), self.norm.len());
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    self.concrete.push('.');
                    self.concrete.push_str(k);
                    self.norm.push('.');
                    self.norm.push_str(k);
                    self.walk(request, v, warnings);
                    self.concrete.truncate(concrete);
                    self.norm.truncate(norm);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    use std::fmt::Write;
                    let _ = write!(self.concrete, "[{i}]");
                    self.norm.push_str("[]");
                    self.walk(request, v, warnings);
                    self.concrete.truncate(concrete);
                    self.norm.truncate(norm);
                }
            }
            _ => {}
        }
    }
}

/// [`report`] of `spec` serialised, without building the serialised value: the members are
/// walked as they are serialised, and a member whose table row always reports is only asked
/// whether it is [`present`].
pub fn report_serialised<T: Serialize + ?Sized>(
    request: Request,
    spec: &T,
    warnings: &mut Warnings,
) {
    let tree = fields::tree::get();
    let mut walker = Walker {
        request,
        tree,
        segments: Vec::with_capacity(16),
        paths: Paths {
            concrete: String::new(),
            norm: String::new(),
        },
        at: Some(tree.root(request)),
        warnings,
        top: true,
    };
    spec.serialize(&mut walker).expect("spec serialises");
}

/// Walks a value as it is serialised (see [`report_serialised`]). Down the table's tree
/// ([`fields::tree`]) the path is kept as segments, written out only for a warning; below a
/// member the tree cannot answer for (a map key with `.` or `[`), it is written out as it goes
/// and the table is asked for the whole path ([`fields::reporting`]).
struct Walker<'w> {
    request: Request,
    tree: &'static fields::tree::Tree,
    /// The path down the tree.
    segments: Vec<Segment>,
    /// The path below a member the tree cannot answer for (scratch above it).
    paths: Paths,
    /// Where the value is in the tree; `None` below a member it cannot answer for.
    at: Option<Node>,
    warnings: &'w mut Warnings,
    /// Whether the value is the spec itself (its members are walked as [`report`] does).
    top: bool,
}

/// One step of a path down the tree.
enum Segment {
    /// A struct member.
    Name(&'static str),
    /// A map key.
    Key(String),
    /// A list element.
    Index(usize),
}

/// A path of `segments`, as shown (`a[1].b`) and in table form (`a[].b`).
fn write_paths(segments: &[Segment], paths: &mut Paths) {
    use std::fmt::Write;
    paths.concrete.clear();
    paths.norm.clear();
    // Room for a deep path at once, rather than growing by doubling.
    paths.concrete.reserve(128);
    paths.norm.reserve(128);
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Name(name) => paths.push_member(i > 0, name),
            Segment::Key(key) => paths.push_member(i > 0, key),
            Segment::Index(n) => {
                let _ = write!(paths.concrete, "[{n}]");
                paths.norm.push_str("[]");
            }
        }
    }
}

impl Paths {
    fn push_member(&mut self, dot: bool, key: &str) {
        if dot {
            self.concrete.push('.');
            self.norm.push('.');
        }
        self.concrete.push_str(key);
        self.norm.push_str(key);
    }
}

/// What is at a path: where it is in the tree (`None` below a member the tree cannot answer
/// for), and its row when that always reports; `None` when nothing at or below it reports.
type Found = Option<(Option<Node>, Option<&'static fields::Field>)>;

impl<'w> Walker<'w> {
    /// One value at the current path: [`Paths::walk`], serialised.
    fn node<T: Serialize + ?Sized>(&mut self, found: Found, value: &T) -> Result<(), Error> {
        let Some((at, reporting)) = found else {
            return Ok(());
        };
        if let Some(row) = reporting {
            if value.serialize(Presence)? {
                if at.is_some() {
                    write_paths(&self.segments, &mut self.paths);
                }
                if !self.warnings.has_path(&self.paths.concrete) {
                    let path = self.paths.concrete.clone();
                    match row.disposition {
                        Disposition::Unsupported => self.warnings.unsupported(path, row.note),
                        _ => self.warnings.approximated(path, row.note),
                    }
                }
            }
            return Ok(());
        }
        self.at = at;
        value.serialize(&mut *self)
    }

    /// The tree answers as the table does for the whole path (`segments`).
    #[cfg(debug_assertions)]
    fn check(&mut self, found: Option<fields::tree::Found>) {
        write_paths(&self.segments, &mut self.paths);
        let row = found.map(|(_, row)| row.map(|r| r.path));
        let by_path = fields::reporting(self.request, &self.paths.norm);
        debug_assert_eq!(
            row,
            by_path.map(|r| r.map(|r| r.path)),
            "{}",
            self.paths.norm
        );
    }

    fn compound<'a>(&'a mut self, members: bool) -> Compound<'a, 'w> {
        let top = std::mem::replace(&mut self.top, false);
        if top && !members {
            return Compound::Ignored;
        }
        Compound::Walked(Members {
            concrete: self.paths.concrete.len(),
            norm: self.paths.norm.len(),
            at: self.at,
            walker: self,
            top,
            index: 0,
            key: None,
        })
    }
}

/// The members or elements of an object or list being walked.
struct Members<'a, 'w> {
    walker: &'a mut Walker<'w>,
    /// Where the object or list is in the tree (`None`: below a member it cannot answer for).
    at: Option<Node>,
    /// The lengths of the written-out path of the object or list (when `at` is `None`).
    concrete: usize,
    norm: usize,
    top: bool,
    index: usize,
    key: Option<String>,
}

impl Members<'_, '_> {
    /// Whether the top-level member `key` is walked by the table's tree (else it is skipped or
    /// walked on its own).
    fn walked_at_top<T: Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<bool, Error> {
        let w = &mut *self.walker;
        if SKIPPED.contains(&key) {
            return Ok(false);
        }
        if w.request == Request::CreateService && key == "autoScaling" {
            walk_auto_scaling(&to_value(value)?, w.warnings);
            return Ok(false);
        }
        Ok(true)
    }

    /// A struct's member: its name has no `.` or `[` (the ECS shapes' names).
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        debug_assert!(!key.contains(['.', '[']), "{key}");
        if self.top && !self.walked_at_top(key, value)? {
            return Ok(());
        }
        match self.at {
            Some(at) => {
                let found = self.walker.tree.member(at, key);
                self.down(Segment::Name(key), found, value)
            }
            None => self.written(key, value),
        }
    }

    /// A map's member.
    fn member<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        if self.top && !self.walked_at_top(&key, value)? {
            return Ok(());
        }
        match self.at {
            Some(at) if !key.bytes().any(|b| b == b'.' || b == b'[') => {
                let found = self.walker.tree.member(at, &key);
                self.down(Segment::Key(key), found, value)
            }
            Some(_) => {
                // The tree has no place for the key: the path is written out from here down.
                write_paths(&self.walker.segments, &mut self.walker.paths);
                self.concrete = self.walker.paths.concrete.len();
                self.norm = self.walker.paths.norm.len();
                self.written(&key, value)
            }
            None => self.written(&key, value),
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let index = self.index;
        self.index += 1;
        match self.at {
            Some(at) => {
                let found = self.walker.tree.elements(at);
                self.down(Segment::Index(index), found, value)
            }
            None => {
                use std::fmt::Write;
                let w = &mut *self.walker;
                let _ = write!(w.paths.concrete, "[{index}]");
                w.paths.norm.push_str("[]");
                let found = fields::reporting(w.request, &w.paths.norm).map(|row| (None, row));
                w.node(found, value)?;
                self.cut();
                Ok(())
            }
        }
    }

    /// One step down the tree.
    fn down<T: Serialize + ?Sized>(
        &mut self,
        segment: Segment,
        found: Option<fields::tree::Found>,
        value: &T,
    ) -> Result<(), Error> {
        let w = &mut *self.walker;
        w.segments.push(segment);
        #[cfg(debug_assertions)]
        w.check(found);
        let result = w.node(found.map(|(at, row)| (Some(at), row)), value);
        w.segments.pop();
        result
    }

    /// A member below where the tree answers: its path written out.
    fn written<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let w = &mut *self.walker;
        w.paths.push_member(!self.top, key);
        let found = fields::reporting(w.request, &w.paths.norm).map(|row| (None, row));
        w.node(found, value)?;
        self.cut();
        Ok(())
    }

    /// Back to the path of the object or list.
    fn cut(&mut self) {
        self.walker.paths.concrete.truncate(self.concrete);
        self.walker.paths.norm.truncate(self.norm);
    }
}

/// A tuple or struct enum variant (`{variant: [..]}`, `{variant: {..}}`): rare, so built as
/// JSON and walked as [`report`] walks it.
struct Variant<'a, 'w> {
    members: Members<'a, 'w>,
    variant: &'static str,
    items: Vec<Value>,
    fields: serde_json::Map<String, Value>,
}

impl Variant<'_, '_> {
    fn end(mut self, inner: Value) -> Result<(), Error> {
        if self.members.top {
            let mut map = serde_json::Map::new();
            map.insert(self.variant.to_string(), inner);
            report(
                self.members.walker.request,
                &Value::Object(map),
                self.members.walker.warnings,
            );
            return Ok(());
        }
        let w = &mut *self.members.walker;
        if self.members.at.is_some() {
            write_paths(&w.segments, &mut w.paths);
        }
        w.paths.push_member(true, self.variant);
        w.paths.walk(w.request, &inner, w.warnings);
        self.members.cut();
        Ok(())
    }
}

/// What a compound value is walked as.
enum Compound<'a, 'w> {
    Walked(Members<'a, 'w>),
    Variant(Variant<'a, 'w>),
    /// Not an object at the top: nothing is walked.
    Ignored,
}

use super::unread::Error;
use serde::Serialize;
use serde::ser;

fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    serde_json::to_value(value).map_err(ser::Error::custom)
}

/// A map key as JSON writes it.
fn key_string<T: Serialize + ?Sized>(key: &T) -> Result<String, Error> {
    match to_value(key)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ser::Error::custom("key must be a string")),
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        match self {
            Compound::Walked(m) => m.element(value),
            Compound::Variant(v) => {
                v.items.push(to_value(value)?);
                Ok(())
            }
            Compound::Ignored => Ok(()),
        }
    }
    fn end(self) -> Result<(), Error> {
        match self {
            Compound::Variant(mut v) => {
                let items = std::mem::take(&mut v.items);
                v.end(Value::Array(items))
            }
            _ => Ok(()),
        }
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        if let Compound::Walked(m) = self {
            m.key = Some(key_string(key)?);
        }
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if let Compound::Walked(m) = self {
            let key = m.key.take().unwrap_or_default();
            m.member(key, value)?;
        }
        Ok(())
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self {
            Compound::Walked(m) => m.field(key, value),
            Compound::Variant(v) => {
                v.fields.insert(key.to_string(), to_value(value)?);
                Ok(())
            }
            Compound::Ignored => Ok(()),
        }
    }
    fn end(self) -> Result<(), Error> {
        match self {
            Compound::Variant(mut v) => {
                let fields = std::mem::take(&mut v.fields);
                v.end(Value::Object(fields))
            }
            _ => Ok(()),
        }
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<(), Error> {
        ser::SerializeStruct::end(self)
    }
}

macro_rules! leaves {
    ($ok:expr; $($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, _: $ty) -> Result<Self::Ok, Error> {
            Ok($ok)
        })*
    };
}

impl<'a, 'w> ser::Serializer for &'a mut Walker<'w> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'w>;
    type SerializeTuple = Compound<'a, 'w>;
    type SerializeTupleStruct = Compound<'a, 'w>;
    type SerializeTupleVariant = Compound<'a, 'w>;
    type SerializeMap = Compound<'a, 'w>;
    type SerializeStruct = Compound<'a, 'w>;
    type SerializeStructVariant = Compound<'a, 'w>;

    leaves!(();
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

    fn serialize_none(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    /// `{variant: value}`.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        match self.compound(true) {
            Compound::Walked(mut m) => m.field(variant, value),
            _ => Ok(()),
        }
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'w>, Error> {
        Ok(self.compound(false))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a, 'w>, Error> {
        Ok(self.compound(false))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'w>, Error> {
        Ok(self.compound(false))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'w>, Error> {
        Ok(variant_of(self, variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'w>, Error> {
        Ok(self.compound(true))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'w>, Error> {
        Ok(self.compound(true))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'w>, Error> {
        Ok(variant_of(self, variant))
    }
}

fn variant_of<'a, 'w>(walker: &'a mut Walker<'w>, variant: &'static str) -> Compound<'a, 'w> {
    match walker.compound(true) {
        Compound::Walked(members) => Compound::Variant(Variant {
            members,
            variant,
            items: Vec::new(),
            fields: serde_json::Map::new(),
        }),
        other => other,
    }
}

/// Whether a value serialises to a [`present`] JSON value.
struct Presence;

/// Whether any element or member of a compound value is present.
struct AnyPresent(bool);

impl AnyPresent {
    fn add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if !self.0 {
            self.0 = value.serialize(Presence)?;
        }
        Ok(())
    }
}

macro_rules! any_present {
    ($($tr:ident::$method:ident),* $(,)?) => {
        $(impl ser::$tr for AnyPresent {
            type Ok = bool;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.add(value)
            }
            fn end(self) -> Result<bool, Error> {
                Ok(self.0)
            }
        })*
    };
}

any_present!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field,
);

impl ser::SerializeMap for AnyPresent {
    type Ok = bool;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, _: &T) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.add(value)
    }
    fn end(self) -> Result<bool, Error> {
        Ok(self.0)
    }
}

impl ser::SerializeStruct for AnyPresent {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.add(value)
    }
    fn end(self) -> Result<bool, Error> {
        Ok(self.0)
    }
}

impl ser::SerializeStructVariant for AnyPresent {
    type Ok = bool;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.add(value)
    }
    fn end(self) -> Result<bool, Error> {
        Ok(self.0)
    }
}

impl ser::Serializer for Presence {
    type Ok = bool;
    type Error = Error;
    type SerializeSeq = AnyPresent;
    type SerializeTuple = AnyPresent;
    type SerializeTupleStruct = AnyPresent;
    type SerializeTupleVariant = AnyPresent;
    type SerializeMap = AnyPresent;
    type SerializeStruct = AnyPresent;
    type SerializeStructVariant = AnyPresent;

    leaves!(true;
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
        serialize_char(char),
    );

    fn serialize_bool(self, v: bool) -> Result<bool, Error> {
        Ok(v)
    }
    /// JSON has no NaN or infinity: `serde_json` writes them as null.
    fn serialize_f32(self, v: f32) -> Result<bool, Error> {
        Ok(v.is_finite())
    }
    fn serialize_f64(self, v: f64) -> Result<bool, Error> {
        Ok(v.is_finite())
    }
    fn serialize_str(self, v: &str) -> Result<bool, Error> {
        Ok(!v.is_empty())
    }
    /// A list of numbers.
    fn serialize_bytes(self, v: &[u8]) -> Result<bool, Error> {
        Ok(!v.is_empty())
    }
    fn serialize_none(self) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<bool, Error> {
        Ok(false)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<bool, Error> {
        Ok(!variant.is_empty())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<bool, Error> {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_tuple(self, _: usize) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<AnyPresent, Error> {
        Ok(AnyPresent(false))
    }
}

/// Whether a value carries information: null, false, "" and empty collections do not.
pub fn present(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(m) => m.values().any(present),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsupported_fields_are_reported_once_at_their_row() {
        let spec = json!({
            "family": "x",
            "containerDefinitions": [{"name": "a", "image": "i", "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}]}],
            "proxyConfiguration": {"containerName": "envoy", "properties": [{"name": "a", "value": "b"}]},
            "enableFaultInjection": false
        });
        let mut w = Warnings::default();
        report(Request::RegisterTaskDefinition, &spec, &mut w);
        let paths: Vec<_> = w.into_vec().into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            vec!["containerDefinitions[0].ulimits", "proxyConfiguration"]
        );
    }

    /// Every task definition of the corpus: the same warnings as the serialised value's walk.
    #[test]
    fn the_serialised_walk_is_the_walk_of_the_serialised_value() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/taskdefs");
        let mut seen = 0;
        for f in std::fs::read_dir(dir).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            let Ok(v) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let v = v.get("taskDefinition").cloned().unwrap_or(v);
            let Ok(td) =
                serde_json::from_value::<crate::api::ecs::RegisterTaskDefinitionRequest>(v)
            else {
                continue;
            };
            let mut by_value = Warnings::default();
            report(
                Request::RegisterTaskDefinition,
                &serde_json::to_value(&td).unwrap(),
                &mut by_value,
            );
            let mut serialised = Warnings::default();
            report_serialised(Request::RegisterTaskDefinition, &td, &mut serialised);
            assert_eq!(
                serialised.into_vec(),
                by_value.into_vec(),
                "{}",
                f.path().display()
            );
            seen += 1;
        }
        assert!(seen > 10, "{seen} task definitions");
    }

    /// Map keys with `.` or `[` (which the table's tree has no place for) are walked as their
    /// whole path reads: a serialised map walks as its JSON does, wherever such keys are.
    #[test]
    fn keys_with_dots_and_brackets_walk_as_their_whole_path() {
        let spec = json!({
            "family": "x",
            "containerDefinitions[].ulimits": [1],
            "proxyConfiguration.type": "APPMESH",
            "containerDefinitions": [
                {"name": "a", "image": "i", "ulimits": [{"name": "nofile"}],
                 "linuxParameters.devices": [{"hostPath": "/dev/x"}],
                 "linuxParameters": {"devices": [{"hostPath": "/dev/y"}], "a.b": {"c[0]": 1},
                    "tmpfs": [{"containerPath": "/t", "size": 1, "mountOptions": ["ro"]}]},
                 "x[]": {"ulimits": [1]}},
                {"name": "b", "image": "i", "dockerLabels": {"a.b": "c", "d[1]": "e"},
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs.group": "g"}}}
            ],
            "volumes": [{"name": "v", "dockerVolumeConfiguration": {"driverOpts": {"o.x": "1"}}}],
        });
        let mut by_value = Warnings::default();
        report(Request::RegisterTaskDefinition, &spec, &mut by_value);
        let mut serialised = Warnings::default();
        report_serialised(Request::RegisterTaskDefinition, &spec, &mut serialised);
        let by_value = by_value.into_vec();
        assert!(
            by_value
                .iter()
                .any(|w| w.path == "containerDefinitions[].ulimits"),
            "{by_value:?}"
        );
        assert_eq!(serialised.into_vec(), by_value);
    }

    #[test]
    fn auto_scaling_is_walked_with_its_own_requests() {
        let spec = json!({"autoScaling": {"scalableTarget": {"MinCapacity": 1, "RoleARN": "arn"},
            "scalingPolicies": [{"PolicyName": "p", "PredictiveScalingPolicyConfiguration": {"Mode": "ForecastOnly"}}]}});
        let mut w = Warnings::default();
        report(Request::CreateService, &spec, &mut w);
        let paths: Vec<_> = w.into_vec().into_iter().map(|w| w.path).collect();
        assert_eq!(
            paths,
            vec![
                "autoScaling.scalableTarget.RoleARN",
                "autoScaling.scalingPolicies[0].PredictiveScalingPolicyConfiguration"
            ]
        );
    }
}
