//! Tidewater: run AWS ECS workloads on Kubernetes.
//!
//! The flow is one-way: [`api`] (CRD types, ECS request shapes) → [`translate`] (pure rules:
//! spec in, Kubernetes objects and warnings out) → the edges ([`render`] offline, the
//! controllers online).

#![forbid(unsafe_code)]

pub mod api;
pub mod controller;
pub mod ecs_api;
pub mod import;
pub mod render;
pub mod translate;
pub mod yaml;
