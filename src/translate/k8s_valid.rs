//! Kubernetes' own validation rules (the apiserver's `ValidateObjectMeta`, `ValidatePodSpec`,
//! `ValidateService`, `ValidateIngress`, `ValidateCronJob` ..., Kubernetes 1.33), as pure
//! functions over an emitted object: `check(object)` lists what the apiserver would reject, each
//! with its path in the object. `render` runs it on everything it emits (an object the
//! apiserver would reject is an error, never output), and the tests run it on every golden,
//! corpus and example render. [`check_input`] finds, in an input document, the ECS values that
//! would make such an object, so the error names the ECS path.

use super::Object;
use super::objects::Emitted;
use serde_json::Value;
use std::collections::BTreeSet;
use std::str::FromStr;

/// One rule an object breaks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// JSON path in the object (or input document).
    pub path: String,
    /// What is wrong, in the apiserver's words where it has them.
    pub message: String,
}

fn v(path: impl Into<String>, message: impl Into<String>) -> Violation {
    Violation {
        path: path.into(),
        message: message.into(),
    }
}

/// RFC 1123 label: lowercase alphanumerics and `-`, alphanumeric at both ends, ≤ 63.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b.len() <= 63 && all(b, DNS) && b[0] != b'-' && b[b.len() - 1] != b'-'
}

/// Byte classes of the name rules, one table lookup per byte (every output object's names and
/// labels are checked): [`DNS`] `[a-z0-9-]`, [`LABEL`] `[A-Za-z0-9_.-]`, [`ALNUM`] `[A-Za-z0-9]`.
const CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let (lower, upper, digit) = (
            b.is_ascii_lowercase(),
            b.is_ascii_uppercase(),
            b.is_ascii_digit(),
        );
        if lower || digit || b == b'-' {
            t[c] |= DNS;
        }
        if lower || upper || digit || b == b'-' || b == b'_' || b == b'.' {
            t[c] |= LABEL;
        }
        if lower || upper || digit {
            t[c] |= ALNUM;
        }
        c += 1;
    }
    t
};
const DNS: u8 = 1;
const LABEL: u8 = 2;
const ALNUM: u8 = 4;

/// Whether every byte of `b` is of `class`.
fn all(b: &[u8], class: u8) -> bool {
    b.iter().all(|&c| CLASSES[c as usize] & class != 0)
}

/// Whether `c` is of `class`.
fn is(c: u8, class: u8) -> bool {
    CLASSES[c as usize] & class != 0
}

/// The names seen so far in one of an object's lists (its containers, volumes, a container's
/// ports or mounts), for uniqueness: searched in place while there are few (no allocation for
/// the few every object has), kept in a set past that (a long list stays `O(n log n)`).
#[derive(Default)]
struct Seen<'a> {
    few: [&'a str; Seen::FEW],
    len: usize,
    many: BTreeSet<&'a str>,
}

impl<'a> Seen<'a> {
    const FEW: usize = 16;

    /// Whether `name` was seen.
    fn contains(&self, name: &str) -> bool {
        self.few[..self.len].contains(&name) || self.many.contains(name)
    }

    /// Note `name`; whether it was new (as [`BTreeSet::insert`]).
    fn insert(&mut self, name: &'a str) -> bool {
        if self.contains(name) {
            return false;
        }
        if self.len < Self::FEW {
            self.few[self.len] = name;
            self.len += 1;
        } else {
            self.many.insert(name);
        }
        true
    }
}

/// RFC 1123 subdomain: labels joined by `.`, ≤ 253. One pass over the bytes: every output
/// object's name and label keys are checked.
pub fn is_dns_subdomain(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() > 253 {
        return false;
    }
    // Each label: 1-63 of [a-z0-9-], not starting or ending with '-'.
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' {
            if !label_ends(b, start, i) {
                return false;
            }
            start = i + 1;
        } else if !is(c, DNS) {
            return false;
        }
    }
    label_ends(b, start, b.len())
}

/// Whether `b[start..end]`, of [a-z0-9-], is an RFC 1123 label.
fn label_ends(b: &[u8], start: usize, end: usize) -> bool {
    end > start && end - start <= 63 && b[start] != b'-' && b[end - 1] != b'-'
}

/// RFC 1035 label (Service names): an RFC 1123 label starting with a letter.
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

/// A label value: empty, or ≤ 63 of `[A-Za-z0-9_.-]` with alphanumerics at both ends.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty() || (b.len() <= 63 && all(b, LABEL) && is(b[0], ALNUM) && is(b[b.len() - 1], ALNUM))
}

/// A label key: optional DNS subdomain prefix and `/`, then a non-empty label-value-like name.
pub fn is_label_key(s: &str) -> bool {
    let (prefix, name) = match s.as_bytes().iter().rposition(|&c| c == b'/') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// IANA service name (port names): ≤ 15 of lowercase alphanumerics and `-`, at least one
/// letter, no `--`, not starting or ending with `-`.
pub fn is_port_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && !s.contains("--")
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// An environment variable name (Kubernetes 1.33, RelaxedEnvironmentVariableValidation):
/// non-empty printable ASCII without `=`.
pub fn is_env_var_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| (b' '..=b'~').contains(&c) && c != b'=')
}

/// A time zone name of the IANA database, as CronJob `spec.timeZone` needs.
pub fn is_time_zone(s: &str) -> bool {
    s != "Local" && chrono_tz::Tz::from_str(s).is_ok()
}

/// A quantity (`500m`, `1.5Gi`, `1e3`) as a number, for comparing requests and limits.
pub fn quantity(s: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    for (suffix, factor) in SUFFIXES {
        if let Some(n) = s.strip_suffix(suffix) {
            return n.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse::<f64>().ok()
}

/// Every rule `object` breaks.
pub fn check(object: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let kind = object["kind"].as_str().unwrap_or_default();
    metadata(kind, &object["metadata"], "metadata", &mut out);
    let spec = &object["spec"];
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            replicas(spec, "spec", &mut out);
            template(&spec["template"], "spec.template", &mut out);
        }
        "CronJob" => cron_job(spec, &mut out),
        "PodTemplate" => template(&object["template"], "template", &mut out),
        "Pod" => pod_spec(spec, &|| "spec".to_string(), &mut out),
        "Service" => service(spec, &mut out),
        "Ingress" => ingress(spec, &mut out),
        "HorizontalPodAutoscaler" => autoscaler(spec, &mut out),
        _ => {}
    }
    out
}

fn metadata(kind: &str, meta: &Value, path: &str, out: &mut Vec<Violation>) {
    if let Some(name) = meta["name"].as_str() {
        let ok = match kind {
            "Service" => is_dns1035_label(name),
            "Namespace" => is_dns_label(name),
            "CronJob" => is_dns_subdomain(name) && name.len() <= 52,
            _ => is_dns_subdomain(name),
        };
        if !ok {
            out.push(v(
                format!("{path}.name"),
                format!("`{name}` is not a valid {kind} name (RFC 1123)"),
            ));
        }
    } else if !kind.is_empty() && meta.get("generateName").is_none() {
        out.push(v(
            format!("{path}.name"),
            "name or generateName is required",
        ));
    }
    labels(&meta["labels"], &|| format!("{path}.labels"), out);
}

/// Label keys and values; `path` is written only for a violation.
fn labels(labels: &Value, path: &dyn Fn() -> String, out: &mut Vec<Violation>) {
    for (k, val) in labels.as_object().into_iter().flatten() {
        if !is_label_key(k) {
            out.push(v(format!("{}.{k}", path()), "not a valid label key"));
        }
        match val.as_str() {
            Some(s) if is_label_value(s) => {}
            _ => out.push(v(format!("{}.{k}", path()), format!("{val} is not a valid label value (at most 63 characters: alphanumerics, '-', '_' or '.', alphanumeric at both ends)"))),
        }
    }
}

fn replicas(spec: &Value, path: &str, out: &mut Vec<Violation>) {
    for field in ["replicas", "parallelism", "completions", "backoffLimit"] {
        if spec[field].as_i64().is_some_and(|n| n < 0) {
            out.push(v(
                format!("{path}.{field}"),
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn template(t: &Value, path: &str, out: &mut Vec<Violation>) {
    labels(
        &t["metadata"]["labels"],
        &|| format!("{path}.metadata.labels"),
        out,
    );
    pod_spec(&t["spec"], &|| format!("{path}.spec"), out);
}

fn cron_job(spec: &Value, out: &mut Vec<Violation>) {
    if let Some(tz) = spec["timeZone"].as_str()
        && !is_time_zone(tz)
    {
        out.push(v(
            "spec.timeZone",
            format!("unknown time zone `{tz}` (an IANA time zone name)"),
        ));
    }
    if spec["schedule"]
        .as_str()
        .is_none_or(|s| s.trim().is_empty())
    {
        out.push(v("spec.schedule", "required"));
    }
    let job = &spec["jobTemplate"]["spec"];
    replicas(job, "spec.jobTemplate.spec", out);
    template(&job["template"], "spec.jobTemplate.spec.template", out);
}

fn array<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    elements(&v[key])
}

/// The elements of a list, numbered (none if `v` is not a list).
fn elements(v: &Value) -> impl Iterator<Item = (usize, &Value)> {
    v.as_array().into_iter().flatten().enumerate()
}

/// The members `keys` of `v` found in one pass over its members (a document's object is a
/// sorted map: several look-ups cost more than one walk), `None` where there is none.
fn members<'a, const N: usize>(v: &'a Value, keys: [&str; N]) -> [Option<&'a Value>; N] {
    let mut found = [None; N];
    if let Value::Object(map) = v {
        for (k, x) in map {
            if let Some(i) = keys.iter().position(|key| key == k) {
                found[i] = Some(x);
            }
        }
    }
    found
}

/// A member as indexing reads it: `null` when there is none.
fn or_null(v: Option<&Value>) -> &Value {
    static NULL: Value = Value::Null;
    v.unwrap_or(&NULL)
}

/// The pod spec's rules; `path` is written only for a violation.
fn pod_spec(spec: &Value, path: &dyn Fn() -> String, out: &mut Vec<Violation>) {
    if spec["containers"].as_array().is_none_or(Vec::is_empty) {
        out.push(v(
            format!("{}.containers", path()),
            "at least one container is required",
        ));
    }
    let mut volumes = Seen::default();
    for (i, vol) in array(spec, "volumes") {
        let name = vol["name"].as_str().unwrap_or_default();
        if !is_dns_label(name) || !volumes.insert(name) {
            out.push(v(
                format!("{}.volumes[{i}].name", path()),
                format!("`{name}` is not a valid, unique volume name (RFC 1123 label)"),
            ));
        }
    }
    let mut names = Seen::default();
    for list in ["initContainers", "containers"] {
        for (i, c) in array(spec, list) {
            let p = || format!("{}.{list}[{i}]", path());
            let name = c["name"].as_str().unwrap_or_default();
            if !is_dns_label(name) || !names.insert(name) {
                out.push(v(
                    format!("{}.name", p()),
                    format!("`{name}` is not a valid, unique container name (RFC 1123 label)"),
                ));
            }
            container(c, &p, &volumes, out);
        }
    }
}

/// One container's rules; `path` is written only for a violation.
fn container(c: &Value, path: &dyn Fn() -> String, volumes: &Seen<'_>, out: &mut Vec<Violation>) {
    let mut port_names = Seen::default();
    for (j, p) in array(c, "ports") {
        let pp = || format!("{}.ports[{j}]", path());
        for (field, zero_ok) in [("containerPort", false), ("hostPort", true)] {
            if !port_ok(&p[field], zero_ok) {
                port_number(&p[field], &format!("{}.{field}", pp()), zero_ok, out);
            }
        }
        if let Some(name) = p["name"].as_str()
            && (!is_port_name(name) || !port_names.insert(name))
        {
            out.push(v(format!("{}.name", pp()), format!("`{name}` is not a valid, unique port name (IANA service name: at most 15 lowercase alphanumerics or '-')")));
        }
    }
    for (k, e) in array(c, "env") {
        let name = e["name"].as_str().unwrap_or_default();
        if !is_env_var_name(name) {
            out.push(v(
                format!("{}.env[{k}].name", path()),
                format!(
                    "`{name}` is not a valid environment variable name (printable ASCII, not '=')"
                ),
            ));
        }
    }
    let mut mount_paths = Seen::default();
    for (k, m) in array(c, "volumeMounts") {
        let name = m["name"].as_str().unwrap_or_default();
        if !volumes.contains(name) {
            out.push(v(
                format!("{}.volumeMounts[{k}].name", path()),
                format!("volume `{name}` not found"),
            ));
        }
        let mp = m["mountPath"].as_str().unwrap_or_default();
        if mp.is_empty() || !mount_paths.insert(mp) {
            out.push(v(
                format!("{}.volumeMounts[{k}].mountPath", path()),
                format!("`{mp}` must be non-empty and unique"),
            ));
        }
    }
    resources(&c["resources"], &|| format!("{}.resources", path()), out);
}

/// Whether `p` is a port number (or, when `zero_ok`, absent or 0).
fn port_ok(p: &Value, zero_ok: bool) -> bool {
    (p.is_null() && zero_ok)
        || p.as_i64()
            .is_some_and(|n| (1..=65535).contains(&n) || (zero_ok && n == 0))
}

fn port_number(p: &Value, path: &str, zero_ok: bool, out: &mut Vec<Violation>) {
    if !port_ok(p, zero_ok) {
        out.push(v(
            path,
            format!("{p} must be between 1 and 65535, inclusive"),
        ));
    }
}

/// An ECS port value outside what the CRD schema allows, in the apiserver's words (so `render`
/// and `kubectl apply` say the same).
fn ecs_port_number(p: &Value, path: &str, zero_ok: bool, out: &mut Vec<Violation>) {
    let mut found = Vec::new();
    port_number(p, path, zero_ok, &mut found);
    out.extend(found.into_iter().map(|f| {
        v(
            f.path,
            format!("{p} should be less than or equal to 65535 and greater than or equal to 1"),
        )
    }));
}

/// Requests and limits; `path` is written only for a violation.
fn resources(r: &Value, path: &dyn Fn() -> String, out: &mut Vec<Violation>) {
    for (name, request) in r["requests"].as_object().into_iter().flatten() {
        let request = request.as_str().and_then(quantity);
        let limit = r["limits"][name].as_str().and_then(quantity);
        if request.is_none_or(|q| q < 0.0) {
            out.push(v(
                format!("{}.requests.{name}", path()),
                "must be a non-negative quantity",
            ));
        }
        if let (Some(req), Some(lim)) = (request, limit)
            && req > lim
        {
            out.push(v(
                format!("{}.requests.{name}", path()),
                format!(
                    "must be less than or equal to {name} limit of {}",
                    r["limits"][name]
                ),
            ));
        }
    }
}

fn service(spec: &Value, out: &mut Vec<Violation>) {
    let ports: Vec<_> = array(spec, "ports").collect();
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for (i, p) in &ports {
        let pp = format!("spec.ports[{i}]");
        port_number(&p["port"], &format!("{pp}.port"), false, out);
        port_number(&p["nodePort"], &format!("{pp}.nodePort"), true, out);
        match &p["targetPort"] {
            Value::String(s) if !is_port_name(s) => out.push(v(
                format!("{pp}.targetPort"),
                format!("`{s}` is not a valid port name"),
            )),
            n @ Value::Number(_) => port_number(n, &format!("{pp}.targetPort"), false, out),
            _ => {}
        }
        let name = p["name"].as_str().unwrap_or_default();
        if (ports.len() > 1 && name.is_empty())
            || (!name.is_empty() && !is_port_name(name))
            || !names.insert(name)
        {
            out.push(v(
                format!("{pp}.name"),
                format!("`{name}`: each port of a multi-port Service needs a unique, valid name"),
            ));
        }
        let key = (
            p["port"].to_string(),
            p["protocol"].as_str().unwrap_or("TCP").to_string(),
        );
        if !numbers.insert(key) {
            out.push(v(format!("{pp}.port"), "duplicate port and protocol"));
        }
    }
}

fn ingress(spec: &Value, out: &mut Vec<Violation>) {
    for (i, rule) in array(spec, "rules") {
        let p = format!("spec.rules[{i}]");
        if let Some(host) = rule["host"].as_str() {
            let bare = host.strip_prefix("*.").unwrap_or(host);
            if !is_dns_subdomain(bare) || bare.parse::<std::net::IpAddr>().is_ok() {
                out.push(v(
                    format!("{p}.host"),
                    format!("`{host}` is not a valid host (a DNS name, not an IP address)"),
                ));
            }
        }
        for (j, path) in array(&rule["http"], "paths") {
            let pp = format!("{p}.http.paths[{j}]");
            let kind = path["pathType"].as_str().unwrap_or_default();
            if !matches!(kind, "Exact" | "Prefix" | "ImplementationSpecific") {
                out.push(v(
                    format!("{pp}.pathType"),
                    "must be Exact, Prefix or ImplementationSpecific",
                ));
            }
            let value = path["path"].as_str().unwrap_or_default();
            if kind != "ImplementationSpecific" && !value.starts_with('/') {
                out.push(v(
                    format!("{pp}.path"),
                    format!("`{value}` must be an absolute path"),
                ));
            }
            let backend = &path["backend"]["service"];
            if !backend.is_null() {
                if !backend["name"].as_str().is_some_and(is_dns1035_label) {
                    out.push(v(
                        format!("{pp}.backend.service.name"),
                        "not a valid Service name",
                    ));
                }
                if !backend["port"]["number"].is_null() {
                    port_number(
                        &backend["port"]["number"],
                        &format!("{pp}.backend.service.port.number"),
                        false,
                        out,
                    );
                }
            }
        }
    }
}

fn autoscaler(spec: &Value, out: &mut Vec<Violation>) {
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if min < 1 {
        out.push(v("spec.minReplicas", "must be greater than or equal to 1"));
    }
    if max < min.max(1) {
        out.push(v(
            "spec.maxReplicas",
            "must be greater than or equal to minReplicas and 1",
        ));
    }
}

/// The ECS values in one input document that would make an object the apiserver rejects,
/// located by their path in the document: ports outside 1–65535, environment variable names
/// Kubernetes refuses, an unknown schedule time zone, a negative desired count.
pub fn check_input(doc: &Value) -> Vec<Violation> {
    let [api_version, services, spec, task_definition] =
        members(doc, ["apiVersion", "services", "spec", "taskDefinition"]);
    if api_version.is_none()
        && let Some(services) = or_null(services).as_array()
    {
        return services
            .iter()
            .enumerate()
            .flat_map(|(i, s)| check_body(&format!("services[{i}]."), s))
            .collect();
    }
    let (base, body) = if api_version.is_some() {
        ("spec.", or_null(spec))
    } else if let Some(td) = task_definition.filter(|td| td.is_object()) {
        ("taskDefinition.", td)
    } else {
        ("", doc)
    };
    check_body(base, body)
}

fn check_body(base: &str, body: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let [
        containers,
        time_zone,
        load_balancers,
        service_registries,
        desired_count,
    ] = members(
        body,
        [
            "containerDefinitions",
            "scheduleExpressionTimezone",
            "loadBalancers",
            "serviceRegistries",
            "desiredCount",
        ],
    );
    for (i, c) in elements(or_null(containers)) {
        container_input(c, &|| format!("{base}containerDefinitions[{i}]"), &mut out);
    }
    if let Some(tz) = or_null(time_zone).as_str()
        && !is_time_zone(tz)
    {
        out.push(v(
            format!("{base}scheduleExpressionTimezone"),
            format!("unknown time zone `{tz}` (an IANA time zone name)"),
        ));
    }
    let lists = [
        ("loadBalancers", load_balancers),
        ("serviceRegistries", service_registries),
    ];
    for (list, entries) in lists {
        for (i, entry) in elements(or_null(entries)) {
            for field in ["containerPort", "port"] {
                if entry[field].is_i64() {
                    ecs_port_number(
                        &entry[field],
                        &format!("{base}{list}[{i}].{field}"),
                        false,
                        &mut out,
                    );
                }
            }
        }
    }
    if or_null(desired_count).as_i64().is_some_and(|n| n < 0) {
        // The CRD's rule, in its words.
        out.push(v(
            format!("{base}desiredCount"),
            crate::api::rules::service::DESIRED_COUNT_NOT_NEGATIVE.message,
        ));
    }
    out
}

/// `p` writes the container's path (only for a violation).
fn container_input(c: &Value, p: &dyn Fn() -> String, out: &mut Vec<Violation>) {
    let mut port_names = Seen::default();
    let [port_mappings, environment] = members(c, ["portMappings", "environment"]);
    for (j, m) in elements(or_null(port_mappings)) {
        let [container_port, host_port, name] = members(m, ["containerPort", "hostPort", "name"]);
        let numbers = [
            ("containerPort", container_port, false),
            ("hostPort", host_port, true),
        ];
        for (field, n, zero_ok) in numbers {
            let n = or_null(n);
            // 0 (and negative numbers) are left out with a warning by the translation.
            if n.as_i64().is_some_and(|n| n > 65535) {
                ecs_port_number(
                    n,
                    &format!("{}.portMappings[{j}].{field}", p()),
                    zero_ok,
                    out,
                );
            }
        }
        if let Some(name) = or_null(name).as_str()
            && !port_names.insert(name)
        {
            out.push(v(
                format!("{}.portMappings[{j}].name", p()),
                format!("port mapping name `{name}` is used twice in this container"),
            ));
        }
    }
    for (k, e) in elements(or_null(environment)) {
        // Empty names are left out by the translation. (memory below memoryReservation is an
        // ECS rule of translate::validate, with the CRD's message.)
        if let Some(name) = e["name"].as_str().filter(|n| !n.is_empty())
            && !is_env_var_name(name)
        {
            out.push(v(format!("{}.environment[{k}].name", p()), format!("`{name}` is not a valid environment variable name in Kubernetes (printable ASCII, not '=')")));
        }
    }
}

/// [`check`] of an emitted object, on the typed object where it has pods (so that their JSON
/// is not built for the check): the same violations, in the same order, as [`check`] of its
/// JSON.
pub fn check_object(emitted: &Emitted) -> Vec<Violation> {
    let mut out = Vec::new();
    match emitted.object() {
        Object::PodTemplate(o) => {
            typed::metadata("PodTemplate", &o.metadata, &mut out);
            typed::template(o.template.as_ref(), "template", &mut out);
        }
        Object::Deployment(o) => {
            typed::metadata("Deployment", &o.metadata, &mut out);
            let spec = o.spec.as_ref();
            if spec.and_then(|s| s.replicas).is_some_and(|n| n < 0) {
                out.push(v("spec.replicas", "must be greater than or equal to 0"));
            }
            typed::template(spec.map(|s| &s.template), "spec.template", &mut out);
        }
        Object::DaemonSet(o) => {
            typed::metadata("DaemonSet", &o.metadata, &mut out);
            let template = o.spec.as_ref().map(|s| &s.template);
            typed::template(template, "spec.template", &mut out);
        }
        Object::Pod(o) => {
            typed::metadata("Pod", &o.metadata, &mut out);
            typed::pod_spec(o.spec.as_ref(), &|| "spec".to_string(), &mut out);
        }
        Object::CronJob(o) => {
            typed::metadata("CronJob", &o.metadata, &mut out);
            typed::cron_job(o.spec.as_ref(), &mut out);
        }
        _ => return check(emitted),
    }
    out
}

/// [`check`]'s rules on typed objects (see [`check_object`]).
mod typed {
    use super::*;
    use k8s_openapi::api::batch::v1::CronJobSpec;
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use std::collections::BTreeMap;

    pub(super) fn metadata(kind: &str, meta: &ObjectMeta, out: &mut Vec<Violation>) {
        if let Some(name) = meta.name.as_deref() {
            let ok = match kind {
                "CronJob" => is_dns_subdomain(name) && name.len() <= 52,
                _ => is_dns_subdomain(name),
            };
            if !ok {
                out.push(v(
                    "metadata.name",
                    format!("`{name}` is not a valid {kind} name (RFC 1123)"),
                ));
            }
        } else if meta.generate_name.is_none() {
            out.push(v("metadata.name", "name or generateName is required"));
        }
        labels(meta.labels.as_ref(), &|| "metadata.labels".to_string(), out);
    }

    fn labels(
        labels: Option<&BTreeMap<String, String>>,
        path: &dyn Fn() -> String,
        out: &mut Vec<Violation>,
    ) {
        for (k, val) in labels.into_iter().flatten() {
            if !is_label_key(k) {
                out.push(v(format!("{}.{k}", path()), "not a valid label key"));
            }
            if !is_label_value(val) {
                let val = Value::from(val.as_str());
                out.push(v(format!("{}.{k}", path()), format!("{val} is not a valid label value (at most 63 characters: alphanumerics, '-', '_' or '.', alphanumeric at both ends)")));
            }
        }
    }

    pub(super) fn cron_job(spec: Option<&CronJobSpec>, out: &mut Vec<Violation>) {
        if let Some(tz) = spec.and_then(|s| s.time_zone.as_deref())
            && !is_time_zone(tz)
        {
            out.push(v(
                "spec.timeZone",
                format!("unknown time zone `{tz}` (an IANA time zone name)"),
            ));
        }
        if spec.is_none_or(|s| s.schedule.trim().is_empty()) {
            out.push(v("spec.schedule", "required"));
        }
        let job = spec.and_then(|s| s.job_template.spec.as_ref());
        for (field, n) in [
            ("parallelism", job.and_then(|j| j.parallelism)),
            ("completions", job.and_then(|j| j.completions)),
            ("backoffLimit", job.and_then(|j| j.backoff_limit)),
        ] {
            if n.is_some_and(|n| n < 0) {
                out.push(v(
                    format!("spec.jobTemplate.spec.{field}"),
                    "must be greater than or equal to 0",
                ));
            }
        }
        template(
            job.map(|j| &j.template),
            "spec.jobTemplate.spec.template",
            out,
        );
    }

    pub(super) fn template(t: Option<&PodTemplateSpec>, path: &str, out: &mut Vec<Violation>) {
        let meta = t.and_then(|t| t.metadata.as_ref());
        labels(
            meta.and_then(|m| m.labels.as_ref()),
            &|| format!("{path}.metadata.labels"),
            out,
        );
        pod_spec(
            t.and_then(|t| t.spec.as_ref()),
            &|| format!("{path}.spec"),
            out,
        );
    }

    pub(super) fn pod_spec(
        spec: Option<&PodSpec>,
        path: &dyn Fn() -> String,
        out: &mut Vec<Violation>,
    ) {
        if spec.is_none_or(|s| s.containers.is_empty()) {
            out.push(v(
                format!("{}.containers", path()),
                "at least one container is required",
            ));
        }
        let Some(spec) = spec else { return };
        let mut volumes = Seen::default();
        for (i, vol) in spec.volumes.iter().flatten().enumerate() {
            let name = vol.name.as_str();
            if !is_dns_label(name) || !volumes.insert(name) {
                out.push(v(
                    format!("{}.volumes[{i}].name", path()),
                    format!("`{name}` is not a valid, unique volume name (RFC 1123 label)"),
                ));
            }
        }
        let mut names = Seen::default();
        let lists = [
            ("initContainers", spec.init_containers.as_deref()),
            ("containers", Some(spec.containers.as_slice())),
        ];
        for (list, containers) in lists {
            for (i, c) in containers.into_iter().flatten().enumerate() {
                let p = || format!("{}.{list}[{i}]", path());
                let name = c.name.as_str();
                if !is_dns_label(name) || !names.insert(name) {
                    out.push(v(
                        format!("{}.name", p()),
                        format!("`{name}` is not a valid, unique container name (RFC 1123 label)"),
                    ));
                }
                container(c, &p, &volumes, out);
            }
        }
    }

    fn container(
        c: &Container,
        path: &dyn Fn() -> String,
        volumes: &Seen<'_>,
        out: &mut Vec<Violation>,
    ) {
        let mut port_names = Seen::default();
        for (j, p) in c.ports.iter().flatten().enumerate() {
            let pp = || format!("{}.ports[{j}]", path());
            let numbers = [
                ("containerPort", Some(p.container_port), false),
                ("hostPort", p.host_port, true),
            ];
            for (field, n, zero_ok) in numbers {
                let ok = match n {
                    None => zero_ok,
                    Some(n) => (1..=65535).contains(&n) || (zero_ok && n == 0),
                };
                if !ok {
                    let n = n.map_or(Value::Null, Value::from);
                    out.push(v(
                        format!("{}.{field}", pp()),
                        format!("{n} must be between 1 and 65535, inclusive"),
                    ));
                }
            }
            if let Some(name) = p.name.as_deref()
                && (!is_port_name(name) || !port_names.insert(name))
            {
                out.push(v(format!("{}.name", pp()), format!("`{name}` is not a valid, unique port name (IANA service name: at most 15 lowercase alphanumerics or '-')")));
            }
        }
        for (k, e) in c.env.iter().flatten().enumerate() {
            let name = e.name.as_str();
            if !is_env_var_name(name) {
                out.push(v(
                    format!("{}.env[{k}].name", path()),
                    format!(
                        "`{name}` is not a valid environment variable name (printable ASCII, not '=')"
                    ),
                ));
            }
        }
        let mut mount_paths = Seen::default();
        for (k, m) in c.volume_mounts.iter().flatten().enumerate() {
            let name = m.name.as_str();
            if !volumes.contains(name) {
                out.push(v(
                    format!("{}.volumeMounts[{k}].name", path()),
                    format!("volume `{name}` not found"),
                ));
            }
            let mp = m.mount_path.as_str();
            if mp.is_empty() || !mount_paths.insert(mp) {
                out.push(v(
                    format!("{}.volumeMounts[{k}].mountPath", path()),
                    format!("`{mp}` must be non-empty and unique"),
                ));
            }
        }
        if let Some(r) = &c.resources {
            resources(r, &|| format!("{}.resources", path()), out);
        }
    }

    fn resources(r: &ResourceRequirements, path: &dyn Fn() -> String, out: &mut Vec<Violation>) {
        for (name, request) in r.requests.iter().flatten() {
            let limit = r.limits.as_ref().and_then(|l| l.get(name));
            let request = quantity(&request.0);
            if request.is_none_or(|q| q < 0.0) {
                out.push(v(
                    format!("{}.requests.{name}", path()),
                    "must be a non-negative quantity",
                ));
            }
            if let (Some(req), Some(lim)) = (request, limit.and_then(|l| quantity(&l.0)))
                && req > lim
            {
                let shown = Value::from(limit.map(|l| l.0.as_str()).unwrap_or_default());
                out.push(v(
                    format!("{}.requests.{name}", path()),
                    format!("must be less than or equal to {name} limit of {shown}"),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniqueness holds past the few names kept in place: a repeat is found wherever the first
    /// one was kept.
    #[test]
    fn a_repeated_name_is_found_in_a_long_list() {
        let names: Vec<String> = (0..40).map(|i| format!("n{i}")).collect();
        for first in [3, 20] {
            let mut seen = Seen::default();
            for n in &names {
                assert!(seen.insert(n), "{n}");
            }
            assert!(!seen.insert(&names[first]), "{first}");
            assert!(seen.contains(&names[first]) && !seen.contains("n40"));
        }
    }

    /// The byte classes are the rules' character sets.
    #[test]
    fn name_rules_by_byte_class() {
        for c in 0..=255u8 {
            let s = [b'a', c, b'a'];
            let s = std::str::from_utf8(&s).unwrap_or("a\u{0}a");
            let dns = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
            assert_eq!(is_dns_label(s), dns && c.is_ascii(), "{c}");
            let label = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
            assert_eq!(is_label_value(s), label && c.is_ascii(), "{c}");
        }
        assert!(!is_label_value("-a") && !is_label_value("a_") && is_label_value("A.b_c-D"));
    }

    /// The one-pass subdomain check is RFC 1123's: labels joined by `.`, at most 253 bytes.
    #[test]
    fn subdomains_are_labels_joined_by_dots() {
        let reference = |s: &str| s.len() <= 253 && s.split('.').all(is_dns_label);
        let long_label = "a".repeat(64);
        let long_name = ["a"; 127].join(".");
        let cases = [
            "",
            ".",
            "a",
            "a.",
            ".a",
            "a..b",
            "a.b",
            "a-b.c-d",
            "-a",
            "a-",
            "a.-b",
            "a-.b",
            "A",
            "a_b",
            "a/b",
            "0",
            "0.1",
            "é",
            long_label.as_str(),
            &long_label[1..],
            long_name.as_str(),
            &long_name[..251],
            "x.y.z.",
            "web-1.example.com",
        ];
        for s in cases {
            assert_eq!(is_dns_subdomain(s), reference(s), "{s:?}");
        }
        for key in [
            "a/b",
            "/b",
            "a/",
            "a.b/c_d",
            "A/b",
            "a//b",
            "x",
            "ecs.tidewater.dev/family",
        ] {
            let (prefix, name) = match key.rsplit_once('/') {
                Some((p, n)) => (Some(p), n),
                None => (None, key),
            };
            let reference =
                prefix.is_none_or(reference) && !name.is_empty() && is_label_value(name);
            assert_eq!(is_label_key(key), reference, "{key:?}");
        }
    }
    use serde_json::json;

    #[test]
    fn a_deployment_the_apiserver_rejects_lists_every_reason() {
        let d = json!({
            "kind": "Deployment",
            "metadata": {"name": "Web_1", "labels": {"app": "-bad"}},
            "spec": {"replicas": -1, "template": {"spec": {"containers": [{
                "name": "web",
                "ports": [{"containerPort": 70000, "name": "http"}, {"containerPort": 81, "name": "http"}],
                "env": [{"name": "A=B"}],
                "resources": {"requests": {"memory": "512Mi"}, "limits": {"memory": "128Mi"}}
            }]}}}
        });
        let p = "spec.template.spec.containers[0]";
        let paths: Vec<String> = check(&d).into_iter().map(|v| v.path).collect();
        assert_eq!(
            paths,
            vec![
                "metadata.name".to_string(),
                "metadata.labels.app".into(),
                "spec.replicas".into(),
                format!("{p}.ports[0].containerPort"),
                format!("{p}.ports[1].name"),
                format!("{p}.env[0].name"),
                format!("{p}.resources.requests.memory"),
            ]
        );
    }

    #[test]
    fn services_cron_jobs_and_ingresses_follow_their_rules() {
        let svc = json!({"kind": "Service", "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}, {"port": 80}]}});
        let paths: Vec<String> = check(&svc).into_iter().map(|v| v.path).collect();
        assert_eq!(
            paths,
            vec![
                "metadata.name",
                "spec.ports[0].name",
                "spec.ports[1].name",
                "spec.ports[1].port"
            ]
        );
        let cron = json!({"kind": "CronJob", "metadata": {"name": "job"}, "spec": {"schedule": "* * * * *", "timeZone": "Mars/Olympus", "jobTemplate": {"spec": {"template": {"spec": {"containers": []}}}}}});
        let paths: Vec<String> = check(&cron).into_iter().map(|v| v.path).collect();
        assert_eq!(
            paths,
            vec![
                "spec.timeZone",
                "spec.jobTemplate.spec.template.spec.containers"
            ]
        );
        let ing = json!({"kind": "Ingress", "metadata": {"name": "web"}, "spec": {"rules": [{"host": "10.0.0.1", "http": {"paths": [{"path": "api", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 0}}}}]}}]}});
        let paths: Vec<String> = check(&ing).into_iter().map(|v| v.path).collect();
        assert_eq!(
            paths,
            vec![
                "spec.rules[0].host",
                "spec.rules[0].http.paths[0].path",
                "spec.rules[0].http.paths[0].backend.service.port.number"
            ]
        );
    }

    #[test]
    fn ecs_values_that_would_break_an_object_are_found_at_their_ecs_path() {
        let td = json!({"containerDefinitions": [{"name": "a", "memory": 128, "memoryReservation": 256,
            "portMappings": [{"containerPort": 70000}], "environment": [{"name": "A=B"}, {"name": ""}]}]});
        let out = check_input(&td);
        let paths: Vec<&str> = out.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "containerDefinitions[0].portMappings[0].containerPort",
                "containerDefinitions[0].environment[0].name",
            ]
        );
        let svcs = json!({"services": [{"desiredCount": 1}, {"desiredCount": -1}]});
        assert_eq!(
            check_input(&svcs),
            vec![v(
                "services[1].desiredCount",
                "desiredCount: must be 0 or more"
            )]
        );
    }

    /// The typed object `value` is (with its `apiVersion` and `kind`), as render emits it.
    fn typed_object(value: &Value) -> Emitted {
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
        use k8s_openapi::api::batch::v1::CronJob;
        use k8s_openapi::api::core::v1::{Pod, PodTemplate};
        let v = value.clone();
        let object = match value["kind"].as_str() {
            Some("Deployment") => {
                Object::Deployment(serde_json::from_value::<Deployment>(v).unwrap())
            }
            Some("DaemonSet") => Object::DaemonSet(serde_json::from_value::<DaemonSet>(v).unwrap()),
            Some("PodTemplate") => {
                Object::PodTemplate(serde_json::from_value::<PodTemplate>(v).unwrap())
            }
            Some("Pod") => Object::Pod(serde_json::from_value::<Pod>(v).unwrap()),
            Some("CronJob") => Object::CronJob(serde_json::from_value::<CronJob>(v).unwrap()),
            _ => Object::Other(v),
        };
        Emitted::from(object)
    }

    #[test]
    fn the_typed_check_finds_what_the_check_of_the_json_finds() {
        let pod = json!({
            "volumes": [{"name": "data", "emptyDir": {}}, {"name": "data", "emptyDir": {}}, {"name": "Bad_Vol", "emptyDir": {}}],
            "initContainers": [{"name": "web", "image": "i", "ports": [{"containerPort": 0, "hostPort": 70000, "name": "Not A Name"}]}],
            "containers": [{
                "name": "web", "image": "i",
                "ports": [{"containerPort": 70000, "name": "http"}, {"containerPort": 81, "name": "http", "hostPort": 0}, {"containerPort": -1, "hostPort": -5}],
                "env": [{"name": "A=B"}, {"name": "ok"}, {"name": ""}],
                "volumeMounts": [{"name": "nope", "mountPath": "/a"}, {"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": ""}],
                "resources": {"requests": {"memory": "512Mi", "cpu": "-1", "x": "lots"}, "limits": {"memory": "128Mi", "cpu": "1"}}
            }, {"name": "Web_2", "image": "i", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1500m"}}}]
        });
        let labels = json!({"app": "-bad", "bad key!": "ok", "fine": "", "long": "x".repeat(64)});
        let template = json!({"metadata": {"labels": labels}, "spec": pod});
        let cases = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "Web_1", "labels": labels},
                "spec": {"replicas": -1, "selector": {}, "template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generateName": "web-"},
                "spec": {"replicas": 2, "selector": {}, "template": {}}}),
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "a.b.c"},
                "spec": {"selector": {}, "template": template}}),
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "-x", "labels": labels}, "template": template}),
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": {"containers": []}}}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod}),
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "x".repeat(53)},
                "spec": {"schedule": " ", "timeZone": "Mars/Olympus", "jobTemplate": {"spec": {
                    "parallelism": -1, "completions": -2, "backoffLimit": -3, "template": template}}}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "job"},
                "spec": {"schedule": "* * * * *", "timeZone": "Europe/Paris", "jobTemplate": {}}}),
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "job"}}),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}, {"port": 80}]}}),
        ];
        for case in &cases {
            let emitted = typed_object(case);
            // Every case breaks a rule.
            assert!(!check_object(&emitted).is_empty(), "{case}");
            assert_eq!(
                check_object(&emitted),
                check(&emitted.object().to_value()),
                "{case}"
            );
        }
        // The cases break the rules they are meant to.
        let found = check_object(&typed_object(&cases[0]));
        assert!(found.len() > 20, "{found:?}");
    }

    #[test]
    fn names_and_quantities() {
        assert!(is_env_var_name("my.var-1 x") && !is_env_var_name("A=B") && !is_env_var_name(""));
        assert!(is_port_name("http-2") && !is_port_name("8080") && !is_port_name("a--b"));
        assert!(is_time_zone("Europe/Paris") && !is_time_zone("Local"));
        assert_eq!(quantity("1Gi"), Some(1073741824.0));
        assert_eq!(quantity("500m"), Some(0.5));
    }
}
