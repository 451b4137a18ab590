//! ECS cluster query language (`memberOf` placement constraints) →
//! Kubernetes node affinity.
//!
//! An ECS `memberOf` constraint carries an expression such as
//! `attribute:ecs.instance-type == t2.small and not attribute:stack exists`.
//! Kubernetes expresses the same idea as
//! `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`: the
//! terms are OR-ed and the match expressions inside a term are AND-ed. The
//! expression is therefore parsed (hand-written tokenizer and
//! recursive-descent parser), negations are pushed down to the comparisons
//! (De Morgan), and the result is multiplied out into disjunctive normal
//! form, one `NodeSelectorTerm` per conjunction.
//!
//! Grammar (keywords case-insensitive):
//!
//! ```text
//! expr       := and_expr (("or" | "||") and_expr)*
//! and_expr   := unary (("and" | "&&") unary)*
//! unary      := ("not" | "!") unary | "(" expr ")" | comparison
//! comparison := subject operator [argument]
//! operator   := "==" | "equals" | "!=" | "not_equals"
//!             | ">" | "greater_than" | ">=" | "greater_than_equal"
//!             | "<" | "less_than" | "<=" | "less_than_equal"
//!             | "exists" | "!exists" | "not_exists"
//!             | "in" | "!in" | "not_in" | "=~" | "matches" | "!~" | "not_matches"
//! argument   := value | "[" value ("," value)* "]"
//! value      := bare word | "double-quoted" | 'single-quoted'
//! ```
//!
//! The module is pure: no I/O.

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};

/// Node affinity derived from an ECS `memberOf` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeConstraint {
    /// OR-ed node selector terms (each term's match expressions are AND-ed),
    /// for `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`.
    pub terms: Vec<NodeSelectorTerm>,
    /// Human-readable notes on where the translation is not exact.
    pub approximations: Vec<String>,
}

/// Why an ECS cluster query expression could not be translated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpressionError {
    #[error("placement expression is empty")]
    Empty,

    #[error("unterminated quoted value starting at position {position}")]
    UnterminatedQuote { position: usize },

    #[error("unexpected character `{character}` at position {position}")]
    UnexpectedCharacter { character: char, position: usize },

    #[error("unexpected `{found}` at position {position}; expected {expected}")]
    UnexpectedToken {
        found: String,
        position: usize,
        expected: &'static str,
    },

    #[error("expression ends too early; expected {expected}")]
    UnexpectedEnd { expected: &'static str },

    #[error(
        "unknown subject `{subject}`; expected `attribute:<name>` (task groups `task:group` and `ec2InstanceId` are recognized but not translatable)"
    )]
    UnknownSubject { subject: String },

    #[error(
        "`task:group` selects instances by the task groups running on them, which is not a node property; use pod affinity/anti-affinity (podAffinity) on a pod label instead"
    )]
    TaskGroup,

    #[error(
        "`{subject}` selects EC2 instance ids, which do not exist on Kubernetes nodes; label the intended nodes and use a custom attribute instead"
    )]
    InstanceId { subject: String },

    #[error(
        "`{subject}` describes ECS container-agent state, which has no Kubernetes node equivalent"
    )]
    UnsupportedSubject { subject: String },

    #[error(
        "attribute `{attribute}` has no Kubernetes node label; label the nodes yourself and use a custom attribute (`attribute:<label>`) instead"
    )]
    UnmappableAttribute { attribute: String },

    #[error(
        "attribute `{attribute}`: pattern `{pattern}` is a regular expression, which Kubernetes node affinity cannot match; list the values with `in [...]` instead"
    )]
    UnsupportedPattern { attribute: String, pattern: String },

    #[error(
        "attribute `{attribute}`: `{operator}` needs a whole-number argument for a Kubernetes Gt/Lt match, got `{value}`"
    )]
    NonIntegerComparison {
        attribute: String,
        operator: String,
        value: String,
    },

    #[error("attribute `{attribute}`: `{operator}` needs a non-empty value list `[a, b, ...]`")]
    EmptyValueList { attribute: String, operator: String },

    #[error("attribute `{attribute}`: value `{value}` {reason}")]
    InvalidValue {
        attribute: String,
        value: String,
        reason: String,
    },

    #[error("attribute `{attribute}` is not a valid Kubernetes label key: {reason}")]
    InvalidLabelKey { attribute: String, reason: String },

    #[error(
        "expression expands to {terms} alternatives in disjunctive normal form, more than the {limit} node selector terms allowed; simplify it"
    )]
    TooComplex { terms: usize, limit: usize },

    #[error("expression is {length} characters long; ECS allows at most {limit}")]
    TooLong { length: usize, limit: usize },

    #[error("expression nests parentheses or `not` more than {limit} levels deep")]
    TooDeep { limit: usize },
}

impl ExpressionError {
    /// Stable snake_case label, for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            ExpressionError::Empty => "empty",
            ExpressionError::UnterminatedQuote { .. } => "unterminated_quote",
            ExpressionError::UnexpectedCharacter { .. } => "unexpected_character",
            ExpressionError::UnexpectedToken { .. } => "unexpected_token",
            ExpressionError::UnexpectedEnd { .. } => "unexpected_end",
            ExpressionError::UnknownSubject { .. } => "unknown_subject",
            ExpressionError::TaskGroup => "task_group",
            ExpressionError::InstanceId { .. } => "instance_id",
            ExpressionError::UnsupportedSubject { .. } => "unsupported_subject",
            ExpressionError::UnmappableAttribute { .. } => "unmappable_attribute",
            ExpressionError::UnsupportedPattern { .. } => "unsupported_pattern",
            ExpressionError::NonIntegerComparison { .. } => "non_integer_comparison",
            ExpressionError::EmptyValueList { .. } => "empty_value_list",
            ExpressionError::InvalidValue { .. } => "invalid_value",
            ExpressionError::InvalidLabelKey { .. } => "invalid_label_key",
            ExpressionError::TooComplex { .. } => "too_complex",
            ExpressionError::TooLong { .. } => "too_long",
            ExpressionError::TooDeep { .. } => "too_deep",
        }
    }
}

/// Most node selector terms one expression may expand to.
const MAX_TERMS: usize = 64;

/// ECS: "The expression can have a maximum length of 2000 characters."
const MAX_LENGTH: usize = 2000;

/// Most nested parentheses and `not`s: far beyond any real expression, and a bound on the
/// parser's recursion whatever the input.
const MAX_DEPTH: usize = 32;

/// Translate an ECS cluster query expression into OR-ed node selector terms.
pub fn to_node_affinity(expression: &str) -> Result<NodeConstraint, ExpressionError> {
    let length = expression.chars().count();
    if length > MAX_LENGTH {
        return Err(ExpressionError::TooLong {
            length,
            limit: MAX_LENGTH,
        });
    }
    let tokens = tokenize(expression)?;
    if tokens.is_empty() {
        return Err(ExpressionError::Empty);
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        notes: Vec::new(),
        depth: 0,
    };
    let ast = parser.parse_or()?;
    if let Some(tok) = parser.peek() {
        return Err(unexpected(tok, "`and`, `or` or the end of the expression"));
    }
    let mut notes = parser.notes;

    let dnf = to_dnf(&ast, false, &mut notes)?;

    let mut terms: Vec<Vec<NodeSelectorRequirement>> = Vec::new();
    for conj in dnf {
        let mut reqs: Vec<NodeSelectorRequirement> = Vec::new();
        for r in conj {
            if !reqs.contains(&r) {
                reqs.push(r);
            }
        }
        if !terms.contains(&reqs) {
            terms.push(reqs);
        }
    }

    let mut approximations = Vec::new();
    for n in notes {
        if !approximations.contains(&n) {
            approximations.push(n);
        }
    }

    Ok(NodeConstraint {
        terms: terms
            .into_iter()
            .map(|reqs| NodeSelectorTerm {
                match_expressions: Some(reqs),
                match_fields: None,
            })
            .collect(),
        approximations,
    })
}

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum TokKind {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `!` on its own (negation, or the prefix of `!in` / `!exists`).
    Bang,
    /// A symbolic operator: `==`, `!=`, `=~`, `!~`, `>`, `>=`, `<`, `<=`,
    /// `&&`, `||`.
    Symbol(&'static str),
    /// A bare or quoted word.
    Word {
        text: String,
        quoted: bool,
    },
}

#[derive(Debug, Clone)]
struct Token {
    kind: TokKind,
    position: usize,
}

impl Token {
    fn display(&self) -> String {
        match &self.kind {
            TokKind::LParen => "(".into(),
            TokKind::RParen => ")".into(),
            TokKind::LBracket => "[".into(),
            TokKind::RBracket => "]".into(),
            TokKind::Comma => ",".into(),
            TokKind::Bang => "!".into(),
            TokKind::Symbol(s) => (*s).into(),
            TokKind::Word { text, quoted: true } => format!("\"{text}\""),
            TokKind::Word {
                text,
                quoted: false,
            } => text.clone(),
        }
    }

    /// Unquoted word equal (case-insensitively) to `kw`.
    fn is_keyword(&self, kw: &str) -> bool {
        matches!(&self.kind, TokKind::Word { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }
}

fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !"()[],\"'=!<>&|~".contains(c)
}

fn tokenize(input: &str) -> Result<Vec<Token>, ExpressionError> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = input.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let mut push = |kind: TokKind, len: usize, i: &mut usize| {
            tokens.push(Token {
                kind,
                position: pos,
            });
            *i += len;
        };
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => push(TokKind::LParen, 1, &mut i),
            ')' => push(TokKind::RParen, 1, &mut i),
            '[' => push(TokKind::LBracket, 1, &mut i),
            ']' => push(TokKind::RBracket, 1, &mut i),
            ',' => push(TokKind::Comma, 1, &mut i),
            '=' if next == Some('=') => push(TokKind::Symbol("=="), 2, &mut i),
            '=' if next == Some('~') => push(TokKind::Symbol("=~"), 2, &mut i),
            '!' if next == Some('=') => push(TokKind::Symbol("!="), 2, &mut i),
            '!' if next == Some('~') => push(TokKind::Symbol("!~"), 2, &mut i),
            '!' => push(TokKind::Bang, 1, &mut i),
            '>' if next == Some('=') => push(TokKind::Symbol(">="), 2, &mut i),
            '>' => push(TokKind::Symbol(">"), 1, &mut i),
            '<' if next == Some('=') => push(TokKind::Symbol("<="), 2, &mut i),
            '<' => push(TokKind::Symbol("<"), 1, &mut i),
            '&' if next == Some('&') => push(TokKind::Symbol("&&"), 2, &mut i),
            '|' if next == Some('|') => push(TokKind::Symbol("||"), 2, &mut i),
            '"' | '\'' => {
                let quote = c;
                let mut j = i + 1;
                let mut text = String::new();
                loop {
                    match chars.get(j) {
                        None => return Err(ExpressionError::UnterminatedQuote { position: pos }),
                        Some((_, ch)) if *ch == quote => break,
                        Some((_, ch)) => text.push(*ch),
                    }
                    j += 1;
                }
                tokens.push(Token {
                    kind: TokKind::Word { text, quoted: true },
                    position: pos,
                });
                i = j + 1;
            }
            c if is_word_char(c) => {
                let mut j = i;
                let mut text = String::new();
                while let Some((_, ch)) = chars.get(j) {
                    if !is_word_char(*ch) {
                        break;
                    }
                    text.push(*ch);
                    j += 1;
                }
                tokens.push(Token {
                    kind: TokKind::Word {
                        text,
                        quoted: false,
                    },
                    position: pos,
                });
                i = j;
            }
            other => {
                return Err(ExpressionError::UnexpectedCharacter {
                    character: other,
                    position: pos,
                });
            }
        }
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// AST and parser
// ---------------------------------------------------------------------------

/// A comparison already mapped onto a node label.
#[derive(Debug, Clone, PartialEq)]
enum Atom {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    Gt(String, i64),
    Lt(String, i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Ast {
    Atom(Atom),
    Not(Box<Ast>),
    And(Box<Ast>, Box<Ast>),
    Or(Box<Ast>, Box<Ast>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

impl Op {
    fn spelling(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "not_exists",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        }
    }
}

const EXPECT_OPERATOR: &str =
    "an operator (`==`, `!=`, `in`, `not_in`, `exists`, `=~`, `>`, `<`, ...)";
const EXPECT_OPERAND: &str = "a comparison such as `attribute:name == value`, `not` or `(`";

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    notes: Vec<String>,
    /// Current nesting of parentheses and `not`s (bounded by [`MAX_DEPTH`]).
    depth: usize,
}

fn unexpected(tok: &Token, expected: &'static str) -> ExpressionError {
    ExpressionError::UnexpectedToken {
        found: tok.display(),
        position: tok.position,
        expected,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self, expected: &'static str) -> Result<Token, ExpressionError> {
        let tok = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or(ExpressionError::UnexpectedEnd { expected })?;
        self.pos += 1;
        Ok(tok)
    }

    fn parse_or(&mut self) -> Result<Ast, ExpressionError> {
        let mut left = self.parse_and()?;
        while let Some(tok) = self.peek() {
            if tok.is_keyword("or") || tok.kind == TokKind::Symbol("||") {
                self.pos += 1;
                let right = self.parse_and()?;
                left = Ast::Or(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Ast, ExpressionError> {
        let mut left = self.parse_unary()?;
        while let Some(tok) = self.peek() {
            if tok.is_keyword("and") || tok.kind == TokKind::Symbol("&&") {
                self.pos += 1;
                let right = self.parse_unary()?;
                left = Ast::And(Box::new(left), Box::new(right));
            } else {
                break;
            }
        }
        Ok(left)
    }

    fn parse_unary(&mut self) -> Result<Ast, ExpressionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExpressionError::TooDeep { limit: MAX_DEPTH });
        }
        let result = self.parse_unary_at_depth();
        self.depth -= 1;
        result
    }

    fn parse_unary_at_depth(&mut self) -> Result<Ast, ExpressionError> {
        let tok = self.next(EXPECT_OPERAND)?;
        if tok.is_keyword("not") || tok.kind == TokKind::Bang {
            return Ok(Ast::Not(Box::new(self.parse_unary()?)));
        }
        match &tok.kind {
            TokKind::LParen => {
                let inner = self.parse_or()?;
                let close = self.next("`)`")?;
                if close.kind != TokKind::RParen {
                    return Err(unexpected(&close, "`)`"));
                }
                Ok(inner)
            }
            TokKind::Word {
                text,
                quoted: false,
            } if !["and", "or"].iter().any(|k| text.eq_ignore_ascii_case(k)) => {
                let subject = text.clone();
                self.parse_comparison(subject)
            }
            _ => Err(unexpected(&tok, EXPECT_OPERAND)),
        }
    }

    fn parse_operator(&mut self) -> Result<Op, ExpressionError> {
        let tok = self.next(EXPECT_OPERATOR)?;
        let op = match &tok.kind {
            TokKind::Symbol("==") => Op::Eq,
            TokKind::Symbol("!=") => Op::Ne,
            TokKind::Symbol(">") => Op::Gt,
            TokKind::Symbol(">=") => Op::Ge,
            TokKind::Symbol("<") => Op::Lt,
            TokKind::Symbol("<=") => Op::Le,
            TokKind::Symbol("=~") => Op::Matches,
            TokKind::Symbol("!~") => Op::NotMatches,
            TokKind::Bang => {
                let after = self.next("`in` or `exists` after `!`")?;
                if after.is_keyword("in") {
                    Op::NotIn
                } else if after.is_keyword("exists") {
                    Op::NotExists
                } else {
                    return Err(unexpected(&after, "`in` or `exists` after `!`"));
                }
            }
            TokKind::Word {
                text,
                quoted: false,
            } => match text.to_ascii_lowercase().as_str() {
                "equals" => Op::Eq,
                "not_equals" => Op::Ne,
                "greater_than" => Op::Gt,
                "greater_than_equal" => Op::Ge,
                "less_than" => Op::Lt,
                "less_than_equal" => Op::Le,
                "exists" => Op::Exists,
                "not_exists" => Op::NotExists,
                "in" => Op::In,
                "not_in" => Op::NotIn,
                "matches" => Op::Matches,
                "not_matches" => Op::NotMatches,
                _ => return Err(unexpected(&tok, EXPECT_OPERATOR)),
            },
            _ => return Err(unexpected(&tok, EXPECT_OPERATOR)),
        };
        Ok(op)
    }

    fn parse_value(&mut self) -> Result<String, ExpressionError> {
        const EXPECTED: &str = "a value";
        let tok = self.next(EXPECTED)?;
        match tok.kind {
            TokKind::Word { text, .. } => Ok(text),
            _ => Err(unexpected(&tok, EXPECTED)),
        }
    }

    fn parse_list(&mut self) -> Result<Vec<String>, ExpressionError> {
        let open = self.next("a value list `[a, b, ...]`")?;
        if open.kind != TokKind::LBracket {
            return Err(unexpected(&open, "a value list `[a, b, ...]`"));
        }
        let mut values = Vec::new();
        if self.peek().is_some_and(|t| t.kind == TokKind::RBracket) {
            self.pos += 1;
            return Ok(values);
        }
        loop {
            values.push(self.parse_value()?);
            let sep = self.next("`,` or `]`")?;
            match sep.kind {
                TokKind::Comma => continue,
                TokKind::RBracket => break,
                _ => return Err(unexpected(&sep, "`,` or `]`")),
            }
        }
        Ok(values)
    }

    fn parse_comparison(&mut self, subject: String) -> Result<Ast, ExpressionError> {
        let attribute = resolve_subject(&subject)?;
        let op = self.parse_operator()?;
        let args = match op {
            Op::Exists | Op::NotExists => Vec::new(),
            Op::In | Op::NotIn => {
                let values = self.parse_list()?;
                if values.is_empty() {
                    return Err(ExpressionError::EmptyValueList {
                        attribute,
                        operator: op.spelling().to_string(),
                    });
                }
                values
            }
            _ => vec![self.parse_value()?],
        };
        let atom = build_atom(&attribute, op, args, &mut self.notes)?;
        Ok(Ast::Atom(atom))
    }
}

// ---------------------------------------------------------------------------
// Subjects and attribute mapping
// ---------------------------------------------------------------------------

/// `attribute:NAME` → `NAME`; every other subject is an error.
fn resolve_subject(subject: &str) -> Result<String, ExpressionError> {
    if let Some((prefix, name)) = subject.split_once(':') {
        if prefix.eq_ignore_ascii_case("attribute") && !name.is_empty() {
            return Ok(name.to_string());
        }
        if prefix.eq_ignore_ascii_case("task") && name.eq_ignore_ascii_case("group") {
            return Err(ExpressionError::TaskGroup);
        }
    }
    let lower = subject.to_ascii_lowercase();
    match lower.as_str() {
        "ec2instanceid" | "instanceid" => Err(ExpressionError::InstanceId {
            subject: subject.to_string(),
        }),
        "agentconnected" | "agentversion" | "registeredat" | "runningtaskscount" => {
            Err(ExpressionError::UnsupportedSubject {
                subject: subject.to_string(),
            })
        }
        _ => Err(ExpressionError::UnknownSubject {
            subject: subject.to_string(),
        }),
    }
}

/// How values of one ECS attribute map onto its node label.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueMap {
    Verbatim,
    Lowercase,
    Arch,
    OsFamily,
}

/// ECS attribute name → (node label key, value mapping).
fn map_attribute(attribute: &str) -> Result<(String, ValueMap), ExpressionError> {
    let lower = attribute.to_ascii_lowercase();
    let mapped = match lower.as_str() {
        "ecs.instance-type" => ("node.kubernetes.io/instance-type", ValueMap::Verbatim),
        "ecs.availability-zone" => ("topology.kubernetes.io/zone", ValueMap::Verbatim),
        "ecs.os-type" => ("kubernetes.io/os", ValueMap::Lowercase),
        "ecs.cpu-architecture" => ("kubernetes.io/arch", ValueMap::Arch),
        "ecs.os-family" => ("kubernetes.io/os", ValueMap::OsFamily),
        "ecs.ami-id" | "ecs.vpc-id" | "ecs.subnet-id" => {
            return Err(ExpressionError::UnmappableAttribute {
                attribute: attribute.to_string(),
            });
        }
        _ => {
            validate_label_key(attribute)?;
            return Ok((attribute.to_string(), ValueMap::Verbatim));
        }
    };
    Ok((mapped.0.to_string(), mapped.1))
}

fn map_value(
    attribute: &str,
    map: ValueMap,
    value: &str,
    notes: &mut Vec<String>,
) -> Result<String, ExpressionError> {
    let mapped = match map {
        ValueMap::Verbatim => value.to_string(),
        ValueMap::Lowercase => value.to_ascii_lowercase(),
        ValueMap::Arch => match value.to_ascii_lowercase().as_str() {
            "x86_64" | "amd64" => "amd64".to_string(),
            "arm64" | "aarch64" => "arm64".to_string(),
            other => other.to_string(),
        },
        ValueMap::OsFamily => {
            let upper = value.to_ascii_uppercase();
            if upper == "LINUX" {
                "linux".to_string()
            } else if upper.starts_with("WINDOWS_SERVER_") {
                notes.push(format!(
                    "attribute `{attribute}` value `{value}` is matched as any Windows node (`kubernetes.io/os=windows`); the Windows Server version and edition are not matched"
                ));
                "windows".to_string()
            } else {
                return Err(ExpressionError::InvalidValue {
                    attribute: attribute.to_string(),
                    value: value.to_string(),
                    reason: "is not a known ECS OS family (expected LINUX or WINDOWS_SERVER_*)"
                        .to_string(),
                });
            }
        }
    };
    validate_label_value(attribute, value, &mapped)?;
    Ok(mapped)
}

/// Characters with a meaning in (Java) regular expressions.
const REGEX_META: &str = ".[]{}()*+?^$|\\";

fn build_atom(
    attribute: &str,
    op: Op,
    args: Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Atom, ExpressionError> {
    let (key, map) = map_attribute(attribute)?;
    let map_all =
        |args: &[String], notes: &mut Vec<String>| -> Result<Vec<String>, ExpressionError> {
            let mut out: Vec<String> = Vec::new();
            for a in args {
                let v = map_value(attribute, map, a, notes)?;
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Ok(out)
        };
    let integer = |args: &[String]| -> Result<i64, ExpressionError> {
        let v = &args[0];
        v.parse::<i64>()
            .map_err(|_| ExpressionError::NonIntegerComparison {
                attribute: attribute.to_string(),
                operator: op.spelling().to_string(),
                value: v.clone(),
            })
    };
    let out_of_range = |args: &[String]| ExpressionError::InvalidValue {
        attribute: attribute.to_string(),
        value: args[0].clone(),
        reason: "is out of range for a Kubernetes Gt/Lt match".to_string(),
    };

    Ok(match op {
        Op::Eq | Op::In => Atom::In(key, map_all(&args, notes)?),
        Op::Ne | Op::NotIn => Atom::NotIn(key, map_all(&args, notes)?),
        Op::Exists => Atom::Exists(key),
        Op::NotExists => Atom::DoesNotExist(key),
        Op::Matches | Op::NotMatches => {
            let pattern = &args[0];
            if pattern.chars().any(|c| REGEX_META.contains(c)) {
                return Err(ExpressionError::UnsupportedPattern {
                    attribute: attribute.to_string(),
                    pattern: pattern.clone(),
                });
            }
            notes.push(format!(
                "attribute `{attribute}`: pattern `{pattern}` has no regular-expression metacharacters and is matched as an exact value"
            ));
            let values = map_all(&args, notes)?;
            if op == Op::Matches {
                Atom::In(key, values)
            } else {
                Atom::NotIn(key, values)
            }
        }
        Op::Gt => Atom::Gt(key, integer(&args)?),
        Op::Ge => Atom::Gt(
            key,
            integer(&args)?
                .checked_sub(1)
                .ok_or_else(|| out_of_range(&args))?,
        ),
        Op::Lt => Atom::Lt(key, integer(&args)?),
        Op::Le => Atom::Lt(
            key,
            integer(&args)?
                .checked_add(1)
                .ok_or_else(|| out_of_range(&args))?,
        ),
    })
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Kubernetes label name part / value syntax: at most 63 characters,
/// alphanumerics with `-`, `_`, `.` inside. `allow_empty` for values.
fn label_name_problem(s: &str, allow_empty: bool) -> Option<String> {
    if s.is_empty() {
        return (!allow_empty).then(|| "must not be empty".to_string());
    }
    if s.len() > 63 {
        return Some("must be at most 63 characters".to_string());
    }
    if !s.chars().all(|c| is_alnum(c) || "-_.".contains(c)) {
        return Some("may only contain letters, digits, `-`, `_` and `.`".to_string());
    }
    let first = s.chars().next().unwrap_or('a');
    let last = s.chars().last().unwrap_or('a');
    if !is_alnum(first) || !is_alnum(last) {
        return Some("must start and end with a letter or digit".to_string());
    }
    None
}

fn validate_label_key(attribute: &str) -> Result<(), ExpressionError> {
    let fail = |reason: String| ExpressionError::InvalidLabelKey {
        attribute: attribute.to_string(),
        reason,
    };
    let (prefix, name) = match attribute.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, attribute),
    };
    if let Some(prefix) = prefix {
        let ok = !prefix.is_empty()
            && prefix.len() <= 253
            && prefix.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            });
        if !ok {
            return Err(fail(format!(
                "prefix `{prefix}` must be a lowercase DNS subdomain"
            )));
        }
    }
    if let Some(problem) = label_name_problem(name, false) {
        return Err(fail(format!("name `{name}` {problem}")));
    }
    Ok(())
}

fn validate_label_value(
    attribute: &str,
    original: &str,
    mapped: &str,
) -> Result<(), ExpressionError> {
    match label_name_problem(mapped, true) {
        None => Ok(()),
        Some(problem) => Err(ExpressionError::InvalidValue {
            attribute: attribute.to_string(),
            value: original.to_string(),
            reason: format!("is not a valid Kubernetes label value: it {problem}"),
        }),
    }
}

// ---------------------------------------------------------------------------
// Negation and disjunctive normal form
// ---------------------------------------------------------------------------

fn negate(atom: &Atom, notes: &mut Vec<String>) -> Atom {
    let missing_note = |key: &str| {
        format!("negated numeric comparison on `{key}` does not match nodes that lack the label")
    };
    match atom {
        Atom::In(k, v) => Atom::NotIn(k.clone(), v.clone()),
        Atom::NotIn(k, v) => Atom::In(k.clone(), v.clone()),
        Atom::Exists(k) => Atom::DoesNotExist(k.clone()),
        Atom::DoesNotExist(k) => Atom::Exists(k.clone()),
        // not (x > n)  ⇔  x <= n  ⇔  x < n + 1 (saturating: i64::MAX has no successor).
        Atom::Gt(k, n) => {
            notes.push(missing_note(k));
            Atom::Lt(k.clone(), n.saturating_add(1))
        }
        Atom::Lt(k, n) => {
            notes.push(missing_note(k));
            Atom::Gt(k.clone(), n.saturating_sub(1))
        }
    }
}

fn to_requirement(atom: Atom) -> NodeSelectorRequirement {
    let (key, operator, values) = match atom {
        Atom::In(k, v) => (k, "In", Some(v)),
        Atom::NotIn(k, v) => (k, "NotIn", Some(v)),
        Atom::Exists(k) => (k, "Exists", None),
        Atom::DoesNotExist(k) => (k, "DoesNotExist", None),
        Atom::Gt(k, n) => (k, "Gt", Some(vec![n.to_string()])),
        Atom::Lt(k, n) => (k, "Lt", Some(vec![n.to_string()])),
    };
    NodeSelectorRequirement {
        key,
        operator: operator.to_string(),
        values,
    }
}

type Dnf = Vec<Vec<NodeSelectorRequirement>>;

fn too_complex(terms: usize) -> ExpressionError {
    ExpressionError::TooComplex {
        terms,
        limit: MAX_TERMS,
    }
}

/// Disjunctive normal form of `ast` (negated when `negated`), with
/// negations pushed down to the atoms.
fn to_dnf(ast: &Ast, negated: bool, notes: &mut Vec<String>) -> Result<Dnf, ExpressionError> {
    match ast {
        Ast::Atom(atom) => {
            let atom = if negated {
                negate(atom, notes)
            } else {
                atom.clone()
            };
            Ok(vec![vec![to_requirement(atom)]])
        }
        Ast::Not(inner) => to_dnf(inner, !negated, notes),
        // a and b  /  not (a or b) = not a and not b  → product
        Ast::And(a, b) | Ast::Or(a, b) if matches!(ast, Ast::And(..)) != negated => {
            let left = to_dnf(a, negated, notes)?;
            let right = to_dnf(b, negated, notes)?;
            let count = left.len().saturating_mul(right.len());
            if count > MAX_TERMS {
                return Err(too_complex(count));
            }
            let mut out = Vec::with_capacity(count);
            for l in &left {
                for r in &right {
                    let mut term = l.clone();
                    term.extend(r.iter().cloned());
                    out.push(term);
                }
            }
            Ok(out)
        }
        // a or b  /  not (a and b) = not a or not b  → union
        Ast::And(a, b) | Ast::Or(a, b) => {
            let mut out = to_dnf(a, negated, notes)?;
            out.extend(to_dnf(b, negated, notes)?);
            if out.len() > MAX_TERMS {
                return Err(too_complex(out.len()));
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: &str, values: &[&str]) -> NodeSelectorRequirement {
        NodeSelectorRequirement {
            key: key.to_string(),
            operator: op.to_string(),
            values: if op == "Exists" || op == "DoesNotExist" {
                None
            } else {
                Some(values.iter().map(|v| v.to_string()).collect())
            },
        }
    }

    fn ok(expr: &str) -> NodeConstraint {
        to_node_affinity(expr).unwrap_or_else(|e| panic!("{expr}: unexpected error: {e}"))
    }

    /// Terms as plain vectors of requirements.
    fn terms(expr: &str) -> Vec<Vec<NodeSelectorRequirement>> {
        ok(expr)
            .terms
            .into_iter()
            .map(|t| {
                assert_eq!(t.match_fields, None);
                t.match_expressions.unwrap()
            })
            .collect()
    }

    /// The single requirement of a single-term result.
    fn single(expr: &str) -> NodeSelectorRequirement {
        let mut t = terms(expr);
        assert_eq!(t.len(), 1, "{expr}: {t:?}");
        let mut r = t.remove(0);
        assert_eq!(r.len(), 1, "{expr}: {r:?}");
        r.remove(0)
    }

    fn err(expr: &str) -> ExpressionError {
        match to_node_affinity(expr) {
            Ok(c) => panic!("{expr}: expected an error, got {c:?}"),
            Err(e) => e,
        }
    }

    fn assert_msg_contains(e: &ExpressionError, needles: &[&str]) {
        let msg = e.to_string();
        for n in needles {
            assert!(msg.contains(n), "message {msg:?} lacks {n:?}");
        }
    }

    const IT: &str = "node.kubernetes.io/instance-type";
    const ZONE: &str = "topology.kubernetes.io/zone";
    const OS: &str = "kubernetes.io/os";
    const ARCH: &str = "kubernetes.io/arch";

    // ---- operators --------------------------------------------------------

    #[test]
    fn longer_than_ecs_allows_is_error() {
        // ECS: "The expression can have a maximum length of 2000 characters."
        let long = format!("attribute:ecs.instance-type == {}", "a".repeat(2000));
        assert_eq!(
            err(&long),
            ExpressionError::TooLong {
                length: 2031,
                limit: 2000
            }
        );
    }

    #[test]
    fn deep_nesting_is_error_not_a_stack_overflow() {
        let deep = format!("{}attribute:a == b{}", "(".repeat(900), ")".repeat(900));
        assert_eq!(err(&deep), ExpressionError::TooDeep { limit: 32 });
        let nots = format!("{}attribute:a == b", "not ".repeat(400));
        assert_eq!(err(&nots), ExpressionError::TooDeep { limit: 32 });
        let ok = format!("{}attribute:a == b{}", "(".repeat(20), ")".repeat(20));
        assert!(to_node_affinity(&ok).is_ok());
    }

    #[test]
    fn equals_is_in() {
        assert_eq!(
            single("attribute:ecs.instance-type == t2.small"),
            req(IT, "In", &["t2.small"])
        );
        assert_eq!(
            single("attribute:ecs.instance-type equals t2.small"),
            req(IT, "In", &["t2.small"])
        );
    }

    #[test]
    fn not_equals_is_not_in() {
        assert_eq!(
            single("attribute:ecs.os-type != windows"),
            req(OS, "NotIn", &["windows"])
        );
        assert_eq!(
            single("attribute:ecs.os-type NOT_EQUALS windows"),
            req(OS, "NotIn", &["windows"])
        );
    }

    #[test]
    fn in_list() {
        assert_eq!(
            single("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]"),
            req(ZONE, "In", &["us-east-1a", "us-east-1b"])
        );
        assert_eq!(
            single("attribute:ecs.availability-zone IN [us-east-1a]"),
            req(ZONE, "In", &["us-east-1a"])
        );
    }

    #[test]
    fn not_in_list() {
        assert_eq!(
            single("attribute:ecs.availability-zone not_in [us-east-1a,us-east-1b]"),
            req(ZONE, "NotIn", &["us-east-1a", "us-east-1b"])
        );
        assert_eq!(
            single("attribute:ecs.availability-zone !in [us-east-1a]"),
            req(ZONE, "NotIn", &["us-east-1a"])
        );
        assert_eq!(
            single("attribute:ecs.availability-zone Not_In [us-east-1a]"),
            req(ZONE, "NotIn", &["us-east-1a"])
        );
    }

    #[test]
    fn exists_and_not_exists() {
        assert_eq!(
            single("attribute:stack exists"),
            req("stack", "Exists", &[])
        );
        assert_eq!(
            single("attribute:stack EXISTS"),
            req("stack", "Exists", &[])
        );
        assert_eq!(
            single("attribute:stack !exists"),
            req("stack", "DoesNotExist", &[])
        );
        assert_eq!(
            single("attribute:stack not_exists"),
            req("stack", "DoesNotExist", &[])
        );
    }

    #[test]
    fn matches_literal_is_equality_with_note() {
        let c = ok("attribute:ecs.instance-type =~ m5large");
        assert_eq!(
            c.terms[0].match_expressions.as_ref().unwrap()[0],
            req(IT, "In", &["m5large"])
        );
        assert!(
            c.approximations.iter().any(|n| n.contains("exact value")),
            "{:?}",
            c.approximations
        );
        assert_eq!(
            single("attribute:stack matches prod"),
            req("stack", "In", &["prod"])
        );
        assert_eq!(
            single("attribute:stack !~ prod"),
            req("stack", "NotIn", &["prod"])
        );
        assert_eq!(
            single("attribute:stack not_matches prod"),
            req("stack", "NotIn", &["prod"])
        );
    }

    #[test]
    fn matches_regex_is_error() {
        let e = err("attribute:ecs.instance-type =~ g4dn.*");
        assert_eq!(e.label(), "unsupported_pattern");
        assert_msg_contains(&e, &["`g4dn.*`", "regular expression", "in [...]"]);
        assert_eq!(
            err("attribute:ecs.instance-type =~ t2.small").label(),
            "unsupported_pattern"
        );
        assert_eq!(
            err("attribute:stack !~ \"^prod$\"").label(),
            "unsupported_pattern"
        );
    }

    #[test]
    fn numeric_comparisons() {
        assert_eq!(single("attribute:gpus > 2"), req("gpus", "Gt", &["2"]));
        assert_eq!(
            single("attribute:gpus greater_than 2"),
            req("gpus", "Gt", &["2"])
        );
        assert_eq!(single("attribute:gpus >= 2"), req("gpus", "Gt", &["1"]));
        assert_eq!(
            single("attribute:gpus greater_than_equal 2"),
            req("gpus", "Gt", &["1"])
        );
        assert_eq!(single("attribute:gpus < 4"), req("gpus", "Lt", &["4"]));
        assert_eq!(
            single("attribute:gpus less_than 4"),
            req("gpus", "Lt", &["4"])
        );
        assert_eq!(single("attribute:gpus <= 4"), req("gpus", "Lt", &["5"]));
        assert_eq!(
            single("attribute:gpus less_than_equal 4"),
            req("gpus", "Lt", &["5"])
        );
    }

    #[test]
    fn numeric_comparison_needs_integer() {
        let e = err("attribute:gpus > many");
        assert_eq!(e.label(), "non_integer_comparison");
        assert_msg_contains(&e, &["`>`", "`many`", "whole-number"]);
        assert_eq!(
            err("attribute:gpus <= 1.5").label(),
            "non_integer_comparison"
        );
    }

    #[test]
    fn numeric_comparison_overflow_is_error() {
        let e = err("attribute:gpus <= 9223372036854775807");
        assert_eq!(e.label(), "invalid_value");
        assert_msg_contains(&e, &["out of range"]);
    }

    #[test]
    fn operators_without_spaces() {
        assert_eq!(
            single("attribute:stack==prod"),
            req("stack", "In", &["prod"])
        );
        assert_eq!(
            single("attribute:stack!=prod"),
            req("stack", "NotIn", &["prod"])
        );
    }

    // ---- attribute mapping ------------------------------------------------

    #[test]
    fn os_type_values_lowercased() {
        assert_eq!(
            single("attribute:ecs.os-type == LINUX"),
            req(OS, "In", &["linux"])
        );
        assert_eq!(
            single("attribute:ecs.os-type in [Linux, WINDOWS]"),
            req(OS, "In", &["linux", "windows"])
        );
    }

    #[test]
    fn cpu_architecture_mapping() {
        assert_eq!(
            single("attribute:ecs.cpu-architecture == x86_64"),
            req(ARCH, "In", &["amd64"])
        );
        assert_eq!(
            single("attribute:ecs.cpu-architecture == arm64"),
            req(ARCH, "In", &["arm64"])
        );
        assert_eq!(
            single("attribute:ecs.cpu-architecture in [x86_64, arm64]"),
            req(ARCH, "In", &["amd64", "arm64"])
        );
    }

    #[test]
    fn os_family_linux() {
        let c = ok("attribute:ecs.os-family == LINUX");
        assert_eq!(
            c.terms[0].match_expressions.as_ref().unwrap()[0],
            req(OS, "In", &["linux"])
        );
        assert!(c.approximations.is_empty());
    }

    #[test]
    fn os_family_windows_is_approximated() {
        let c =
            ok("attribute:ecs.os-family in [WINDOWS_SERVER_2019_FULL, WINDOWS_SERVER_2022_CORE]");
        assert_eq!(
            c.terms[0].match_expressions.as_ref().unwrap()[0],
            req(OS, "In", &["windows"])
        );
        assert!(
            c.approximations.iter().any(|n| n.contains("version")),
            "{:?}",
            c.approximations
        );
    }

    #[test]
    fn os_family_unknown_value_is_error() {
        let e = err("attribute:ecs.os-family == MACOS");
        assert_eq!(e.label(), "invalid_value");
        assert_msg_contains(&e, &["`MACOS`", "OS family"]);
    }

    #[test]
    fn instance_type_and_zone_values_verbatim() {
        assert_eq!(
            single("attribute:ecs.instance-type == m5.xlarge"),
            req(IT, "In", &["m5.xlarge"])
        );
        assert_eq!(
            single("attribute:ecs.availability-zone == eu-west-1c"),
            req(ZONE, "In", &["eu-west-1c"])
        );
    }

    #[test]
    fn unmappable_attributes_are_errors() {
        for attr in ["ecs.ami-id", "ecs.vpc-id", "ecs.subnet-id"] {
            let e = err(&format!("attribute:{attr} == x-123"));
            assert_eq!(e.label(), "unmappable_attribute", "{attr}");
            assert_msg_contains(
                &e,
                &[
                    attr,
                    "no Kubernetes node label",
                    "label the nodes",
                    "custom attribute",
                ],
            );
        }
    }

    #[test]
    fn custom_attribute_passes_through() {
        assert_eq!(
            single("attribute:stack == prod"),
            req("stack", "In", &["prod"])
        );
        assert_eq!(
            single("attribute:example.com/team in [a, b]"),
            req("example.com/team", "In", &["a", "b"])
        );
        assert_eq!(
            single("attribute:ecs.capability.foo exists"),
            req("ecs.capability.foo", "Exists", &[])
        );
    }

    #[test]
    fn invalid_custom_label_key_is_error() {
        let e = err("attribute:My_Prefix/team == a");
        assert_eq!(e.label(), "invalid_label_key");
        assert_msg_contains(&e, &["My_Prefix/team", "prefix"]);
        let e = err("attribute:-team == a");
        assert_msg_contains(&e, &["start and end"]);
    }

    #[test]
    fn invalid_label_value_is_error() {
        let e = err("attribute:stack == \"has space\"");
        assert_eq!(e.label(), "invalid_value");
        assert_msg_contains(&e, &["`has space`", "label value"]);
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            single("attribute:stack == \"prod\""),
            req("stack", "In", &["prod"])
        );
        assert_eq!(
            single("attribute:stack == 'prod'"),
            req("stack", "In", &["prod"])
        );
        assert_eq!(
            single("attribute:stack in [\"a\", 'b', c]"),
            req("stack", "In", &["a", "b", "c"])
        );
        // Keywords can be values, quoted or not.
        assert_eq!(
            single("attribute:stack == \"and\""),
            req("stack", "In", &["and"])
        );
        assert_eq!(
            single("attribute:mode == exists"),
            req("mode", "In", &["exists"])
        );
        assert_eq!(single("attribute:stack == \"\""), req("stack", "In", &[""]));
    }

    #[test]
    fn duplicate_values_are_collapsed() {
        assert_eq!(
            single("attribute:ecs.cpu-architecture in [x86_64, amd64]"),
            req(ARCH, "In", &["amd64"])
        );
    }

    // ---- boolean structure and DNF ------------------------------------------

    #[test]
    fn and_gives_one_term() {
        assert_eq!(
            terms(
                "attribute:ecs.cpu-architecture == arm64 and attribute:ecs.instance-type == c6g.large"
            ),
            vec![vec![
                req(ARCH, "In", &["arm64"]),
                req(IT, "In", &["c6g.large"])
            ]]
        );
        assert_eq!(
            terms("attribute:a == 1 && attribute:b == 2 AND attribute:c exists"),
            vec![vec![
                req("a", "In", &["1"]),
                req("b", "In", &["2"]),
                req("c", "Exists", &[])
            ]]
        );
    }

    #[test]
    fn or_gives_terms() {
        assert_eq!(
            terms("attribute:a == 1 or attribute:b == 2 || attribute:c == 3"),
            vec![
                vec![req("a", "In", &["1"])],
                vec![req("b", "In", &["2"])],
                vec![req("c", "In", &["3"])]
            ]
        );
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            terms("attribute:a == 1 or attribute:b == 2 and attribute:c == 3"),
            vec![
                vec![req("a", "In", &["1"])],
                vec![req("b", "In", &["2"]), req("c", "In", &["3"])]
            ]
        );
    }

    #[test]
    fn and_distributes_over_parenthesized_or() {
        assert_eq!(
            terms("attribute:a == 1 and (attribute:b == 2 or attribute:c == 3)"),
            vec![
                vec![req("a", "In", &["1"]), req("b", "In", &["2"])],
                vec![req("a", "In", &["1"]), req("c", "In", &["3"])]
            ]
        );
    }

    #[test]
    fn product_of_two_ors() {
        let t = terms(
            "(attribute:a == 1 or attribute:b == 2) and (attribute:c == 3 or attribute:d == 4)",
        );
        assert_eq!(
            t,
            vec![
                vec![req("a", "In", &["1"]), req("c", "In", &["3"])],
                vec![req("a", "In", &["1"]), req("d", "In", &["4"])],
                vec![req("b", "In", &["2"]), req("c", "In", &["3"])],
                vec![req("b", "In", &["2"]), req("d", "In", &["4"])]
            ]
        );
    }

    #[test]
    fn nested_parentheses() {
        assert_eq!(
            terms("((attribute:a == 1))"),
            vec![vec![req("a", "In", &["1"])]]
        );
    }

    #[test]
    fn duplicate_terms_and_requirements_collapse() {
        assert_eq!(
            terms("attribute:a == 1 and attribute:a == 1"),
            vec![vec![req("a", "In", &["1"])]]
        );
        assert_eq!(
            terms("attribute:a == 1 or attribute:a == 1"),
            vec![vec![req("a", "In", &["1"])]]
        );
    }

    // ---- negation ---------------------------------------------------------

    #[test]
    fn not_comparison() {
        assert_eq!(single("not attribute:a == b"), req("a", "NotIn", &["b"]));
        assert_eq!(single("NOT attribute:a != b"), req("a", "In", &["b"]));
        assert_eq!(
            single("! attribute:a in [b, c]"),
            req("a", "NotIn", &["b", "c"])
        );
        assert_eq!(single("not attribute:a not_in [b]"), req("a", "In", &["b"]));
    }

    #[test]
    fn not_exists_becomes_does_not_exist() {
        assert_eq!(
            single("not attribute:stack exists"),
            req("stack", "DoesNotExist", &[])
        );
        assert_eq!(
            single("not (attribute:stack !exists)"),
            req("stack", "Exists", &[])
        );
    }

    #[test]
    fn double_negation() {
        assert_eq!(single("not not attribute:a == b"), req("a", "In", &["b"]));
    }

    #[test]
    fn de_morgan_not_and() {
        assert_eq!(
            terms("not (attribute:a == 1 and attribute:b == 2)"),
            vec![
                vec![req("a", "NotIn", &["1"])],
                vec![req("b", "NotIn", &["2"])]
            ]
        );
    }

    #[test]
    fn de_morgan_not_or() {
        assert_eq!(
            terms("not (attribute:a == 1 or attribute:b exists)"),
            vec![vec![
                req("a", "NotIn", &["1"]),
                req("b", "DoesNotExist", &[])
            ]]
        );
    }

    #[test]
    fn not_binds_tighter_than_and() {
        assert_eq!(
            terms("not attribute:a == 1 and attribute:b == 2"),
            vec![vec![req("a", "NotIn", &["1"]), req("b", "In", &["2"])]]
        );
    }

    #[test]
    fn negated_numeric_comparisons() {
        let c = ok("not attribute:gpus > 2");
        assert_eq!(
            c.terms[0].match_expressions.as_ref().unwrap()[0],
            req("gpus", "Lt", &["3"])
        );
        assert!(
            c.approximations
                .iter()
                .any(|n| n.contains("lack the label"))
        );
        assert_eq!(single("not attribute:gpus < 2"), req("gpus", "Gt", &["1"]));
    }

    #[test]
    fn negated_matches_literal() {
        assert_eq!(
            single("not attribute:stack =~ prod"),
            req("stack", "NotIn", &["prod"])
        );
    }

    // ---- subjects ---------------------------------------------------------

    #[test]
    fn task_group_is_error() {
        let e = err("task:group == database");
        assert_eq!(e.label(), "task_group");
        assert_msg_contains(&e, &["task:group", "not a node property", "podAffinity"]);
        assert_eq!(
            err("attribute:a == 1 and not task:group == db").label(),
            "task_group"
        );
    }

    #[test]
    fn ec2_instance_id_is_error() {
        let e = err("ec2InstanceId in [i-0123, i-4567]");
        assert_eq!(e.label(), "instance_id");
        assert_msg_contains(
            &e,
            &[
                "ec2InstanceId",
                "instance ids",
                "do not exist on Kubernetes nodes",
            ],
        );
    }

    #[test]
    fn agent_subjects_are_errors() {
        for s in [
            "agentConnected == true",
            "agentVersion > 1",
            "runningTasksCount == 0",
            "registeredAt < 2018-06-18",
        ] {
            assert_eq!(err(s).label(), "unsupported_subject", "{s}");
        }
        assert_msg_contains(
            &err("agentConnected == false"),
            &["`agentConnected`", "container-agent"],
        );
    }

    #[test]
    fn unknown_subject_is_error() {
        let e = err("instance-type == t2.small");
        assert_eq!(e.label(), "unknown_subject");
        assert_msg_contains(&e, &["`instance-type`", "attribute:<name>"]);
        assert_eq!(err("attribute: == x").label(), "unknown_subject");
    }

    #[test]
    fn attribute_prefix_case_insensitive() {
        assert_eq!(single("ATTRIBUTE:stack == a"), req("stack", "In", &["a"]));
    }

    // ---- syntax errors ----------------------------------------------------

    #[test]
    fn empty_is_error() {
        assert_eq!(err("").label(), "empty");
        assert_eq!(err("   \t ").label(), "empty");
        assert_msg_contains(&err(""), &["empty"]);
    }

    #[test]
    fn missing_operator() {
        let e = err("attribute:stack");
        assert_eq!(e.label(), "unexpected_end");
        assert_msg_contains(&e, &["ends too early", "operator"]);
        let e = err("attribute:stack is prod");
        assert_eq!(e.label(), "unexpected_token");
        assert_msg_contains(&e, &["`is`", "position 16", "operator"]);
    }

    #[test]
    fn missing_value() {
        let e = err("attribute:stack ==");
        assert_eq!(e.label(), "unexpected_end");
        assert_msg_contains(&e, &["a value"]);
        let e = err("attribute:stack == )");
        assert_msg_contains(&e, &["`)`", "a value"]);
    }

    #[test]
    fn in_needs_bracketed_list() {
        let e = err("attribute:stack in a");
        assert_eq!(e.label(), "unexpected_token");
        assert_msg_contains(&e, &["`a`", "value list"]);
        let e = err("attribute:stack in [a b]");
        assert_msg_contains(&e, &["`b`", "`,` or `]`"]);
        assert_eq!(err("attribute:stack in [a,").label(), "unexpected_end");
    }

    #[test]
    fn empty_list_is_error() {
        let e = err("attribute:stack in []");
        assert_eq!(e.label(), "empty_value_list");
        assert_msg_contains(&e, &["stack", "`in`", "non-empty"]);
    }

    #[test]
    fn unbalanced_parentheses() {
        let e = err("(attribute:a == 1");
        assert_eq!(e.label(), "unexpected_end");
        assert_msg_contains(&e, &["`)`"]);
        let e = err("attribute:a == 1)");
        assert_eq!(e.label(), "unexpected_token");
        assert_msg_contains(&e, &["`)`", "end of the expression"]);
    }

    #[test]
    fn dangling_boolean_operators() {
        assert_eq!(err("attribute:a == 1 and").label(), "unexpected_end");
        assert_eq!(err("and attribute:a == 1").label(), "unexpected_token");
        assert_eq!(
            err("attribute:a == 1 or or attribute:b == 2").label(),
            "unexpected_token"
        );
        assert_eq!(err("not").label(), "unexpected_end");
        let e = err("attribute:a == 1 attribute:b == 2");
        assert_msg_contains(&e, &["`attribute:b`", "`and`, `or`"]);
    }

    #[test]
    fn bad_bang_operator() {
        let e = err("attribute:a ! equals b");
        assert_eq!(e.label(), "unexpected_token");
        assert_msg_contains(&e, &["`equals`", "after `!`"]);
    }

    #[test]
    fn unterminated_quote() {
        let e = err("attribute:a == \"prod");
        assert_eq!(e.label(), "unterminated_quote");
        assert_msg_contains(&e, &["unterminated", "position 15"]);
    }

    #[test]
    fn unexpected_character() {
        let e = err("attribute:a = b");
        assert_eq!(e.label(), "unexpected_character");
        assert_msg_contains(&e, &["`=`", "position 12"]);
        assert_eq!(
            err("attribute:a == 1 & attribute:b == 2").label(),
            "unexpected_character"
        );
    }

    #[test]
    fn too_complex_is_error() {
        // Seven binary ORs multiplied together: 2^7 = 128 terms.
        let clause = |i: usize| format!("(attribute:a{i} == 1 or attribute:b{i} == 1)");
        let expr: Vec<String> = (0..7).map(clause).collect();
        let e = err(&expr.join(" and "));
        assert_eq!(e.label(), "too_complex");
        assert_msg_contains(&e, &["64"]);
        // Six is fine: 64 terms.
        let expr: Vec<String> = (0..6).map(clause).collect();
        assert_eq!(ok(&expr.join(" and ")).terms.len(), 64);
    }

    #[test]
    fn labels_are_snake_case_and_distinct() {
        let errors = [
            err(""),
            err("attribute:a == \"x"),
            err("attribute:a = b"),
            err("attribute:a is b"),
            err("attribute:a =="),
            err("foo == bar"),
            err("task:group == x"),
            err("ec2InstanceId == i-1"),
            err("agentConnected == true"),
            err("attribute:ecs.ami-id == ami-1"),
            err("attribute:a =~ x.*"),
            err("attribute:a > x"),
            err("attribute:a in []"),
            err("attribute:ecs.os-family == BEOS"),
            err("attribute:_a == b"),
            err(&(0..7)
                .map(|i| format!("(attribute:a{i} == 1 or attribute:b{i} == 1)"))
                .collect::<Vec<_>>()
                .join(" and ")),
        ];
        let mut labels: Vec<&str> = errors.iter().map(|e| e.label()).collect();
        for l in &labels {
            assert!(
                l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{l}"
            );
        }
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), errors.len());
    }
}
