//! References between ECS resources, each read by one parser: task definitions (`family`,
//! `family:revision` or `arn:aws:ecs:REGION:ACCOUNT:task-definition/family:revision`), clusters
//! (a name or `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME`; none means `default`) and the ECS
//! service IDs of Application Auto Scaling (`service/CLUSTER/SERVICE`). `render`, `import` and
//! the operator all read references here.

/// The cluster a workload runs in when it names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// A task definition reference: a family, optionally pinned to one revision.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskDefinitionRef {
    /// The family.
    pub family: String,
    /// The revision; `None` means the latest ACTIVE revision.
    pub revision: Option<i64>,
}

impl TaskDefinitionRef {
    /// Read `family`, `family:revision` or a task definition ARN. A family has no `:` ("Up to
    /// 255 letters (uppercase and lowercase), numbers, underscores, and hyphens are allowed"),
    /// so what follows the first `:` is the revision; one that is not a number (`web:latest`)
    /// names none, i.e. the latest ACTIVE revision.
    pub fn parse(value: &str) -> TaskDefinitionRef {
        let r = without_arn(value);
        match r.split_once(':') {
            Some((family, n)) => TaskDefinitionRef {
                family: family.to_string(),
                revision: n.parse::<i64>().ok(),
            },
            None => TaskDefinitionRef {
                family: r,
                revision: None,
            },
        }
    }
}

impl std::fmt::Display for TaskDefinitionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.revision {
            Some(n) => write!(f, "{}:{n}", self.family),
            None => f.write_str(&self.family),
        }
    }
}

/// `arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REV` → `FAMILY:REV`; other values
/// unchanged. The form Tidewater manifests name task definitions in.
pub fn without_arn(value: &str) -> String {
    match value.split_once(":task-definition/") {
        Some((_, rest)) if value.starts_with("arn:") => rest.to_string(),
        _ => value.to_string(),
    }
}

/// `arn:aws:ecs:REGION:ACCOUNT:cluster/NAME` → `NAME`; a name unchanged (empty stays empty).
pub fn cluster_name(value: &str) -> String {
    if value.starts_with("arn:") {
        value.rsplit('/').next().unwrap_or(value).to_string()
    } else {
        value.to_string()
    }
}

/// The name of the cluster a workload's `cluster` member names: the name of an ARN, the value
/// itself, [`DEFAULT_CLUSTER`] when absent or empty.
pub fn cluster_of(cluster: Option<&str>) -> String {
    cluster
        .filter(|c| !c.is_empty())
        .map(cluster_name)
        .unwrap_or_else(|| DEFAULT_CLUSTER.to_string())
}

/// Whether a Cluster resource (`metadata.name`, `spec.clusterName`) is the cluster `name`
/// (as [`cluster_of`] gives it).
pub fn is_cluster(name: &str, object_name: &str, cluster_name: Option<&str>) -> bool {
    object_name == name || cluster_name == Some(name)
}

/// The Cluster resource `name` (as [`cluster_of`] gives it) designates among `candidates`
/// (`metadata.name`, `spec.clusterName`, value): the one of that object name, else the first
/// whose `clusterName` it is.
pub fn pick_cluster<'a, T>(
    name: &str,
    candidates: impl IntoIterator<Item = (&'a str, Option<&'a str>, T)>,
) -> Option<T> {
    let mut by_cluster_name = None;
    for (object_name, cluster_name, value) in candidates {
        if object_name == name {
            return Some(value);
        }
        if by_cluster_name.is_none() && cluster_name == Some(name) {
            by_cluster_name = Some(value);
        }
    }
    by_cluster_name
}

/// The ECS service name of an Application Auto Scaling resource ID `service/CLUSTER/SERVICE`.
pub fn service_of(resource_id: &str) -> Option<String> {
    let rest = resource_id.strip_prefix("service/")?;
    rest.rsplit('/').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn td(family: &str, revision: Option<i64>) -> TaskDefinitionRef {
        TaskDefinitionRef {
            family: family.into(),
            revision,
        }
    }

    /// "The family and revision (family:revision) or full ARN of the task definition to run. If
    /// a revision isn't specified, the latest ACTIVE revision is used." (RunTask taskDefinition)
    #[test]
    fn task_definition_references_parse() {
        assert_eq!(TaskDefinitionRef::parse("web"), td("web", None));
        assert_eq!(TaskDefinitionRef::parse("web:3"), td("web", Some(3)));
        assert_eq!(
            TaskDefinitionRef::parse("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
            td("web", Some(7))
        );
        assert_eq!(TaskDefinitionRef::parse("web:latest"), td("web", None));
        assert_eq!(TaskDefinitionRef::parse("web:7").to_string(), "web:7");
        assert_eq!(
            without_arn("arn:aws:ecs:us-east-1:1:task-definition/web:7"),
            "web:7"
        );
        assert_eq!(without_arn("web"), "web");
    }

    /// "The short name or full Amazon Resource Name (ARN) of the cluster ... If you do not
    /// specify a cluster, the default cluster is assumed." (CreateService cluster)
    #[test]
    fn cluster_references_parse() {
        assert_eq!(cluster_of(None), "default");
        assert_eq!(cluster_of(Some("")), "default");
        assert_eq!(cluster_of(Some("prod")), "prod");
        assert_eq!(
            cluster_of(Some("arn:aws:ecs:us-east-1:1:cluster/prod")),
            "prod"
        );
        assert_eq!(cluster_name(""), "");
        let candidates = [("a", Some("prod"), 1), ("prod", None, 2)];
        assert_eq!(pick_cluster("prod", candidates), Some(2));
        assert_eq!(pick_cluster("prod", [("a", Some("prod"), 1)]), Some(1));
        assert_eq!(pick_cluster("x", [("a", Some("prod"), 1)]), None);
        assert!(is_cluster("prod", "a", Some("prod")));
        assert!(!is_cluster("prod", "a", None));
    }

    #[test]
    fn service_ids() {
        assert_eq!(service_of("service/prod/web"), Some("web".into()));
        assert_eq!(service_of("table/t"), None);
    }
}
