//! `tidewater ecs-api`: the Amazon ECS JSON 1.1 API served over the Tidewater custom resources.
//!
//! The flow of one request: [`server`] reads it (size limit, `X-Amz-Target`), [`auth`] checks its
//! SigV4 signature against an access-key Secret and yields a [`Caller`] (one namespace, one
//! impersonated Kubernetes identity), [`ops::dispatch`] turns the operation into reads and
//! writes of the custom resources, and the answer goes back in the ECS output shape, or as an
//! [`ApiError`] with `__type` and `message` as the AWS SDKs parse them.
//!
//! The custom resources are the only store: what the AWS CLI sees is what `kubectl get ecs`
//! shows.

pub mod auth;
pub mod error;
pub mod ops;
pub mod server;
#[cfg(test)]
pub(crate) mod testing;

pub use error::ApiError;
pub use server::{Args, main};

/// Who is calling, once the signature checked out: everything an operation may touch.
#[derive(Clone)]
pub struct Caller {
    /// The namespace the access key serves (an ECS account and region live in one namespace).
    pub namespace: String,
    /// The region from the request's SigV4 credential scope; used in the ARNs returned.
    pub region: String,
    /// The account id used in ARNs (`--account-id`).
    pub account_id: String,
    /// The access key id that signed the request (for audit lines).
    pub access_key_id: String,
    /// A Kubernetes client impersonating the key's ServiceAccount: Kubernetes RBAC decides what
    /// the key may do.
    pub client: kube::Client,
}
