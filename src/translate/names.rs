//! Kubernetes names derived from ECS names, deterministically and without collisions.
//!
//! The rule: an ECS name that is already a valid DNS-1123 label is used unchanged. Any other
//! name is lowercased, every run of characters outside `[a-z0-9]` becomes `-`, it is trimmed to
//! fit, and a `-` plus six hex digits of a hash of the *original* name is appended. Two
//! different ECS names therefore never map to the same Kubernetes name, and the same ECS name
//! always maps to the same one.

/// FNV-1a, 32 bit: small, stable across platforms and releases.
pub fn stable_hash(text: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn squash(raw: &str) -> String {
    let mut out = String::new();
    for c in raw.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

fn fit(raw: &str, max: usize, fallback: &str) -> String {
    if is_dns_label(raw, max) {
        return raw.to_string();
    }
    let suffix = format!("{:06x}", stable_hash(raw) & 0x00ff_ffff);
    let mut base = squash(raw);
    if base.is_empty() {
        base = fallback.to_string();
    }
    base.truncate(max - suffix.len() - 1);
    let base = base.trim_end_matches('-');
    format!("{base}-{suffix}")
}

/// A DNS-1123 label (63 characters): names of Deployments, Services, containers, volumes.
pub fn dns_label(raw: &str) -> String {
    fit(raw, 63, "x")
}

/// A DNS-1035 label (a DNS-1123 label starting with a letter), as Kubernetes needs for Service
/// names: a name starting with a digit gets the prefix `s-`.
pub fn dns1035_label(raw: &str) -> String {
    let name = dns_label(raw);
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        dns_label(&format!("s-{name}"))
    } else {
        name
    }
}

/// A DNS-1123 label of at most `max` characters, for names that get suffixes appended.
pub fn dns_label_max(raw: &str, max: usize) -> String {
    fit(raw, max.clamp(8, 63), "x")
}

/// A DNS-1123 subdomain (253 characters, dots allowed): Secret and ConfigMap names.
pub fn dns_subdomain(raw: &str) -> String {
    let ok =
        !raw.is_empty() && raw.len() <= 253 && raw.split('.').all(|part| is_dns_label(part, 63));
    if ok { raw.to_string() } else { dns_label(raw) }
}

/// A port name (IANA service name: 15 characters, at least one letter).
pub fn port_name(raw: &str) -> String {
    let ok =
        is_dns_label(raw, 15) && raw.bytes().any(|b| b.is_ascii_lowercase()) && !raw.contains("--");
    if ok {
        return raw.to_string();
    }
    let suffix = format!("{:04x}", stable_hash(raw) & 0xffff);
    let mut base = squash(raw).replace("--", "-");
    base.truncate(10);
    let base = base.trim_end_matches('-');
    if base.is_empty() {
        format!("p-{suffix}")
    } else {
        format!("{base}-{suffix}")
    }
}

/// A label value (63 characters of `[A-Za-z0-9_.-]`, alphanumeric at both ends), or `None`
/// when the text cannot be one without losing information.
pub fn label_value(raw: &str) -> Option<String> {
    let ok = raw.len() <= 63
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && raw.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
        && raw.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric());
    ok.then(|| raw.to_string())
}

/// Whether `key` is a valid label or annotation key (`[prefix/]name`).
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let prefix_ok =
        prefix.is_none_or(|p| p.len() <= 253 && p.split('.').all(|part| is_dns_label(part, 63)));
    name_ok && prefix_ok
}

/// The name of a Kubernetes object derived from a workload name and a role (`web` + `sa`).
pub fn child(workload: &str, role: &str) -> String {
    dns_label(&format!("{workload}-{role}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_are_kept() {
        assert_eq!(dns_label("web"), "web");
        assert_eq!(dns_label("web-2"), "web-2");
    }

    #[test]
    fn invalid_names_are_sanitised_with_a_hash() {
        let a = dns_label("My_App");
        assert!(a.starts_with("my-app-"), "{a}");
        assert_eq!(a.len(), "my-app-".len() + 6);
        assert_eq!(a, dns_label("My_App"), "deterministic");
        assert_ne!(dns_label("my_app"), dns_label("my.app"), "collision-free");
        assert_ne!(dns_label("Web"), dns_label("web"));
    }

    #[test]
    fn long_names_fit() {
        let long = "a".repeat(100);
        let n = dns_label(&long);
        assert!(n.len() <= 63);
        assert!(is_dns_label(&n, 63));
        assert_eq!(dns_label_max(&long, 40).len(), 40);
    }

    #[test]
    fn empty_and_symbol_only_names() {
        assert!(dns_label("").starts_with("x-"));
        assert!(dns_label("___").starts_with("x-"));
    }

    #[test]
    fn port_names() {
        assert_eq!(port_name("http"), "http");
        let p = port_name("nginx-80-tcp-very-long");
        assert!(p.len() <= 15, "{p}");
        assert_ne!(port_name("8080"), "8080", "needs a letter");
    }

    #[test]
    fn subdomains_and_labels() {
        assert_eq!(dns_subdomain("prod.db"), "prod.db");
        assert!(dns_subdomain("prod/db").starts_with("prod-db-"));
        assert_eq!(label_value("v1.2"), Some("v1.2".into()));
        assert_eq!(label_value("has space"), None);
        assert!(is_qualified_name("com.datadoghq.ad.check_names"));
        assert!(is_qualified_name("example.com/team"));
        assert!(!is_qualified_name("bad key"));
    }
}
