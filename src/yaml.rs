//! YAML for Kubernetes manifests (the output of `render` and `import`), safe for Kubernetes'
//! YAML 1.1 reader: a string that YAML 1.1 would read as something else (`on`, `off`, `yes`,
//! `no`, `y`, numbers such as `0777` or `1_000`, `12:30`) is always quoted, as is anything with
//! YAML syntax in it. (A YAML 1.2 writer leaves `on` plain, and `kubectl apply` then sends
//! `true`.)

use serde_json::Value;

const WORDS: &[&str] = &[
    "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
];

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if WORDS.iter().any(|w| s.eq_ignore_ascii_case(w)) {
        return false;
    }
    if first.is_ascii_digit() || matches!(first, '+' | '-' | '.') {
        return false;
    }
    if "?:,[]{}#&*!|>'\"%@`=".contains(first) || first.is_whitespace() {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    s.chars()
        .all(|c| !c.is_control() && c != '"' && c != '\\' && c != '\'')
}

fn scalar(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).expect("strings serialise")
    }
}

fn write(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push_str(&pad);
                out.push_str(&scalar(k));
                out.push(':');
                match x {
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push('\n');
                        write(x, indent + 2, out);
                    }
                    Value::Array(items) if !items.is_empty() => {
                        out.push('\n');
                        write(x, indent, out);
                    }
                    other => {
                        out.push(' ');
                        out.push_str(&inline(other));
                        out.push('\n');
                    }
                }
            }
        }
        Value::Array(items) => {
            for x in items {
                out.push_str(&pad);
                out.push_str("- ");
                match x {
                    Value::Object(inner) if !inner.is_empty() => {
                        let mut nested = String::new();
                        write(x, indent + 2, &mut nested);
                        // The first line goes after "- ".
                        out.push_str(nested.trim_start_matches(' '));
                    }
                    Value::Array(inner) if !inner.is_empty() => {
                        let mut nested = String::new();
                        write(x, indent + 2, &mut nested);
                        out.push_str(nested.trim_start_matches(' '));
                    }
                    other => {
                        out.push_str(&inline(other));
                        out.push('\n');
                    }
                }
            }
        }
        other => {
            out.push_str(&pad);
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn inline(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// One YAML document (without the `---` line).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

/// Documents as one YAML stream, each starting with `---`.
pub fn to_stream(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| format!("---\n{}", to_string(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ambiguous_strings_are_quoted_and_the_result_reads_back() {
        let v = json!({
            "options": {"TLS": "on", "verbose": "no", "mode": "0644", "at": "12:30", "empty": ""},
            "command": ["sh", "-c", "echo \"hi\" # not a comment\nexit 0"],
            "list": [{"a": 1, "b": [true, null]}, [1, 2], {}],
            "plain": "arn:aws:iam::123456789012:role/web",
            "n": 1.5
        });
        let text = to_string(&v);
        assert!(text.contains("TLS: \"on\""), "{text}");
        assert!(text.contains("verbose: \"no\""), "{text}");
        assert!(text.contains("mode: \"0644\""), "{text}");
        assert!(
            text.contains("plain: arn:aws:iam::123456789012:role/web"),
            "{text}"
        );
        let back: Value = serde_yaml_ng::from_str(&text).unwrap();
        assert_eq!(back, v);
    }
}
