//! Task roles → ServiceAccounts (IRSA annotation; EKS Pod Identity associates the same account).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// The IRSA annotation.
pub const ROLE_ARN: &str = "eks.amazonaws.com/role-arn";

/// The role a task's containers assume: RunTask's `overrides.taskRoleArn` when given and not
/// empty, else the task definition's `taskRoleArn`; none when that is empty too. The Cluster
/// policy checks this role, and the ServiceAccount carries it.
pub fn task_role<'a>(
    override_role: Option<&'a str>,
    task_definition_role: Option<&'a str>,
) -> Option<&'a str> {
    override_role
        .filter(|r| !r.is_empty())
        .or(task_definition_role)
        .filter(|r| !r.is_empty())
}

/// The ServiceAccount for a workload whose tasks assume `role_arn`.
pub fn service_account(
    name: &str,
    role_arn: &str,
    labels: &BTreeMap<String, String>,
) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(labels.clone()),
            annotations: Some(BTreeMap::from([(
                ROLE_ARN.to_string(),
                role_arn.to_string(),
            )])),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}
