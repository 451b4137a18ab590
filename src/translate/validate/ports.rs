//! RegisterTaskDefinition: port mapping rules.

use super::ValidationError;
use crate::api::ecs::{NetworkMode, PortMapping, RegisterTaskDefinitionRequest};
use crate::api::rules::ports::*;
use std::collections::BTreeMap;

/// Every port mapping rule.
pub(super) fn check(reg: &RegisterTaskDefinitionRequest, out: &mut Vec<ValidationError>) {
    let mode = reg.network_mode;
    for (i, c) in reg.container_definitions.iter().enumerate() {
        let mappings = c.port_mappings.as_deref().unwrap_or_default();
        if mode == Some(NetworkMode::None) && !mappings.is_empty() {
            out.push(
                NO_PORT_MAPPINGS_IN_NONE_MODE.at(format!("containerDefinitions[{i}].portMappings")),
            );
        }
        if mappings.len() > 100 {
            out.push(
                PORT_MAPPINGS_AT_MOST_100.at(format!("containerDefinitions[{i}].portMappings")),
            );
        }
        let mut protocols: BTreeMap<i32, &str> = BTreeMap::new();
        for (j, p) in mappings.iter().enumerate() {
            let path = || format!("containerDefinitions[{i}].portMappings[{j}]");
            mapping(mode, p, &path, out);
            let protocol = p.protocol.map(|p| p.as_str()).unwrap_or("tcp");
            if let Some(port) = p.container_port
                && protocols
                    .insert(port, protocol)
                    .is_some_and(|q| q != protocol)
            {
                out.push(CONTAINER_PORT_ONE_PROTOCOL.at(format!("{}.containerPort", path())));
            }
        }
    }
}

/// `path` writes the mapping's path (only for a violation).
fn mapping(
    mode: Option<NetworkMode>,
    p: &PortMapping,
    path: &dyn Fn() -> String,
    out: &mut Vec<ValidationError>,
) {
    let ports = [
        ("containerPort", p.container_port),
        ("hostPort", p.host_port),
    ];
    for (field, port) in ports {
        if port.is_some_and(|n| !(0..=65535).contains(&n)) {
            out.push(PORT_NUMBER_RANGE.at(format!("{}.{field}", path())));
        }
    }
    let range = p.container_port_range.as_deref();
    if p.container_port.is_none() && range.is_none() {
        out.push(PORT_MAPPING_NEEDS_CONTAINER_PORT.at(path()));
    }
    if let Some(range) = range {
        port_range(mode, range, &format!("{}.containerPortRange", path()), out);
    }
    let static_modes = [
        (NetworkMode::Awsvpc, &AWSVPC_HOST_PORT),
        (NetworkMode::Host, &HOST_MODE_HOST_PORT),
    ];
    for (m, rule) in static_modes {
        if let (Some(h), Some(c)) = (p.host_port, p.container_port)
            && mode == Some(m)
            && h != 0
            && h != c
        {
            out.push(rule.at(format!("{}.hostPort", path())));
        }
    }
}

fn port_range(mode: Option<NetworkMode>, range: &str, path: &str, out: &mut Vec<ValidationError>) {
    if mode.is_some_and(|m| m != NetworkMode::Bridge && m != NetworkMode::Awsvpc) {
        out.push(CONTAINER_PORT_RANGE_NETWORK_MODE.at(path));
    }
    let digits = |s: &str| (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    match range.split_once('-') {
        Some((a, b)) if digits(a) && digits(b) => {
            let (a, b): (u32, u32) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
            if a < 1 || b > 65535 || a >= b {
                out.push(CONTAINER_PORT_RANGE_ORDER.with_value(path, range));
            }
        }
        _ => out.push(CONTAINER_PORT_RANGE_FORMAT.with_value(path, range)),
    }
}
