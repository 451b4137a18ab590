//! Limits that keep a hostile or broken input from exhausting the machine: the size of an input
//! file, the nesting of its brackets (checked before any parser sees it), the depth of
//! evaluation (references to references, nested intrinsics and function calls), and a budget
//! of evaluation steps and of bytes produced per file or module. Exceeding one is an error
//! naming the file and the path, never a stack overflow or an out-of-memory.

use super::ImportError;
use serde_json::Value;

/// Largest input file (and file read by Terraform's `file()` / `templatefile()`), in bytes.
pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;
/// Deepest nesting of brackets (`{`, `[`, `(`) in an input's text.
pub const MAX_NESTING: usize = 64;
/// Deepest evaluation: expressions within expressions, references to references.
pub const MAX_DEPTH: usize = 100;
/// Evaluation steps per file (CloudFormation) or module (Terraform).
pub const MAX_STEPS: u64 = 500_000;
/// Bytes of values produced by functions, templates and intrinsics per file or module.
pub const MAX_PRODUCED_BYTES: usize = 64 * 1024 * 1024;

/// The first bracket nested deeper than [`MAX_NESTING`], as `line L, column C`. Brackets in
/// double-quoted strings are not counted. A string opens only where a token can start (after a
/// space, a bracket, `,`, `:`, `=` or at a line start, as in JSON, YAML and HCL): a stray quote
/// inside a word (`name": [{`) hides nothing, or a line of them would hide any nesting from
/// this check, and the YAML scanner is quadratic in the depth of flow collections.
pub fn too_deep(text: &str) -> Option<String> {
    let mut depth = 0usize;
    let (mut line, mut column) = (1, 0);
    let mut in_string = false;
    let mut escaped = false;
    let mut token_start = true;
    for c in text.chars() {
        column += 1;
        let at_token_start = std::mem::replace(
            &mut token_start,
            c.is_whitespace() || matches!(c, '{' | '[' | '(' | ',' | ':' | '='),
        );
        match c {
            '\n' => {
                line += 1;
                column = 0;
                in_string = false;
            }
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' if in_string => in_string = false,
            '"' if at_token_start => in_string = true,
            '{' | '[' | '(' if !in_string => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(format!("line {line}, column {column}"));
                }
            }
            '}' | ']' | ')' if !in_string => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// Check an input's text before it is parsed: its size and nesting, and that it is not empty
/// (an empty Terraform file is valid).
pub fn check_text(file: &str, text: &str) -> Result<(), ImportError> {
    if text.len() as u64 > MAX_INPUT_BYTES {
        return Err(ImportError::Refused {
            file: file.into(),
            path: ".".into(),
            message: format!(
                "{} bytes: larger than the limit of {MAX_INPUT_BYTES} bytes (16 MiB)",
                text.len()
            ),
        });
    }
    let terraform = file.ends_with(".tf") || file.ends_with(".tfvars");
    if text.trim().is_empty() && !terraform {
        return Err(ImportError::UnknownShape {
            file: file.into(),
            path: ".".into(),
            message: "empty file: nothing to import".into(),
        });
    }
    if let Some(at) = too_deep(text) {
        return Err(ImportError::Refused {
            file: file.into(),
            path: at,
            message: format!("brackets nested deeper than {MAX_NESTING} levels"),
        });
    }
    Ok(())
}

/// Why evaluation stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exceeded {
    /// Path of what was being evaluated.
    pub path: String,
    /// Which limit, in words.
    pub message: String,
}

/// The evaluation limits of one file or module: depth, steps and bytes produced. Once one is
/// exceeded, evaluation stops (every value is null) until the fault is taken.
#[derive(Debug, Default)]
pub struct Budget {
    depth: usize,
    steps: u64,
    produced: usize,
    fault: Option<Exceeded>,
}

impl Budget {
    /// Enter one evaluation level at `path`; `false` (and a fault) when a limit is exceeded,
    /// or when evaluation has already stopped. Every `true` must be matched by [`Budget::leave`].
    pub fn enter(&mut self, path: &dyn Fn() -> String) -> bool {
        if self.fault.is_some() {
            return false;
        }
        self.steps += 1;
        if self.depth >= MAX_DEPTH {
            self.fail(path(), format!("evaluation nested deeper than {MAX_DEPTH} levels (a reference chain or nesting too deep)"));
            return false;
        }
        if self.steps > MAX_STEPS {
            self.fail(path(), format!("evaluation took more than {MAX_STEPS} steps (an expansion that grows exponentially?)"));
            return false;
        }
        self.depth += 1;
        true
    }

    /// Leave an evaluation level entered with [`Budget::enter`].
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Count a value produced at `path`; `false` (and a fault) when the bytes budget is spent.
    pub fn produced(&mut self, v: &Value, path: &dyn Fn() -> String) -> bool {
        if self.fault.is_some() {
            return false;
        }
        let left = MAX_PRODUCED_BYTES.saturating_sub(self.produced);
        match size(v, left) {
            Some(n) => {
                self.produced += n;
                true
            }
            None => {
                self.produced = MAX_PRODUCED_BYTES;
                self.fail(path(), format!("evaluation produced more than {MAX_PRODUCED_BYTES} bytes of values (an expansion that grows exponentially?)"));
                false
            }
        }
    }

    /// Stop evaluation at `path` (the first fault is kept).
    pub fn fail(&mut self, path: String, message: String) {
        self.fault.get_or_insert(Exceeded { path, message });
    }

    /// Whether evaluation has stopped.
    pub fn stopped(&self) -> bool {
        self.fault.is_some()
    }

    /// The fault, if evaluation stopped; depth limits reset, spent budgets stay spent.
    pub fn take(&mut self) -> Option<Exceeded> {
        let f = self.fault.take()?;
        if self.steps <= MAX_STEPS && self.produced < MAX_PRODUCED_BYTES {
            return Some(f);
        }
        // A spent budget stops every later evaluation too.
        self.fault = Some(f.clone());
        Some(f)
    }
}

/// The approximate size of a value in memory, in bytes, `None` when it exceeds `limit`: each
/// value (and key) counts its own `Value` (or `String`) besides its text, so that a list of
/// millions of one-letter strings costs what it takes in memory (counting only the text let
/// `concat` doubling reach 7 GB within a 64 MiB budget).
pub fn size(v: &Value, limit: usize) -> Option<usize> {
    const VALUE: usize = std::mem::size_of::<Value>();
    let n = match v {
        Value::String(s) => VALUE + s.len(),
        Value::Array(a) => {
            let mut n = VALUE;
            for x in a {
                n += size(x, limit.checked_sub(n)?)?;
            }
            n
        }
        Value::Object(m) => {
            let mut n = VALUE;
            for (k, x) in m {
                let key = std::mem::size_of::<String>() + k.len();
                n += key + size(x, limit.checked_sub(n + key)?)?;
            }
            n
        }
        _ => VALUE,
    };
    (n <= limit).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_outside_strings() {
        assert_eq!(too_deep(&"[".repeat(64)), None);
        assert_eq!(too_deep(&"[".repeat(65)), Some("line 1, column 65".into()));
        assert_eq!(too_deep(&format!("\"{}\"", "[".repeat(100))), None);
        assert_eq!(too_deep("a\n{{"), None);
        assert_eq!(too_deep("x = \"${upper(\"a[\")}\""), None);
    }

    /// Found by the fuzzer (`fuzz_aws_cli_reader`): a JSON seed mutated so
    /// that every line had a stray quote (`ontainerDefinitions": [{`) hid 12,000 levels of
    /// nesting from this check, and the YAML scanner took 88 s over the megabyte.
    #[test]
    fn a_quote_inside_a_word_hides_no_bracket() {
        let line = "    ontainerDefinitions\": [{\n";
        assert_eq!(
            too_deep(&line.repeat(40)),
            Some("line 33, column 27".into())
        );
    }

    #[test]
    fn a_spent_budget_stays_spent() {
        let mut b = Budget::default();
        let big = Value::String("x".repeat(MAX_PRODUCED_BYTES + 1));
        assert!(!b.produced(&big, &|| "local.a".into()));
        assert_eq!(b.take().unwrap().path, "local.a");
        assert!(b.stopped());
    }
}
