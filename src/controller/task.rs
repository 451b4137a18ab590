//! Task reconciler (RunTask): to be written.

use std::sync::Arc;

use kube::runtime::controller::Action;

use crate::api::Task;

use super::context::Context;
use super::error::Error;

/// Reconcile one Task.
pub async fn reconcile(_task: Arc<Task>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile("Task");
    Ok(Action::await_change())
}
