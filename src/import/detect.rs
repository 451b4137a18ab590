//! Which importer reads a file: by extension for Terraform, by content otherwise.

use super::ImportError;
use std::path::Path;

/// The format of an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// AWS CLI JSON (request bodies, describe/create/update output) or Tidewater manifests.
    AwsCli,
    /// A CloudFormation template, YAML or JSON.
    CloudFormation,
    /// Terraform configuration (`.tf`).
    Terraform,
    /// Terraform variable values (`.tfvars`).
    TerraformVars,
    /// Not something the import reads, with why.
    Unknown(String),
}

impl Format {
    /// A short name for reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::AwsCli => "aws-cli",
            Format::CloudFormation => "cloudformation",
            Format::Terraform => "terraform",
            Format::TerraformVars => "terraform-vars",
            Format::Unknown(_) => "unknown",
        }
    }

    /// The error for an unknown format.
    pub fn into_error(self, file: &str) -> ImportError {
        let message = match self {
            Format::Unknown(m) => m,
            other => format!("read as {}", other.as_str()),
        };
        ImportError::UnknownShape {
            file: file.into(),
            path: ".".into(),
            message,
        }
    }
}

/// Whether a file in a directory is one the import reads (by extension).
pub fn importable_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    [".json", ".yaml", ".yml", ".template", ".tf", ".tfvars"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// Whether a parsed document is a CloudFormation template.
pub fn is_template(doc: &serde_yaml_ng::Value) -> bool {
    let Some(map) = doc.as_mapping() else {
        return false;
    };
    if map.contains_key("AWSTemplateFormatVersion") {
        return true;
    }
    map.get("Resources")
        .and_then(|r| r.as_mapping())
        .is_some_and(|r| {
            r.values().any(|res| {
                res.get("Type")
                    .and_then(|t| t.as_str())
                    .is_some_and(|t| t.contains("::"))
            })
        })
}

/// Standard input has no file name: Terraform is recognised by a top-level block.
fn looks_like_terraform(text: &str) -> bool {
    text.lines().map(str::trim).any(|l| {
        [
            "resource ",
            "variable ",
            "locals ",
            "locals{",
            "module ",
            "data ",
            "terraform ",
        ]
        .iter()
        .any(|b| l.starts_with(b))
            && l.ends_with('{')
    })
}

/// Detect the format of a file from its name and text.
pub fn detect(file: &str, text: &str) -> Format {
    if file.ends_with(".tf") {
        return Format::Terraform;
    }
    if file.ends_with(".tfvars") {
        return Format::TerraformVars;
    }
    if file == super::STDIN && looks_like_terraform(text) {
        return Format::Terraform;
    }
    if file.ends_with(".tf.json") {
        return Format::Unknown(
            "Terraform JSON syntax (.tf.json) is not supported; use .tf files".into(),
        );
    }
    match serde_yaml_ng::Deserializer::from_str(text).next() {
        Some(de) => {
            use serde::Deserialize;
            match serde_yaml_ng::Value::deserialize(de) {
                Ok(doc) if is_template(&doc) => Format::CloudFormation,
                Ok(_) => Format::AwsCli,
                // Unparsable: let the likely importer report the syntax error with its location.
                Err(_) if text.contains("AWSTemplateFormatVersion") => Format::CloudFormation,
                Err(_) if text.contains("Resources") && text.contains("AWS::") => {
                    Format::CloudFormation
                }
                Err(_) => Format::AwsCli,
            }
        }
        None => Format::AwsCli,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(detect("main.tf", "resource {"), Format::Terraform);
        assert_eq!(
            detect(
                "t.yaml",
                "Resources:\n  Td:\n    Type: AWS::ECS::TaskDefinition\n    Properties:\n      Family: !Ref X\n"
            ),
            Format::CloudFormation
        );
        assert_eq!(
            detect("t.json", r#"{"AWSTemplateFormatVersion": "2010-09-09"}"#),
            Format::CloudFormation
        );
        assert_eq!(
            detect("td.json", r#"{"family": "x", "containerDefinitions": []}"#),
            Format::AwsCli
        );
        assert_eq!(detect("bad.json", "{"), Format::AwsCli);
    }
}
