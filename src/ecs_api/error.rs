//! The errors of the ECS API, as the AWS SDKs parse them: a JSON body with `__type` and
//! `message`, and an HTTP status (400 for client errors, 500 for server errors).

/// An ECS API error. The variant names are ECS's exception names; `type_name` is `__type`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong as a whole (ECS's `ClientException`).
    #[error("{0}")]
    Client(String),
    /// A parameter is invalid (ECS's `InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
    /// The named cluster does not exist.
    #[error("{0}")]
    ClusterNotFound(String),
    /// The named service does not exist.
    #[error("{0}")]
    ServiceNotFound(String),
    /// The named service exists but is not ACTIVE.
    #[error("{0}")]
    ServiceNotActive(String),
    /// DeleteCluster on a cluster with services, with tasks, or a resource that does not exist
    /// (`ClusterContainsServicesException`, `ClusterContainsTasksException`,
    /// `ResourceNotFoundException`): the `__type` is carried.
    #[error("{1}")]
    Named(&'static str, String),
    /// The caller's identity may not do this (Kubernetes RBAC refused, or another namespace).
    #[error("{0}")]
    AccessDenied(String),
    /// The access key is unknown.
    #[error("{0}")]
    UnrecognizedClient(String),
    /// The signature does not match, or the request is expired or replayed.
    #[error("{0}")]
    InvalidSignature(String),
    /// The request carries no `Authorization` header (AWS's `MissingAuthenticationTokenException`).
    #[error("{0}")]
    MissingAuthenticationToken(String),
    /// The `Authorization` header is malformed (AWS's `IncompleteSignatureException`).
    #[error("{0}")]
    IncompleteSignature(String),
    /// The body is not valid JSON (the JSON protocol's `SerializationException`).
    #[error("{0}")]
    Serialization(String),
    /// The body exceeds the request size limit: a `ClientException` with HTTP status 413.
    #[error("{0}")]
    RequestTooLarge(String),
    /// The operation is not one this server implements.
    #[error("{0}")]
    UnknownOperation(String),
    /// Something failed on our side (ECS's `ServerException`).
    #[error("{0}")]
    Server(String),
}

impl ApiError {
    /// The `__type` the SDKs map to an exception class.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Client(_) => "ClientException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::ClusterNotFound(_) => "ClusterNotFoundException",
            Self::ServiceNotFound(_) => "ServiceNotFoundException",
            Self::ServiceNotActive(_) => "ServiceNotActiveException",
            Self::Named(type_name, _) => type_name,
            Self::AccessDenied(_) => "AccessDeniedException",
            Self::UnrecognizedClient(_) => "UnrecognizedClientException",
            Self::InvalidSignature(_) => "InvalidSignatureException",
            Self::MissingAuthenticationToken(_) => "MissingAuthenticationTokenException",
            Self::IncompleteSignature(_) => "IncompleteSignatureException",
            Self::Serialization(_) => "SerializationException",
            Self::RequestTooLarge(_) => "ClientException",
            Self::UnknownOperation(_) => "UnknownOperationException",
            Self::Server(_) => "ServerException",
        }
    }

    /// The HTTP status of the response.
    pub fn status(&self) -> u16 {
        match self {
            Self::Server(_) => 500,
            Self::RequestTooLarge(_) => 413,
            _ => 400,
        }
    }

    /// The response body: `{"__type": ..., "message": ...}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"__type": self.type_name(), "message": self.to_string()})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_is_a_client_exception_with_status_413() {
        let e = ApiError::RequestTooLarge("too big".into());
        assert_eq!(
            (e.status(), e.body()),
            (
                413,
                serde_json::json!({"__type": "ClientException", "message": "too big"})
            )
        );
    }
}
