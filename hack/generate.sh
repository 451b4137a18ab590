#!/usr/bin/env bash
# Regenerate (or, with --check, verify) every committed artefact derived from code or models:
# the ECS API types and field inventory (from api/ecs-model.json), the CRDs under crds/ and
# docs/field-coverage.md (from the Rust types and the field table), and the golden objects.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--check" ]]; then
  python3 hack/ecs_model.py generate --check
  # The Rust side is checked by `cargo test` itself (tests/generated.rs, tests/golden.rs).
else
  python3 hack/ecs_model.py generate
  TIDEWATER_UPDATE=1 cargo test -q --test generated --test golden
fi
