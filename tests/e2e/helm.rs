//! End-to-end tests: the Helm chart and least-privilege RBAC (issue 6).
