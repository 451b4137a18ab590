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
