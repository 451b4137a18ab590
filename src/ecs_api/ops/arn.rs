//! ECS ARNs: `arn:aws:ecs:<region>:<account>:<kind>/<rest>`, formatted for the caller's region
//! and account, and read back from what clients send (a name or an ARN wherever ECS accepts
//! either). An ARN of another region is `InvalidParameterException: Invalid Region in ARN`, one
//! of another account `Invalid identifier: Identifier is for <account>. Your accountId is
//! <account>`, as ECS answers.

use super::super::{ApiError, Caller};

/// The region and account ARNs are written for (the caller's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// Region, from the request's SigV4 credential scope.
    pub region: String,
    /// Account id.
    pub account: String,
}

impl Scope {
    /// The caller's scope.
    pub fn of(caller: &Caller) -> Scope {
        Scope {
            region: caller.region.clone(),
            account: caller.account_id.clone(),
        }
    }

    fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{resource}", self.region, self.account)
    }

    /// `…:cluster/<name>`.
    pub fn cluster(&self, name: &str) -> String {
        self.arn(&format!("cluster/{name}"))
    }

    /// `…:service/<cluster>/<name>`.
    pub fn service(&self, cluster: &str, name: &str) -> String {
        self.arn(&format!("service/{cluster}/{name}"))
    }

    /// `…:task-definition/<family>:<revision>`.
    pub fn task_definition(&self, family: &str, revision: i64) -> String {
        self.arn(&format!("task-definition/{family}:{revision}"))
    }

    /// `…:task/<cluster>/<id>`.
    pub fn task(&self, cluster: &str, id: &str) -> String {
        self.arn(&format!("task/{cluster}/{id}"))
    }

    /// Reads `value` as an ARN of this scope: `Ok(None)` when it is no ARN (a plain name),
    /// `Ok(Some((kind, rest)))` for `arn:<partition>:ecs:<region>:<account>:<kind>/<rest>`.
    pub fn read<'a>(&self, value: &'a str) -> Result<Option<(&'a str, &'a str)>, ApiError> {
        if !value.starts_with("arn:") {
            return Ok(None);
        }
        let parts: Vec<&str> = value.splitn(6, ':').collect();
        let [_, _partition, service, region, account, resource] = parts[..] else {
            return Err(invalid_identifier(value));
        };
        if service != "ecs" {
            return Err(invalid_identifier(value));
        }
        if region != self.region {
            return Err(ApiError::InvalidParameter("Invalid Region in ARN".into()));
        }
        if account != self.account {
            return Err(ApiError::InvalidParameter(format!(
                "Invalid identifier: Identifier is for {account}. Your accountId is {}",
                self.account
            )));
        }
        let (kind, rest) = resource
            .split_once('/')
            .ok_or_else(|| invalid_identifier(value))?;
        Ok(Some((kind, rest)))
    }

    /// A cluster name or ARN → the name (`None`/empty → `default`).
    pub fn cluster_name(&self, value: Option<&str>) -> Result<String, ApiError> {
        let value = value.filter(|v| !v.is_empty()).unwrap_or(DEFAULT_CLUSTER);
        match self.read(value)? {
            Some(("cluster", name)) => Ok(name.to_string()),
            Some(_) => Err(invalid_identifier(value)),
            None => Ok(value.to_string()),
        }
    }

    /// A service name or ARN (in `cluster`) → the name. An ARN of another cluster is refused
    /// as ECS does.
    pub fn service_name(&self, cluster: &str, value: &str) -> Result<String, ApiError> {
        match self.read(value)? {
            Some(("service", rest)) => match rest.split_once('/') {
                Some((c, name)) if c == cluster => Ok(name.to_string()),
                Some((c, _)) => Err(ApiError::InvalidParameter(format!(
                    "Invalid identifier: Identifier is for cluster {c}. Your cluster is {cluster}"
                ))),
                // The old ARN format (`service/<name>`).
                None => Ok(rest.to_string()),
            },
            Some(_) => Err(invalid_identifier(value)),
            None if value.contains('/') => Err(ApiError::InvalidParameter(
                "Service contains invalid separators".into(),
            )),
            None => Ok(value.to_string()),
        }
    }

    /// A task id or ARN (in `cluster`) → the id.
    pub fn task_id(&self, cluster: &str, value: &str) -> Result<String, ApiError> {
        match self.read(value)? {
            Some(("task", rest)) => match rest.split_once('/') {
                Some((c, id)) if c == cluster => Ok(id.to_string()),
                Some((c, _)) => Err(ApiError::InvalidParameter(format!(
                    "Invalid identifier: Identifier is for cluster {c}. Your cluster is {cluster}"
                ))),
                None => Ok(rest.to_string()),
            },
            Some(_) => Err(invalid_identifier(value)),
            None => Ok(value.to_string()),
        }
    }

    /// A task definition `family`, `family:revision` or ARN → (family, revision).
    pub fn task_definition_ref(&self, value: &str) -> Result<(String, Option<i64>), ApiError> {
        let plain = match self.read(value)? {
            Some(("task-definition", rest)) => rest,
            Some(_) => return Err(invalid_identifier(value)),
            None => value,
        };
        match plain.split_once(':') {
            Some((family, n)) => match n.parse::<i64>() {
                Ok(n) if n > 0 => Ok((family.to_string(), Some(n))),
                _ => Err(ApiError::Client(
                    "Invalid revision number. Number: ".to_string() + n,
                )),
            },
            None => Ok((plain.to_string(), None)),
        }
    }
}

/// The cluster used when a request names none.
pub const DEFAULT_CLUSTER: &str = "default";

fn invalid_identifier(value: &str) -> ApiError {
    ApiError::InvalidParameter(format!("Invalid identifier: {value}"))
}

/// A resource a tagging operation names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tagged {
    /// A cluster.
    Cluster(String),
    /// A service of a cluster.
    Service {
        /// Cluster name.
        cluster: String,
        /// Service name.
        name: String,
    },
    /// One task definition revision.
    TaskDefinition {
        /// Family.
        family: String,
        /// Revision.
        revision: i64,
    },
    /// A task of a cluster.
    Task {
        /// Cluster name.
        cluster: String,
        /// Task id.
        id: String,
    },
}

impl Scope {
    /// The resource `resourceArn` names. ECS accepts only the long ARN format here.
    pub fn tagged(&self, arn: &str) -> Result<Tagged, ApiError> {
        let long_only = || {
            ApiError::InvalidParameter("Long arn format must be used for tagging operations".into())
        };
        let Some((kind, rest)) = self.read(arn)? else {
            return Err(invalid_identifier(arn));
        };
        match kind {
            "cluster" => Ok(Tagged::Cluster(rest.to_string())),
            "service" => {
                let (cluster, name) = rest.split_once('/').ok_or_else(long_only)?;
                Ok(Tagged::Service {
                    cluster: cluster.into(),
                    name: name.into(),
                })
            }
            "task" => {
                let (cluster, id) = rest.split_once('/').ok_or_else(long_only)?;
                Ok(Tagged::Task {
                    cluster: cluster.into(),
                    id: id.into(),
                })
            }
            "task-definition" => match self.task_definition_ref(rest)? {
                (family, Some(revision)) => Ok(Tagged::TaskDefinition { family, revision }),
                _ => Err(invalid_identifier(arn)),
            },
            _ => Err(invalid_identifier(arn)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
        }
    }

    /// "arn:aws:ecs:region:aws_account_id:service/cluster-name/service-name" (ECS developer
    /// guide, Amazon Resource Names: the new, long ARN format).
    #[test]
    fn arns_are_written_in_the_long_format() {
        let s = scope();
        assert_eq!(
            s.cluster("default"),
            "arn:aws:ecs:eu-west-1:123456789012:cluster/default"
        );
        assert_eq!(
            s.service("prod", "web"),
            "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
        );
        assert_eq!(
            s.task_definition("web", 3),
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3"
        );
        assert_eq!(
            s.task("prod", "abc-0"),
            "arn:aws:ecs:eu-west-1:123456789012:task/prod/abc-0"
        );
    }

    #[test]
    fn names_and_arns_are_read_back() {
        let s = scope();
        assert_eq!(s.cluster_name(None).unwrap(), "default");
        assert_eq!(s.cluster_name(Some("")).unwrap(), "default");
        assert_eq!(s.cluster_name(Some(&s.cluster("prod"))).unwrap(), "prod");
        assert_eq!(
            s.service_name("prod", &s.service("prod", "web")).unwrap(),
            "web"
        );
        assert_eq!(s.service_name("prod", "web").unwrap(), "web");
        assert_eq!(s.task_id("prod", &s.task("prod", "t-0")).unwrap(), "t-0");
        assert_eq!(
            s.task_definition_ref(&s.task_definition("web", 4)).unwrap(),
            ("web".into(), Some(4))
        );
        assert_eq!(s.task_definition_ref("web").unwrap(), ("web".into(), None));
        assert_eq!(
            s.tagged(&s.service("prod", "web")).unwrap(),
            Tagged::Service {
                cluster: "prod".into(),
                name: "web".into()
            }
        );
    }

    #[test]
    fn foreign_arns_are_refused_as_ecs_refuses_them() {
        let s = scope();
        let other_region = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
        let other_account = "arn:aws:ecs:eu-west-1:999999999999:cluster/prod";
        let msg = |r: Result<String, ApiError>| {
            let e = r.unwrap_err();
            (e.type_name(), e.to_string())
        };
        assert_eq!(
            msg(s.cluster_name(Some(other_region))),
            ("InvalidParameterException", "Invalid Region in ARN".into())
        );
        assert_eq!(
            msg(s.cluster_name(Some(other_account))),
            (
                "InvalidParameterException",
                "Invalid identifier: Identifier is for 999999999999. Your accountId is 123456789012"
                    .into()
            )
        );
        assert_eq!(
            msg(s.service_name("prod", &s.service("test", "web"))),
            (
                "InvalidParameterException",
                "Invalid identifier: Identifier is for cluster test. Your cluster is prod".into()
            )
        );
        assert_eq!(
            msg(s.service_name("prod", "prod/web")),
            (
                "InvalidParameterException",
                "Service contains invalid separators".into()
            )
        );
        assert!(
            s.tagged("arn:aws:ecs:eu-west-1:123456789012:service/web")
                .is_err()
        );
    }
}
