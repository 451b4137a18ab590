//! RegisterTaskDefinition: port mapping rules.

use super::{Admission::*, Rule};

pub const PORT_MAPPING_NEEDS_CONTAINER_PORT: Rule = Rule {
    name: "port_mapping_needs_container_port",
    message: "containerDefinitions[].portMappings: each port mapping needs containerPort or containerPortRange",
    admission: CelOn {
        node: "containerDefinitions[].portMappings[]",
        rule: "has(self.containerPort) || has(self.containerPortRange)",
    },
};
pub const CONTAINER_PORT_RANGE_FORMAT: Rule = Rule {
    name: "container_port_range_format",
    message: "containerDefinitions[].portMappings: containerPortRange must look like 8000-8010",
    admission: CelOn {
        node: "containerDefinitions[].portMappings[]",
        rule: "!has(self.containerPortRange) || self.containerPortRange.matches('^[0-9]{1,5}-[0-9]{1,5}$')",
    },
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
