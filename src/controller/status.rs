//! Writing status: server-side apply on the status subresource, only when it changed, and the
//! Event that reports new translation warnings.

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde_json::json;

use crate::api::common::TranslationWarning;
use crate::translate::Warning;

use super::apply::FIELD_MANAGER;
use super::context::Context;
use super::error::Error;

/// Apply `status` to `obj`'s status subresource when it differs from `old`.
pub async fn write<K, S>(ctx: &Context, obj: &K, old: Option<&S>, status: &S) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if old == Some(status) {
        return Ok(false);
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    ctx.metrics.api_call("patch_status");
    let updated = api
        .patch_status(
            &obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&body),
        )
        .await?;
    ctx.remember_status(
        obj.meta().uid.as_deref().unwrap_or_default(),
        updated.meta().resource_version.as_deref(),
        serde_json::to_value(status)?,
    );
    Ok(true)
}

/// Warnings as status entries, sorted and without duplicates.
pub fn warnings(ws: &[Warning]) -> Vec<TranslationWarning> {
    let mut out: Vec<_> = ws.iter().map(Warning::to_status).collect();
    out.sort();
    out.dedup();
    out
}

/// The Event note for warnings that are new compared with `old`, if any.
pub fn new_warnings_note(old: &[TranslationWarning], new: &[TranslationWarning]) -> Option<String> {
    let fresh: Vec<_> = new.iter().filter(|w| !old.contains(w)).collect();
    if fresh.is_empty() {
        return None;
    }
    let mut note = format!(
        "{} field(s) could not be carried over exactly:",
        fresh.len()
    );
    for w in fresh.iter().take(8) {
        note.push_str(&format!(" {} ({}): {};", w.path, w.disposition, w.message));
    }
    if fresh.len() > 8 {
        note.push_str(" ... see status.warnings");
    }
    Some(note)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(path: &str) -> TranslationWarning {
        TranslationWarning {
            path: path.into(),
            disposition: "unsupported".into(),
            message: "m".into(),
        }
    }

    #[test]
    fn only_new_warnings_make_a_note() {
        assert_eq!(new_warnings_note(&[w("a")], &[w("a")]), None);
        let note = new_warnings_note(&[w("a")], &[w("a"), w("b")]).unwrap();
        assert!(note.starts_with("1 field(s)"), "{note}");
        assert!(note.contains("b (unsupported)"), "{note}");
    }
}
