//! End-to-end tests: the operator (`tidewater run`) on the real control plane (issue 4).
