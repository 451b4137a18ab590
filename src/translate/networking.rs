//! Load balancers, service registries and Service Connect → Services, TargetGroupBindings and
//! an Ingress for the AWS Load Balancer Controller.

use super::task_definition::PodBuild;
use super::{Warnings, at, idx, names};
use crate::api::ecs::CreateServiceRequest;
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

/// All network objects of a service: `name` is the workload name.
pub fn objects(
    name: &str,
    create: &CreateServiceRequest,
    ingress: Option<&IngressRule>,
    pod: &PodBuild,
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
    w: &mut Warnings,
) -> (Vec<Service>, Vec<Ingress>, Vec<Value>) {
    let mut services = Vec::new();
    let mut ingresses = Vec::new();
    let mut others = Vec::new();
    let service = |svc_name: &str, ports: Vec<ServicePort>, headless: bool, lb: bool| Service {
        metadata: meta(svc_name, labels),
        spec: Some(ServiceSpec {
            selector: Some(selector.clone()),
            ports: Some(ports),
            cluster_ip: headless.then(|| "None".into()),
            type_: Some(if lb { "LoadBalancer" } else { "ClusterIP" }.into()),
            ..ServiceSpec::default()
        }),
        status: None,
    };
    let port_of = |container: Option<&str>, port: i32, service_port: i32| {
        let (t, protocol) = target(pod, container, port);
        ServicePort {
            name: Some(names::port_name(&format!(
                "{}-{port}",
                protocol.to_ascii_lowercase()
            ))),
            port: service_port,
            target_port: Some(t),
            protocol: Some(protocol),
            app_protocol: pod.app_protocols.get(&port).map(|p| app_protocol(p)),
            ..ServicePort::default()
        }
    };

    // Load balancers: one Service over all load balanced ports.
    let lbs = create.load_balancers.as_deref().unwrap_or_default();
    let mut lb_ports: Vec<ServicePort> = Vec::new();
    let mut classic = false;
    for (i, lb) in lbs.iter().enumerate() {
        let Some(port) = lb.container_port else {
            continue;
        };
        let sp = port_of(lb.container_name.as_deref(), port, port);
        if !lb_ports.iter().any(|p| p.port == sp.port) {
            lb_ports.push(sp);
        }
        if let Some(tg) = lb.target_group_arn.as_deref().filter(|s| !s.is_empty()) {
            others.push(json!({
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "TargetGroupBinding",
                "metadata": { "name": names::child(name, &format!("tg-{i}")), "labels": labels },
                "spec": {
                    "serviceRef": { "name": name, "port": port },
                    "targetGroupARN": tg,
                    "targetType": "ip"
                }
            }));
        } else if lb.load_balancer_name.is_some() {
            classic = true;
        }
    }
    let ingress_port = lb_ports
        .first()
        .map(|p| p.port)
        .or_else(|| pod.ports.first().map(|p| p.port));
    if !lb_ports.is_empty() {
        services.push(service(name, lb_ports, false, classic));
    } else if ingress.is_some() {
        if let Some(port) = ingress_port {
            services.push(service(name, vec![port_of(None, port, port)], false, false));
        }
    }

    // Service registries: a headless Service.
    for (i, reg) in create.service_registries.iter().flatten().enumerate() {
        let port = reg
            .container_port
            .or(reg.port)
            .or_else(|| pod.ports.first().map(|p| p.port));
        let ports = port
            .map(|p| vec![port_of(reg.container_name.as_deref(), p, p)])
            .unwrap_or_default();
        let svc_name = if i == 0 {
            names::child(name, "discovery")
        } else {
            names::child(name, &format!("discovery-{i}"))
        };
        services.push(service(&svc_name, ports, true, false));
    }

    // Service Connect: one ClusterIP Service per entry.
    if let Some(sc) = create
        .service_connect_configuration
        .as_ref()
        .filter(|sc| sc.enabled)
    {
        for (i, s) in sc.services.iter().flatten().enumerate() {
            let p = idx("serviceConnectConfiguration.services", i);
            let svc_name = names::dns_label(s.discovery_name.as_deref().unwrap_or(&s.port_name));
            let Some(found) = pod
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
            let ports: Vec<ServicePort> = if aliases.is_empty() {
                vec![port_of(Some(&found.container), target_port, found.port)]
            } else {
                aliases
                    .iter()
                    .map(|a| port_of(Some(&found.container), target_port, a.port))
                    .collect()
            };
            let mut ports = ports;
            ports.dedup_by_key(|p| p.port);
            services.push(service(&svc_name, ports, false, false));
        }
    }

    // Ingress.
    if let Some(rule) = ingress {
        if let Some(port) = ingress_port {
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
            ingresses.push(Ingress {
                metadata: ObjectMeta {
                    annotations: Some(ann),
                    ..meta(name, labels)
                },
                spec: Some(IngressSpec {
                    ingress_class_name: Some(
                        rule.class_name.clone().unwrap_or_else(|| "alb".into()),
                    ),
                    rules: Some(vec![KIngressRule {
                        host: rule.host.clone().filter(|h| !h.is_empty()),
                        http: Some(HTTPIngressRuleValue {
                            paths: vec![HTTPIngressPath {
                                path: Some(rule.path.clone().unwrap_or_else(|| "/".into())),
                                path_type: rule
                                    .path_type
                                    .clone()
                                    .unwrap_or_else(|| "Prefix".into()),
                                backend: IngressBackend {
                                    service: Some(IngressServiceBackend {
                                        name: name.into(),
                                        port: Some(ServiceBackendPort {
                                            number: Some(port),
                                            name: None,
                                        }),
                                    }),
                                    resource: None,
                                },
                            }],
                        }),
                    }]),
                    ..IngressSpec::default()
                }),
                status: None,
            });
        } else {
            w.approximated("ingress", "the task definition exposes no port and no load balancer names one; no Ingress is created");
        }
    }
    (services, ingresses, others)
}
