//! The module graph points one way: `api` ← `translate` ← (`render`, `import`, `controller`),
//! with `yaml` (the manifest writer) a leaf the edges may use. No module imports one above it or
//! beside it: `render` shows exactly what the operator does because both call the same plan in
//! `translate`, not each other. Every `crate::X` path in src/ (in `use`, in code, in doc links)
//! and every `super::` that climbs out of a top-level module is an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each top-level module may name.
fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    BTreeMap::from([
        ("api", BTreeSet::from([])),
        ("yaml", BTreeSet::from([])),
        ("translate", BTreeSet::from(["api"])),
        ("render", BTreeSet::from(["api", "translate", "yaml"])),
        ("import", BTreeSet::from(["api", "translate", "yaml"])),
        ("controller", BTreeSet::from(["api", "translate"])),
    ])
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module path of a file under src/ (`translate/plan/mod.rs` → `[translate, plan]`).
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|c| c.to_string_lossy().to_string())
        .collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules `text` (of the module at `path`) names.
fn edges(text: &str, path: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|s| ident_at(s.trim())));
        } else {
            out.insert(ident_at(rest));
        }
    }
    // `super::super::X` climbing to the crate root.
    for (i, _) in text.match_indices("super::") {
        if text[..i].ends_with("super::") {
            continue; // counted from the first `super::` of a chain
        }
        let mut rest = &text[i..];
        let mut levels = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            levels += 1;
            rest = r;
        }
        if levels >= path.len() {
            out.insert(ident_at(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

#[test]
fn modules_import_only_those_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let allowed = allowed();
    let mut forbidden = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let path = module_path(relative);
        let Some(rules) = allowed.get(path[0].as_str()) else {
            continue; // lib.rs, main.rs: the crate root names everything
        };
        let text = std::fs::read_to_string(file).unwrap();
        for target in edges(&text, &path) {
            if target != path[0]
                && allowed.contains_key(target.as_str())
                && !rules.contains(target.as_str())
            {
                forbidden.push(format!("{} → {target}", relative.display()));
            }
        }
    }
    assert!(
        forbidden.is_empty(),
        "forbidden module edges:\n{}",
        forbidden.join("\n")
    );
}

#[test]
fn edges_are_found_in_every_form() {
    let path = vec!["render".to_string()];
    let text = "use crate::import::yaml;\nuse crate::{controller, translate::plan};\nlet x = crate::api::GROUP;\nuse super::import;";
    let found = edges(text, &path);
    assert_eq!(
        found,
        BTreeSet::from(["import", "controller", "translate", "api"].map(String::from))
    );
    let nested = vec!["translate".to_string(), "plan".to_string()];
    assert_eq!(
        edges("use super::super::render;\nuse super::set;", &nested),
        BTreeSet::from(["render".to_string()])
    );
}
