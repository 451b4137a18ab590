//! The ECS operations: each turns one request body into reads and writes of the Tidewater
//! custom resources in the caller's namespace, through the caller's impersonated client, and
//! answers in the ECS output shape.

use serde_json::Value;

use super::{ApiError, Caller};

/// Run `operation` (the part of `X-Amz-Target` after `AmazonEC2ContainerServiceV20141113.`).
pub async fn dispatch(caller: &Caller, operation: &str, body: Value) -> Result<Value, ApiError> {
    let _ = (caller, body);
    Err(ApiError::UnknownOperation(format!(
        "operation {operation} is not supported by Tidewater's ECS API"
    )))
}
