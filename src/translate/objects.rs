//! The Kubernetes objects a translation produces.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::CronJob;
use k8s_openapi::api::core::v1::{Pod, PodTemplate, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use serde_json::Value;

/// One object to create. Objects of other projects' CRDs (TargetGroupBinding, ExternalSecret)
/// are kept as JSON.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Object {
    /// A task definition nothing runs.
    PodTemplate(PodTemplate),
    /// A REPLICA service.
    Deployment(Deployment),
    /// A DAEMON service.
    DaemonSet(DaemonSet),
    /// Load balancer, service registry or Service Connect endpoint.
    Service(Service),
    /// The `ingress` extension (ALB).
    Ingress(Ingress),
    /// The `autoScaling` extension.
    HorizontalPodAutoscaler(HorizontalPodAutoscaler),
    /// minimumHealthyPercent.
    PodDisruptionBudget(PodDisruptionBudget),
    /// taskRoleArn.
    ServiceAccount(ServiceAccount),
    /// A RunTask task.
    Pod(Pod),
    /// A ScheduledTask.
    CronJob(CronJob),
    /// An object of another project's CRD.
    Other(Value),
}

impl Object {
    /// The object as JSON, with apiVersion and kind.
    pub fn to_value(&self) -> Value {
        let v = match self {
            Object::PodTemplate(o) => serde_json::to_value(o),
            Object::Deployment(o) => serde_json::to_value(o),
            Object::DaemonSet(o) => serde_json::to_value(o),
            Object::Service(o) => serde_json::to_value(o),
            Object::Ingress(o) => serde_json::to_value(o),
            Object::HorizontalPodAutoscaler(o) => serde_json::to_value(o),
            Object::PodDisruptionBudget(o) => serde_json::to_value(o),
            Object::ServiceAccount(o) => serde_json::to_value(o),
            Object::Pod(o) => serde_json::to_value(o),
            Object::CronJob(o) => serde_json::to_value(o),
            Object::Other(v) => Ok(v.clone()),
        };
        v.expect("Kubernetes objects serialise to JSON")
    }

    /// `Kind/name`, for messages.
    pub fn describe(&self) -> String {
        let v = self.to_value();
        format!(
            "{}/{}",
            v["kind"].as_str().unwrap_or("?"),
            v["metadata"]["name"].as_str().unwrap_or("?")
        )
    }
}

impl Object {
    /// `Kind`, as `to_value` writes it (`None` for another project's object: read its JSON).
    fn kind(&self) -> Option<&'static str> {
        Some(match self {
            Object::PodTemplate(_) => "PodTemplate",
            Object::Deployment(_) => "Deployment",
            Object::DaemonSet(_) => "DaemonSet",
            Object::Service(_) => "Service",
            Object::Ingress(_) => "Ingress",
            Object::HorizontalPodAutoscaler(_) => "HorizontalPodAutoscaler",
            Object::PodDisruptionBudget(_) => "PodDisruptionBudget",
            Object::ServiceAccount(_) => "ServiceAccount",
            Object::Pod(_) => "Pod",
            Object::CronJob(_) => "CronJob",
            Object::Other(_) => return None,
        })
    }

    /// The object in `namespace` (`metadata.namespace`, as set on its JSON).
    pub fn in_namespace(mut self, namespace: &str) -> Object {
        self.set_namespace(namespace);
        self
    }

    /// Put the object in `namespace`, in place (see [`Object::in_namespace`]).
    pub fn set_namespace(&mut self, namespace: &str) {
        let ns = Some(namespace.to_string());
        match self {
            Object::PodTemplate(o) => o.metadata.namespace = ns,
            Object::Deployment(o) => o.metadata.namespace = ns,
            Object::DaemonSet(o) => o.metadata.namespace = ns,
            Object::Service(o) => o.metadata.namespace = ns,
            Object::Ingress(o) => o.metadata.namespace = ns,
            Object::HorizontalPodAutoscaler(o) => o.metadata.namespace = ns,
            Object::PodDisruptionBudget(o) => o.metadata.namespace = ns,
            Object::ServiceAccount(o) => o.metadata.namespace = ns,
            Object::Pod(o) => o.metadata.namespace = ns,
            Object::CronJob(o) => o.metadata.namespace = ns,
            Object::Other(v) => v["metadata"]["namespace"] = Value::String(namespace.into()),
        }
    }
}

/// An object `render` emits: the typed object, made JSON ([`Object::to_value`]) the first time
/// its JSON is read (printing it, reading a member), so that a plan whose objects are checked
/// ([`super::k8s_valid::check_object`]) and not printed never builds their JSON. The object is
/// boxed: an `Object` is kilobytes, moved as the plan's output is gathered and filtered.
#[derive(Clone)]
pub struct Emitted {
    object: Box<Object>,
    json: std::sync::OnceLock<Value>,
}

impl Emitted {
    /// The typed object.
    pub fn object(&self) -> &Object {
        &self.object
    }

    /// `Kind`.
    pub fn kind(&self) -> &str {
        match self.object.kind() {
            Some(kind) => kind,
            None => self.json()["kind"].as_str().unwrap_or_default(),
        }
    }

    /// The object as JSON.
    pub fn json(&self) -> &Value {
        self.json.get_or_init(|| self.object.to_value())
    }

    /// The object as JSON, owned.
    pub fn into_value(self) -> Value {
        match self.json.into_inner() {
            Some(v) => v,
            None => self.object.to_value(),
        }
    }
}

impl From<Object> for Emitted {
    fn from(object: Object) -> Self {
        Box::new(object).into()
    }
}

impl From<Box<Object>> for Emitted {
    fn from(object: Box<Object>) -> Self {
        Emitted {
            object,
            json: std::sync::OnceLock::new(),
        }
    }
}

impl From<Emitted> for Value {
    fn from(e: Emitted) -> Value {
        e.into_value()
    }
}

impl std::ops::Deref for Emitted {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.json()
    }
}

impl std::borrow::Borrow<Value> for Emitted {
    fn borrow(&self) -> &Value {
        self.json()
    }
}

impl std::fmt::Debug for Emitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.json().fmt(f)
    }
}

impl std::fmt::Display for Emitted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.json().fmt(f)
    }
}

impl PartialEq for Emitted {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl PartialEq<Value> for Emitted {
    fn eq(&self, other: &Value) -> bool {
        self.json() == other
    }
}

impl PartialEq<Emitted> for Value {
    fn eq(&self, other: &Emitted) -> bool {
        self == other.json()
    }
}

impl serde::Serialize for Emitted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json().serialize(s)
    }
}
