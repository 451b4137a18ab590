//! `tidewater render` (placeholder, replaced below).
