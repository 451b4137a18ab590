//! End-to-end tests against the real local control plane (etcd, kube-apiserver,
//! kube-controller-manager, kube-scheduler and kwok; see docs/local-cluster.md).
//!
//! Run them with `make test-e2e` (hack/e2e.sh), which starts the cluster when needed, installs
//! the CRDs from `crds/` and then runs `cargo test --features e2e --test e2e`. Against an already
//! running cluster (`make cluster`) `cargo test --features e2e --test e2e` works directly.
//! An unreachable cluster is a failure, never a skip.
//!
//! Every test works in its own throwaway namespace, so the tests run in parallel.

mod autoscaling;
mod ecs_api;
mod ecs_api_lifecycle;
mod ecs_api_security;
mod faults;
mod helm;
mod import;
mod operator;
mod operator_tasks;
mod scale;
mod simulation;
mod smoke;
mod support;
