//! Objects as the caches keep them: the metadata decoded (names, owners, labels: what the
//! indexes, owner lookups and event filters read), everything else as JSON text compressed with
//! LZ4, decoded when a reconcile reads it (decompressing costs a fraction of parsing).
//!
//! Kubernetes' generated types are large even when nearly empty (a `PodSpec` is 1.4 KB inline, a
//! `Container` 2.1 KB): a cached Deployment took about 9 KB, its JSON about 2.5 KB. With
//! thousands of Services, that difference is most of the operator's memory (issue 12).

use std::any::TypeId;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{OnceLock, RwLock};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// What is dropped from an object before it is cached (see [`super::watch::trim`]), and which
/// metadata maps stay decoded.
pub trait Trim: Sized {
    /// Whether the labels stay decoded (read from the cache directly: index keys, counts).
    const LABELS_DECODED: bool = false;
    /// Whether the annotations stay decoded (read from the cache directly).
    const ANNOTATIONS_DECODED: bool = false;

    /// Drop what no reconcile reads.
    fn trim(&mut self);

    /// An object of this kind with nothing set: what a cached object whose text does not read
    /// back gives (never seen: the text was written from an object of this kind).
    fn empty() -> Self;
}

/// The metadata kept decoded: what the caches, indexes and owner lookups read (names, owners,
/// versions, deletion), and the labels and annotations when `K` says so. The rest of the
/// metadata (a label map costs half a kilobyte even with one label) goes with the text.
fn decoded<K: Trim>(meta: &mut ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: meta.name.take(),
        namespace: meta.namespace.take(),
        uid: meta.uid.take(),
        resource_version: meta.resource_version.take(),
        generation: meta.generation.take(),
        deletion_timestamp: meta.deletion_timestamp.take(),
        owner_references: meta.owner_references.take(),
        labels: if K::LABELS_DECODED {
            meta.labels.take()
        } else {
            None
        },
        annotations: if K::ANNOTATIONS_DECODED {
            meta.annotations.take()
        } else {
            None
        },
        ..ObjectMeta::default()
    }
}

/// Put the decoded metadata back into the metadata read from the text.
fn restore(meta: &mut ObjectMeta, decoded: &ObjectMeta) {
    let d = decoded.clone();
    meta.name = d.name;
    meta.namespace = d.namespace;
    meta.uid = d.uid;
    meta.resource_version = d.resource_version;
    meta.generation = d.generation;
    meta.deletion_timestamp = d.deletion_timestamp;
    meta.owner_references = d.owner_references;
    if d.labels.is_some() {
        meta.labels = d.labels;
    }
    if d.annotations.is_some() {
        meta.annotations = d.annotations;
    }
}

/// The longest dictionary LZ4 uses (its window).
const DICTIONARY_MAX: usize = 64 * 1024;

/// The compression dictionary of kind `K`: the text of the first object of the kind compacted
/// (`text`, when there is none yet). Objects of one kind share most of their text (member names,
/// structure, many values), so that each compressed against another of its kind takes a
/// fraction of what it takes alone. One per kind for the life of the process (a few kilobytes).
fn dictionary<K: 'static>(text: &[u8]) -> &'static [u8] {
    static DICTIONARIES: OnceLock<RwLock<HashMap<TypeId, &'static [u8]>>> = OnceLock::new();
    let dictionaries = DICTIONARIES.get_or_init(Default::default);
    let kind = TypeId::of::<K>();
    if let Some(d) = dictionaries
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(&kind)
    {
        return d;
    }
    let mut all = dictionaries.write().unwrap_or_else(|e| e.into_inner());
    all.entry(kind).or_insert_with(|| {
        let start = text.len().saturating_sub(DICTIONARY_MAX);
        Box::leak(text[start..].to_vec().into_boxed_slice())
    })
}

/// A cached object of kind `K`: decoded metadata, the rest as JSON (see the module docs).
pub struct Compact<K> {
    /// The object's metadata as far as it stays decoded (see [`Trim`]): names, owners,
    /// versions, deletion; labels and annotations only for the kinds that keep them decoded.
    pub metadata: ObjectMeta,
    /// Everything but the metadata: JSON, LZ4-compressed against `dictionary`.
    rest: Box<[u8]>,
    /// The dictionary of `K` (see [`dictionary`]).
    dictionary: &'static [u8],
    kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Compact<K> {
    fn clone(&self) -> Self {
        Compact {
            metadata: self.metadata.clone(),
            rest: self.rest.clone(),
            dictionary: self.dictionary,
            kind: PhantomData,
        }
    }
}

impl<K> fmt::Debug for Compact<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compact")
            .field("metadata", &self.metadata)
            .field("rest", &format_args!("{} bytes", self.rest.len()))
            .field(
                "dictionary",
                &format_args!("{} bytes", self.dictionary.len()),
            )
            .finish()
    }
}

impl<K> Compact<K>
where
    K: Resource + Serialize + DeserializeOwned + Trim + 'static,
{
    /// Trim `obj` and keep it compact.
    pub fn new(mut obj: K) -> Self {
        obj.trim();
        let metadata = decoded::<K>(obj.meta_mut());
        // A value of a type that deserialised serialises (maps with string keys only).
        let text = serde_json::to_vec(&obj).unwrap_or_default();
        let dictionary = dictionary::<K>(&text);
        let rest =
            lz4_flex::block::compress_prepend_size_with_dict(&text, dictionary).into_boxed_slice();
        Compact {
            metadata,
            rest,
            dictionary,
            kind: PhantomData,
        }
    }

    /// The whole (trimmed) object.
    pub fn object(&self) -> K {
        // Text this type wrote from a `K` reads back as one.
        let mut obj: K = self.read().unwrap_or_else(K::empty);
        restore(obj.meta_mut(), &self.metadata);
        obj
    }

    /// A part of the object (a type with only the members wanted): cheaper than [`Self::object`]
    /// when a hot path reads one field. `None` if the text does not read as a `T`.
    pub fn read<T: DeserializeOwned>(&self) -> Option<T> {
        let text =
            lz4_flex::block::decompress_size_prepended_with_dict(&self.rest, self.dictionary)
                .ok()?;
        serde_json::from_slice(&text).ok()
    }
}

impl<'de, K> Deserialize<'de> for Compact<K>
where
    K: Resource + Serialize + DeserializeOwned + Trim + 'static,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        K::deserialize(d).map(Compact::new)
    }
}

impl<K> Serialize for Compact<K>
where
    K: Resource + Serialize + DeserializeOwned + Trim + 'static,
{
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.object().serialize(s)
    }
}

impl<K: Resource> Resource for Compact<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn api_version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::api_version(dt)
    }
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use serde_json::json;

    #[test]
    fn an_object_reads_back_whole_but_trimmed() {
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "b"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "x": "y"},
                "managedFields": [{"manager": "m", "operation": "Apply"}]},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
            "status": {"replicas": 2, "availableReplicas": 1}
        }))
        .unwrap();
        let c: Compact<Deployment> =
            serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
        assert_eq!(c.meta().name.as_deref(), Some("web"));
        let mut want = d.clone();
        want.metadata.managed_fields = None;
        want.metadata.annotations = Some([("x".to_string(), "y".to_string())].into());
        assert_eq!(c.object(), want);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::to_value(&want).unwrap()
        );
    }

    #[test]
    fn an_object_compresses_against_the_first_of_its_kind() {
        use k8s_openapi::api::core::v1::ServiceAccount;
        let sa = |i: usize| -> ServiceAccount {
            serde_json::from_value(json!({
                "metadata": {"name": format!("svc-{i:05}"), "namespace": "ns"},
                "automountServiceAccountToken": false,
                "imagePullSecrets": [{"name": format!("registry-credentials-of-team-{}", i % 7)}],
                "secrets": [{"name": format!("token-{i:05}"), "namespace": "ns", "kind": "Secret"}]
            }))
            .unwrap()
        };
        // Every object of a kind uses the one dictionary of the kind, and reads back whole.
        let (a, b) = (Compact::new(sa(0)), Compact::new(sa(1)));
        assert!(std::ptr::eq(a.dictionary, b.dictionary));
        assert_eq!(b.object(), sa(1));
        // The dictionary is the first text given for a kind, kept for good.
        struct Kind;
        let text = |i| serde_json::to_vec(&sa(i)).unwrap();
        let d = dictionary::<Kind>(&text(0));
        assert_eq!(d, text(0));
        assert!(std::ptr::eq(dictionary::<Kind>(&text(1)), d));
        // Compressed against a sibling, an object takes well under half of what it takes alone.
        let alone = lz4_flex::compress_prepend_size(&text(1)).len();
        let against = lz4_flex::block::compress_prepend_size_with_dict(&text(1), d).len();
        assert!(against * 2 < alone, "{against} vs {alone}");
    }

    #[test]
    fn a_third_party_child_reads_back_whole_but_trimmed() {
        use kube::api::DynamicObject;
        let tgb = json!({
            "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "9",
                "labels": {"app.kubernetes.io/managed-by": "tidewater"},
                "ownerReferences": [{"apiVersion": "ecs.tidewater.dev/v1alpha1", "kind": "Service",
                    "name": "web", "uid": "o1", "controller": true}],
                "managedFields": [{"manager": "m", "operation": "Apply"}]},
            "spec": {"serviceRef": {"name": "web", "port": 80}, "targetType": "ip",
                "targetGroupARN": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/1"},
            "status": {"observedGeneration": 1}
        });
        let c: Compact<DynamicObject> = serde_json::from_value(tgb.clone()).unwrap();
        assert_eq!(c.metadata.owner_references.as_ref().unwrap()[0].uid, "o1");
        assert_eq!(c.metadata.labels, None);
        let mut want = tgb;
        want["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(serde_json::to_value(&c).unwrap(), want);
    }

    #[test]
    fn labels_stay_decoded_only_for_the_kinds_that_read_them_from_the_cache() {
        use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
        use k8s_openapi::api::core::v1::Pod;
        let meta = json!({"name": "web", "namespace": "ns", "uid": "u", "resourceVersion": "7",
            "labels": {"a": "b"}, "annotations": {"x": "y"},
            "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "o", "uid": "o1"}]});
        let hpa: HorizontalPodAutoscaler =
            serde_json::from_value(json!({"metadata": meta, "spec": {"maxReplicas": 3,
                "scaleTargetRef": {"kind": "Deployment", "name": "web"}}}))
            .unwrap();
        let c = Compact::new(hpa.clone());
        assert_eq!(c.metadata.labels, None);
        assert_eq!(c.metadata.annotations, None);
        assert_eq!(c.metadata.owner_references, hpa.metadata.owner_references);
        assert_eq!(c.metadata.resource_version.as_deref(), Some("7"));
        assert_eq!(c.object(), hpa);
        let pod: Pod = serde_json::from_value(json!({"metadata": meta})).unwrap();
        let c = Compact::new(pod.clone());
        assert_eq!(c.metadata.labels, pod.metadata.labels);
        assert_eq!(c.metadata.annotations, None);
        assert_eq!(c.object(), pod);
    }

    #[test]
    fn an_ecs_kinds_label_or_annotation_change_still_wakes_its_reconciler() {
        use crate::controller::watch::object_key;
        let mut svc = crate::api::Service::default();
        svc.metadata.name = Some("web".into());
        svc.metadata.annotations = Some([("a".to_string(), "1".to_string())].into());
        let before = object_key(&Compact::new(svc.clone()));
        svc.metadata.annotations = Some([("a".to_string(), "2".to_string())].into());
        assert_ne!(object_key(&Compact::new(svc.clone())), before);
        let mut td = crate::api::TaskDefinition::default();
        let before = object_key(&Compact::new(td.clone()));
        td.metadata.labels = Some([("l".to_string(), "v".to_string())].into());
        assert_ne!(object_key(&Compact::new(td)), before);
    }
}
