//! RegisterTaskDefinition: port mapping rules.

use super::{Admission::*, Rule, ValidationError};
use crate::api::ecs::{NetworkMode, PortMapping, RegisterTaskDefinitionRequest};
use std::collections::BTreeMap;

pub const PORT_MAPPING_NEEDS_CONTAINER_PORT: Rule = Rule {
    name: "port_mapping_needs_container_port",
    message: "containerDefinitions[].portMappings: each port mapping needs containerPort or containerPortRange",
    admission: Cel(
        "self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, has(p.containerPort) || has(p.containerPortRange)))",
    ),
};
pub const CONTAINER_PORT_RANGE_FORMAT: Rule = Rule {
    name: "container_port_range_format",
    message: "containerDefinitions[].portMappings: containerPortRange must look like 8000-8010",
    admission: Cel(
        "self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.containerPortRange) || p.containerPortRange.matches('^[0-9]{1,5}-[0-9]{1,5}$')))",
    ),
};
pub const CONTAINER_PORT_RANGE_ORDER: Rule = Rule {
    name: "container_port_range_order",
    message: "containerDefinitions[].portMappings[].containerPortRange: the valid values are between 1 and 65535, and the first port in the range must be less than last port in the range",
    admission: Reconcile,
};
pub const CONTAINER_PORT_RANGE_NETWORK_MODE: Rule = Rule {
    name: "container_port_range_network_mode",
    message: "containerDefinitions[].portMappings: containerPortRange requires the bridge or the awsvpc network mode",
    admission: Cel(
        "!has(self.networkMode) || self.networkMode in ['bridge', 'awsvpc'] || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.containerPortRange)))",
    ),
};
pub const AWSVPC_HOST_PORT: Rule = Rule {
    name: "awsvpc_host_port",
    message: "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
    admission: Cel(
        "!has(self.networkMode) || self.networkMode != 'awsvpc' || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || p.hostPort == 0 || !has(p.containerPort) || p.hostPort == p.containerPort))",
    ),
};
pub const HOST_MODE_HOST_PORT: Rule = Rule {
    name: "host_mode_host_port",
    message: "When networkMode=host, the host ports and container ports in port mappings must match.",
    admission: Cel(
        "!has(self.networkMode) || self.networkMode != 'host' || self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || p.hostPort == 0 || !has(p.containerPort) || p.hostPort == p.containerPort))",
    ),
};
pub const NO_PORT_MAPPINGS_IN_NONE_MODE: Rule = Rule {
    name: "no_port_mappings_in_none_mode",
    message: "containerDefinitions[].portMappings: if the network mode of a task definition is set to none, then you can't specify port mappings",
    admission: Cel(
        "!has(self.networkMode) || self.networkMode != 'none' || self.containerDefinitions.all(c, !has(c.portMappings) || size(c.portMappings) == 0)",
    ),
};
pub const CONTAINER_PORT_ONE_PROTOCOL: Rule = Rule {
    name: "container_port_one_protocol",
    message: "containerDefinitions[].portMappings: you can't expose the same container port for multiple protocols",
    admission: Reconcile,
};

pub const PORT_NUMBER_RANGE: Rule = Rule {
    name: "port_number_range",
    message: "should be less than or equal to 65535 (and greater than or equal to 0)",
    admission: Schema,
};
pub const PORT_MAPPINGS_AT_MOST_100: Rule = Rule {
    name: "port_mappings_at_most_100",
    message: "Too many: must have at most 100 items (port mappings per container)",
    admission: Schema,
};

pub(super) const RULES: &[&Rule] = &[
    &PORT_NUMBER_RANGE,
    &PORT_MAPPINGS_AT_MOST_100,
    &PORT_MAPPING_NEEDS_CONTAINER_PORT,
    &CONTAINER_PORT_RANGE_FORMAT,
    &CONTAINER_PORT_RANGE_ORDER,
    &CONTAINER_PORT_RANGE_NETWORK_MODE,
    &AWSVPC_HOST_PORT,
    &HOST_MODE_HOST_PORT,
    &NO_PORT_MAPPINGS_IN_NONE_MODE,
    &CONTAINER_PORT_ONE_PROTOCOL,
];

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
            let path = format!("containerDefinitions[{i}].portMappings[{j}]");
            mapping(mode, p, &path, out);
            let protocol = p.protocol.map(|p| p.as_str()).unwrap_or("tcp");
            if let Some(port) = p.container_port
                && protocols
                    .insert(port, protocol)
                    .is_some_and(|q| q != protocol)
            {
                out.push(CONTAINER_PORT_ONE_PROTOCOL.at(format!("{path}.containerPort")));
            }
        }
    }
}

fn mapping(mode: Option<NetworkMode>, p: &PortMapping, path: &str, out: &mut Vec<ValidationError>) {
    let ports = [
        ("containerPort", p.container_port),
        ("hostPort", p.host_port),
    ];
    for (field, port) in ports {
        if port.is_some_and(|n| !(0..=65535).contains(&n)) {
            out.push(PORT_NUMBER_RANGE.at(format!("{path}.{field}")));
        }
    }
    let range = p.container_port_range.as_deref();
    if p.container_port.is_none() && range.is_none() {
        out.push(PORT_MAPPING_NEEDS_CONTAINER_PORT.at(path));
    }
    if let Some(range) = range {
        port_range(mode, range, &format!("{path}.containerPortRange"), out);
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
            out.push(rule.at(format!("{path}.hostPort")));
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
