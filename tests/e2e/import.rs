//! End-to-end tests: `tidewater import` output against the real apiserver (issue 5).
