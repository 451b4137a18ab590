//! Leader election through a `coordination.k8s.io` Lease, so that two replicas never both
//! write. The leader renews the Lease every third of its duration; a replica that cannot renew
//! within the duration stops leading (the process exits and restarts as a follower).

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::{Client, ResourceExt};

/// A candidate for leadership.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    duration: Duration,
}

/// Whether `identity` may take (or keep) a Lease held as `spec` at `now`.
pub fn may_take(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> bool {
    let Some(spec) = spec else { return true };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() || holder == identity {
        return true;
    }
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(15));
    match &spec.renew_time {
        Some(MicroTime(renewed)) => *renewed + SignedDuration::from_secs(duration) < now,
        None => true,
    }
}

impl Elector {
    /// A candidate named `identity` for the Lease `namespace/name`.
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        duration: Duration,
    ) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
            duration,
        }
    }

    fn spec(&self, old: Option<&LeaseSpec>, now: Timestamp) -> LeaseSpec {
        let same_holder = old
            .and_then(|o| o.holder_identity.as_deref())
            .is_some_and(|h| h == self.identity);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.duration.as_secs() as i32),
            acquire_time: if same_holder {
                old.and_then(|o| o.acquire_time.clone())
            } else {
                Some(MicroTime(now))
            },
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(
                old.and_then(|o| o.lease_transitions).unwrap_or(0)
                    + i32::from(!same_holder && old.is_some()),
            ),
            ..LeaseSpec::default()
        }
    }

    /// One attempt to take or renew the Lease. `Ok(true)` when this replica leads.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        match self.api.get_opt(&self.name).await? {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.spec(None, now)),
                };
                match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Some(mut lease) => {
                if !may_take(lease.spec.as_ref(), &self.identity, now) {
                    return Ok(false);
                }
                lease.spec = Some(self.spec(lease.spec.as_ref(), now));
                match self
                    .api
                    .replace(&lease.name_any(), &PostParams::default(), &lease)
                    .await
                {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Wait until this replica leads.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => return,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "leader election: could not read or take the Lease")
                }
            }
            tokio::time::sleep(self.duration / 3).await;
        }
    }

    /// Renew the Lease until a renewal has failed for a whole Lease duration; then return.
    pub async fn keep(&self) {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.duration / 3).await;
            match self.try_acquire().await {
                Ok(true) => last_ok = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!("leader election: another replica took the Lease");
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "leader election: renewal failed"),
            }
            if last_ok.elapsed() > self.duration {
                tracing::error!("leader election: could not renew the Lease in time");
                return;
            }
        }
    }

    /// Give the Lease up (on shutdown), so that another replica takes over at once.
    pub async fn release(&self) {
        if let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await {
            let ours = lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(self.identity.as_str());
            if ours {
                if let Some(spec) = lease.spec.as_mut() {
                    spec.holder_identity = None;
                    spec.renew_time = None;
                }
                let _ = self
                    .api
                    .replace(&lease.name_any(), &PostParams::default(), &lease)
                    .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(by: &str, renewed: i64) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(by.into()),
            lease_duration_seconds: Some(15),
            renew_time: Some(MicroTime(Timestamp::from_second(renewed).unwrap())),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_fresh_lease_of_another_holder_is_respected() {
        let now = Timestamp::from_second(1_010).unwrap();
        assert!(!may_take(Some(&held("b", 1_000)), "a", now));
        assert!(may_take(Some(&held("a", 1_000)), "a", now));
        assert!(may_take(None, "a", now));
        let later = Timestamp::from_second(1_016).unwrap();
        assert!(may_take(Some(&held("b", 1_000)), "a", later));
        let released = LeaseSpec::default();
        assert!(may_take(Some(&released), "a", now));
    }
}
