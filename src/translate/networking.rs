//! Load balancers, service registries and Service Connect → Services, TargetGroupBindings and
//! an Ingress for the AWS Load Balancer Controller.

use super::task_definition::PodBuild;
use super::{Object, Warnings, at, idx, names};
use crate::api::ecs::{CreateServiceRequest, NetworkMode};
use crate::api::service::IngressRule;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule as KIngressRule,
    IngressServiceBackend, IngressSpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn app_protocol(p: &str) -> String {
    match p {
        "http2" => "kubernetes.io/h2c".into(),
        other => other.into(),
    }
}

fn meta(name: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    }
}

/// Find the pod port for (ECS container name, container port).
fn target(pod: &PodBuild, container: Option<&str>, port: i32) -> (IntOrString, String) {
    let found = pod
        .ports
        .iter()
        .find(|p| p.port == port && container.is_none_or(|n| n == p.container));
    let protocol = found
        .map(|f| f.protocol.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "TCP".into());
    (IntOrString::Int(port), protocol)
}

/// What the network objects of a service are built from.
#[derive(Clone, Copy, Debug)]
pub struct ServiceNetwork<'a> {
    /// The workload name.
    pub name: &'a str,
    /// The CreateService request.
    pub create: &'a CreateServiceRequest,
    /// The `ingress` extension.
    pub ingress: Option<&'a IngressRule>,
    /// The task definition's network mode (decides the target type of target groups).
    pub network_mode: Option<NetworkMode>,
    /// The pod template and its ports.
    pub pod: &'a PodBuild,
    /// The pod selector.
    pub selector: &'a BTreeMap<String, String>,
    /// Labels of every object.
    pub labels: &'a BTreeMap<String, String>,
}

/// The network objects of a service.
#[derive(Clone, Debug, Default)]
pub struct NetworkObjects {
    /// Load balancer, service registry and Service Connect Services.
    pub services: Vec<Service>,
    /// TargetGroupBindings of the existing target groups.
    pub target_group_bindings: Vec<Value>,
    /// The Ingress of the `ingress` extension.
    pub ingress: Option<Ingress>,
}

impl NetworkObjects {
    /// The objects in apply order: Services, TargetGroupBindings, Ingress.
    pub fn into_objects(self) -> Vec<Object> {
        let mut out: Vec<Object> = self.services.into_iter().map(Object::Service).collect();
        out.extend(self.target_group_bindings.into_iter().map(Object::Other));
        out.extend(self.ingress.map(Object::Ingress));
        out
    }
}

/// How an existing target group reaches the tasks, which its target type fixes (ECS: "For
/// services with tasks using the awsvpc network mode, when you create a target group for your
/// service, you must choose ip as the target type, not instance").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetType {
    /// awsvpc: the task's own IP address (the pod IP), through a ClusterIP Service.
    Ip,
    /// bridge and host: the instance (the node), through a NodePort Service.
    Instance,
}

impl TargetType {
    /// The target type for a network mode (bridge when unset, as on EC2).
    pub fn of(mode: Option<NetworkMode>) -> TargetType {
        match mode {
            Some(NetworkMode::Awsvpc) => TargetType::Ip,
            _ => TargetType::Instance,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            TargetType::Ip => "ip",
            TargetType::Instance => "instance",
        }
    }
}

impl ServiceNetwork<'_> {
    fn service(&self, name: &str, ports: Vec<ServicePort>, headless: bool, type_: &str) -> Service {
        Service {
            metadata: meta(name, self.labels),
            spec: Some(ServiceSpec {
                selector: Some(self.selector.clone()),
                ports: Some(ports),
                cluster_ip: headless.then(|| "None".into()),
                type_: Some(type_.into()),
                ..ServiceSpec::default()
            }),
            status: None,
        }
    }

    fn port(&self, container: Option<&str>, port: i32, service_port: i32) -> ServicePort {
        let (t, protocol) = target(self.pod, container, port);
        ServicePort {
            name: Some(names::port_name(&format!(
                "{}-{port}",
                protocol.to_ascii_lowercase()
            ))),
            port: service_port,
            target_port: Some(t),
            protocol: Some(protocol),
            app_protocol: self.pod.app_protocols.get(&port).map(|p| app_protocol(p)),
            ..ServicePort::default()
        }
    }
}

/// All network objects of a service.
pub fn objects(net: &ServiceNetwork<'_>, w: &mut Warnings) -> NetworkObjects {
    let (lb_service, target_group_bindings) = load_balancers(net, w);
    let ingress_port = lb_service
        .as_ref()
        .and_then(|s| s.spec.as_ref()?.ports.as_ref()?.first().map(|p| p.port))
        .or_else(|| net.pod.ports.first().map(|p| p.port));
    let mut services: Vec<Service> = lb_service.into_iter().collect();
    if services.is_empty()
        && net.ingress.is_some()
        && let Some(port) = ingress_port
    {
        let ports = vec![net.port(None, port, port)];
        services.push(net.service(net.name, ports, false, "ClusterIP"));
    }
    services.extend(registries(net));
    services.extend(service_connect(net, w));
    let ingress = net
        .ingress
        .and_then(|rule| ingress(net.name, rule, ingress_port, net.labels, w));
    NetworkObjects {
        services,
        target_group_bindings,
        ingress,
    }
}

/// Load balancers: one Service over all load balanced ports, and a TargetGroupBinding per
/// target group. Instance target groups (bridge and host network modes) need a NodePort
/// Service: the AWS Load Balancer Controller registers the nodes at its node port.
fn load_balancers(net: &ServiceNetwork<'_>, w: &mut Warnings) -> (Option<Service>, Vec<Value>) {
    let target_type = TargetType::of(net.network_mode);
    let mut ports: Vec<ServicePort> = Vec::new();
    let mut bindings = Vec::new();
    let mut classic = false;
    for (i, lb) in net.create.load_balancers.iter().flatten().enumerate() {
        let Some(port) = lb.container_port else {
            continue;
        };
        let sp = net.port(lb.container_name.as_deref(), port, port);
        if !ports.iter().any(|p| p.port == sp.port) {
            ports.push(sp);
        }
        if let Some(tg) = lb.target_group_arn.as_deref().filter(|s| !s.is_empty()) {
            if target_type == TargetType::Instance {
                w.approximated(
                    at(&idx("loadBalancers", i), "targetGroupArn"),
                    "instance target group: its targets are the nodes at the Service's node port (kube-proxy forwards to a task, possibly on another node), not each task's instance and host port",
                );
            }
            bindings.push(json!({
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "TargetGroupBinding",
                "metadata": { "name": names::child(net.name, &format!("tg-{i}")), "labels": net.labels },
                "spec": {
                    "serviceRef": { "name": net.name, "port": port },
                    "targetGroupARN": tg,
                    "targetType": target_type.as_str()
                }
            }));
        } else if lb.load_balancer_name.is_some() {
            classic = true;
        }
    }
    if ports.is_empty() {
        return (None, bindings);
    }
    let type_ = match (classic, target_type, bindings.is_empty()) {
        (true, _, _) => "LoadBalancer",
        (false, TargetType::Instance, false) => "NodePort",
        _ => "ClusterIP",
    };
    (Some(net.service(net.name, ports, false, type_)), bindings)
}

/// Service registries: a headless Service each.
fn registries(net: &ServiceNetwork<'_>) -> Vec<Service> {
    let mut out = Vec::new();
    for (i, reg) in net.create.service_registries.iter().flatten().enumerate() {
        let port = reg
            .container_port
            .or(reg.port)
            .or_else(|| net.pod.ports.first().map(|p| p.port));
        let ports = port
            .map(|p| vec![net.port(reg.container_name.as_deref(), p, p)])
            .unwrap_or_default();
        let svc_name = if i == 0 {
            names::child(net.name, "discovery")
        } else {
            names::child(net.name, &format!("discovery-{i}"))
        };
        out.push(net.service(&svc_name, ports, true, "ClusterIP"));
    }
    out
}

/// Service Connect: one ClusterIP Service per entry.
fn service_connect(net: &ServiceNetwork<'_>, w: &mut Warnings) -> Vec<Service> {
    let Some(sc) = net
        .create
        .service_connect_configuration
        .as_ref()
        .filter(|sc| sc.enabled)
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, s) in sc.services.iter().flatten().enumerate() {
        let p = idx("serviceConnectConfiguration.services", i);
        let svc_name = names::dns_label(s.discovery_name.as_deref().unwrap_or(&s.port_name));
        let Some(found) = net
            .pod
            .ports
            .iter()
            .find(|p| p.name.as_deref() == Some(names::port_name(&s.port_name).as_str()))
        else {
            w.approximated(
                at(&p, "portName"),
                format!(
                    "no container port is named `{}`; no Service is created for it",
                    s.port_name
                ),
            );
            continue;
        };
        let target_port = s.ingress_port_override.unwrap_or(found.port);
        let aliases = s.client_aliases.as_deref().unwrap_or_default();
        let mut ports: Vec<ServicePort> = if aliases.is_empty() {
            vec![net.port(Some(&found.container), target_port, found.port)]
        } else {
            aliases
                .iter()
                .map(|a| net.port(Some(&found.container), target_port, a.port))
                .collect()
        };
        ports.dedup_by_key(|p| p.port);
        out.push(net.service(&svc_name, ports, false, "ClusterIP"));
    }
    out
}

/// The annotations of the ALB Ingress.
fn ingress_annotations(rule: &IngressRule) -> BTreeMap<String, String> {
    let mut ann = BTreeMap::from([
        (
            "alb.ingress.kubernetes.io/target-type".to_string(),
            "ip".to_string(),
        ),
        (
            "alb.ingress.kubernetes.io/scheme".to_string(),
            rule.scheme.clone().unwrap_or_else(|| "internal".into()),
        ),
    ]);
    if let Some(g) = &rule.group_name {
        ann.insert("alb.ingress.kubernetes.io/group.name".into(), g.clone());
    }
    if let Some(c) = &rule.certificate_arn {
        ann.insert(
            "alb.ingress.kubernetes.io/certificate-arn".into(),
            c.clone(),
        );
        ann.insert(
            "alb.ingress.kubernetes.io/listen-ports".into(),
            r#"[{"HTTP": 80}, {"HTTPS": 443}]"#.into(),
        );
        ann.insert(
            "alb.ingress.kubernetes.io/ssl-redirect".into(),
            "443".into(),
        );
    }
    ann.extend(rule.annotations.clone());
    ann
}

/// The Ingress of the `ingress` extension, to `port` of the workload's Service.
fn ingress(
    name: &str,
    rule: &IngressRule,
    port: Option<i32>,
    labels: &BTreeMap<String, String>,
    w: &mut Warnings,
) -> Option<Ingress> {
    let Some(port) = port else {
        w.approximated("ingress", "the task definition exposes no port and no load balancer names one; no Ingress is created");
        return None;
    };
    let backend = IngressBackend {
        service: Some(IngressServiceBackend {
            name: name.into(),
            port: Some(ServiceBackendPort {
                number: Some(port),
                name: None,
            }),
        }),
        resource: None,
    };
    Some(Ingress {
        metadata: ObjectMeta {
            annotations: Some(ingress_annotations(rule)),
            ..meta(name, labels)
        },
        spec: Some(IngressSpec {
            ingress_class_name: Some(rule.class_name.clone().unwrap_or_else(|| "alb".into())),
            rules: Some(vec![KIngressRule {
                host: rule.host.clone().filter(|h| !h.is_empty()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some(rule.path.clone().unwrap_or_else(|| "/".into())),
                        path_type: rule.path_type.clone().unwrap_or_else(|| "Prefix".into()),
                        backend,
                    }],
                }),
            }]),
            ..IngressSpec::default()
        }),
        status: None,
    })
}
