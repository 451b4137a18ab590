//! Task-level `cpu` and `memory`, which ECS accepts as `"1024"`, `"1 vCPU"`, `"2 GB"` or `"2048"`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// A task size as ECS writes it: a string of CPU units or MiB (`"1024"`), or with a unit
/// (`"1 vCPU"`, `"0.25 vCPU"`, `"2 GB"`, `"512 MiB"`). The CRD takes a string, as ECS does;
/// `render` and `import` also accept a bare integer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskSize(pub String);

impl TaskSize {
    /// CPU units (1 vCPU = 1024 units), or `None` if the text is not a CPU amount.
    pub fn cpu_units(&self) -> Option<u64> {
        let (num, unit) = split_unit(&self.0)?;
        match unit.as_str() {
            "" => whole(num),
            "vcpu" | "vcpus" => whole(num * 1024.0),
            _ => None,
        }
    }

    /// MiB (1 GB = 1024 MiB as ECS counts it), or `None` if the text is not a memory amount.
    pub fn memory_mib(&self) -> Option<u64> {
        let (num, unit) = split_unit(&self.0)?;
        match unit.as_str() {
            "" | "mb" | "mib" => whole(num),
            "gb" | "gib" => whole(num * 1024.0),
            _ => None,
        }
    }
}

fn whole(v: f64) -> Option<u64> {
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0).then_some(v as u64)
}

fn split_unit(text: &str) -> Option<(f64, String)> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let num: f64 = t[..split].parse().ok()?;
    Some((num, t[split..].trim().to_ascii_lowercase()))
}

impl fmt::Display for TaskSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for TaskSize {
    fn from(s: &str) -> Self {
        TaskSize(s.to_string())
    }
}

impl From<String> for TaskSize {
    fn from(s: String) -> Self {
        TaskSize(s)
    }
}

impl Serialize for TaskSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TaskSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(u64),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::S(s) => TaskSize(s),
            Raw::I(i) => TaskSize(i.to_string()),
        })
    }
}

impl schemars::JsonSchema for TaskSize {
    fn schema_name() -> Cow<'static, str> {
        "TaskSize".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A string, as in the ECS API; bounded so CEL rules over it stay within the cost budget.
        schemars::json_schema!({ "type": "string", "maxLength": 16 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms() {
        assert_eq!(TaskSize::from("256").cpu_units(), Some(256));
        assert_eq!(TaskSize::from("1 vCPU").cpu_units(), Some(1024));
        assert_eq!(TaskSize::from("0.25 vcpu").cpu_units(), Some(256));
        assert_eq!(TaskSize::from("2vCPU").cpu_units(), Some(2048));
        assert_eq!(TaskSize::from("2 GB").cpu_units(), None);
        assert_eq!(TaskSize::from("lots").cpu_units(), None);
    }

    #[test]
    fn memory_forms() {
        assert_eq!(TaskSize::from("512").memory_mib(), Some(512));
        assert_eq!(TaskSize::from("2 GB").memory_mib(), Some(2048));
        assert_eq!(TaskSize::from("0.5GB").memory_mib(), Some(512));
        assert_eq!(TaskSize::from("512 MiB").memory_mib(), Some(512));
        assert_eq!(TaskSize::from("1 vCPU").memory_mib(), None);
    }

    #[test]
    fn integer_accepted() {
        let t: TaskSize = serde_json::from_str("1024").unwrap();
        assert_eq!(t.0, "1024");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"1024\"");
    }
}
