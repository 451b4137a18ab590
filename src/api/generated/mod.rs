//! Types generated from the ECS and Application Auto Scaling API models by `hack/ecs_model.py`
//! (`make generate`); `make check-generated` fails when they drift from `api/ecs-model.json`.
//! The one-line field documentation is taken from the models (Apache-2.0, see `api/NOTICE`).

pub mod autoscaling;
pub mod ecs;
pub mod read_only;
