//! Request authentication: SigV4 signatures checked against access keys kept in Kubernetes
//! Secrets of type `ecs.tidewater.dev/access-key`.
