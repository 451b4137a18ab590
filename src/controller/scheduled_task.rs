//! ScheduledTask reconciler (→ CronJob): to be written.

use std::sync::Arc;

use kube::runtime::controller::Action;

use crate::api::ScheduledTask;

use super::context::Context;
use super::error::Error;

/// Reconcile one ScheduledTask.
pub async fn reconcile(_task: Arc<ScheduledTask>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile("ScheduledTask");
    Ok(Action::await_change())
}
