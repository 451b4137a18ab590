//! Prometheus metrics: reconciles, errors by label, reconcile duration, API requests made.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

type Labels = Vec<(String, String)>;

/// The operator's metrics, shared by every controller.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    reconciles: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    duration: Family<Labels, Histogram>,
    api_requests: Family<Labels, Counter>,
    leader: Gauge,
    third_party: Family<Labels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tidewater");
        let reconciles = Family::<Labels, Counter>::default();
        let failures = Family::<Labels, Counter>::default();
        let duration = Family::<Labels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        });
        let api_requests = Family::<Labels, Counter>::default();
        let leader = Gauge::default();
        let third_party = Family::<Labels, Gauge>::default();
        registry.register("reconciles", "Reconciles run, by kind", reconciles.clone());
        registry.register(
            "reconcile_errors",
            "Reconciles that failed, by kind and error label",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Time one reconcile took, by kind",
            duration.clone(),
        );
        registry.register(
            "api_requests",
            "Requests the reconcilers made to the API server, by verb (watches not included)",
            api_requests.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease",
            leader.clone(),
        );
        registry.register(
            "third_party_watched",
            "1 for a third-party child kind the operator watches and caches, 0 for one it reads before each apply (not installed, or not watchable)",
            third_party.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            reconciles,
            failures,
            duration,
            api_requests,
            leader,
            third_party,
        }
    }
}

/// Times one reconcile; records the duration when dropped.
pub struct ReconcileTimer {
    duration: Histogram,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.duration.observe(self.start.elapsed().as_secs_f64());
    }
}

impl Metrics {
    /// Count a reconcile of `kind` and time it until the returned guard drops.
    pub fn reconcile(&self, kind: &str) -> ReconcileTimer {
        let l = vec![("kind".to_string(), kind.to_string())];
        self.reconciles.get_or_create(&l).inc();
        ReconcileTimer {
            duration: self.duration.get_or_create(&l).clone(),
            start: Instant::now(),
        }
    }

    /// Count a failed reconcile.
    pub fn failure(&self, kind: &str, label: &str) {
        self.failures
            .get_or_create(&vec![
                ("kind".to_string(), kind.to_string()),
                ("error".to_string(), label.to_string()),
            ])
            .inc();
    }

    /// Count one API request made by a reconciler.
    pub fn api_call(&self, verb: &str) {
        self.api_requests
            .get_or_create(&vec![("verb".to_string(), verb.to_string())])
            .inc();
    }

    /// Record whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Record which of the third-party child kinds are watched (`watched`) and which are not.
    pub fn set_third_party_watched(&self, watched: &[kube::api::ApiResource]) {
        for (_, _, kind) in super::watch::THIRD_PARTY_KINDS {
            let on = watched.iter().any(|ar| ar.kind == *kind);
            self.third_party
                .get_or_create(&vec![("kind".to_string(), kind.to_string())])
                .set(i64::from(on));
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("metrics encode into a String");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_has_the_series() {
        let m = Metrics::default();
        drop(m.reconcile("Service"));
        m.failure("Service", "not_owned");
        m.api_call("patch");
        let text = m.render();
        assert!(
            text.contains("tidewater_reconciles_total{kind=\"Service\"} 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "tidewater_reconcile_errors_total{kind=\"Service\",error=\"not_owned\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("tidewater_reconcile_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("tidewater_api_requests_total{verb=\"patch\"} 1"),
            "{text}"
        );
    }
}
