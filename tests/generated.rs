//! Committed artefacts are in sync with the code: CRDs under `crds/` (and their copy in the
//! Helm chart) and
//! `docs/field-coverage.md`. Run `make generate` (TIDEWATER_UPDATE=1) to refresh them.

use std::path::Path;
use tidewater::translate::fields::{Disposition, FIELDS, Request, lookup};

fn check(path: &str, expected: &str) {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if std::env::var_os("TIDEWATER_UPDATE").is_some() {
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, expected).unwrap();
        return;
    }
    let actual = std::fs::read_to_string(&full).unwrap_or_default();
    assert!(
        actual == expected,
        "{path} is out of date: run `make generate` and commit the result"
    );
}

#[test]
fn crds_are_committed_and_current() {
    for crd in tidewater::api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        let yaml = serde_yaml_ng::to_string(&crd).unwrap();
        check(&format!("crds/{name}.yaml"), &yaml);
        // The Helm chart ships the same CRDs.
        check(&format!("charts/tidewater/crds/{name}.yaml"), &yaml);
    }
}

/// The committed inventory: (request, path, type) of every leaf input field.
fn inventory() -> Vec<(Request, String, String)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("api/field-inventory.tsv"),
    )
    .unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            (
                Request::parse(cols[0]).unwrap_or_else(|| panic!("unknown request {}", cols[0])),
                cols[1].to_string(),
                cols[2].to_string(),
            )
        })
        .collect()
}

#[test]
fn every_model_field_has_a_disposition() {
    let inv = inventory();
    assert!(inv.len() > 400, "inventory has {} rows", inv.len());
    let missing: Vec<String> = inv
        .iter()
        .filter(|(r, p, _)| lookup(*r, p).is_none())
        .map(|(r, p, _)| format!("{}.{p}", r.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "fields without a disposition in src/translate/fields.rs:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_table_row_names_a_model_field() {
    let inv = inventory();
    for f in FIELDS {
        let prefix = f.path.trim_end_matches("[]").trim_end_matches("{}");
        let known = inv.iter().any(|(r, p, _)| {
            *r == f.request
                && (p == f.path
                    || p.strip_prefix(prefix)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[', '{'])))
        });
        assert!(
            known,
            "table row {}.{} names no field of the model",
            f.request.as_str(),
            f.path
        );
    }
}

#[test]
fn field_coverage_doc_is_current() {
    let inv = inventory();
    let mut doc = String::from(
        "# Field coverage\n\n\
         Generated from `src/translate/fields.rs` and `api/field-inventory.tsv` by `make generate`; a test\n\
         fails when it is out of date. Every leaf input field of the ECS and Application Auto Scaling\n\
         requests Tidewater accepts, with what Tidewater does with it:\n\n\
         - **mapped**: carried over exactly;\n\
         - **approximated**: carried over with a change in meaning, reported as a warning naming the\n  field (by `render`, `import`, resource status and Events);\n\
         - **unsupported**: not carried over, reported with the reason.\n\n",
    );
    let mut totals = std::collections::BTreeMap::new();
    for r in Request::ALL {
        let rows: Vec<_> = inv.iter().filter(|(q, _, _)| *q == r).collect();
        doc.push_str(&format!(
            "## {}\n\n| field | type | disposition | what happens |\n|---|---|---|---|\n",
            r.as_str()
        ));
        for (_, p, t) in rows {
            let f = lookup(r, p).unwrap();
            *totals.entry(f.disposition).or_insert(0) += 1;
            doc.push_str(&format!(
                "| `{p}` | {t} | {} | {} |\n",
                f.disposition.as_str(),
                f.note.replace('|', "\\|")
            ));
        }
        doc.push('\n');
    }
    doc.push_str(&format!(
        "Totals: {} mapped, {} approximated, {} unsupported.\n",
        totals.get(&Disposition::Mapped).unwrap_or(&0),
        totals.get(&Disposition::Approximated).unwrap_or(&0),
        totals.get(&Disposition::Unsupported).unwrap_or(&0)
    ));
    check("docs/field-coverage.md", &doc);
}
