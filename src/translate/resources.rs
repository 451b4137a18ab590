//! CPU, memory, GPU and ephemeral storage: ECS units to Kubernetes quantities, and the task
//! size shared out among the containers of a pod.

use super::Warnings;
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// ECS CPU units (1024 per vCPU) as a Kubernetes CPU quantity: 256 → `250m`, 1024 → `1`.
/// Fractions of a millicore are rounded up.
pub fn cpu(units: u64) -> Quantity {
    millicores(milli_of(units))
}

fn milli_of(units: u64) -> u64 {
    units.saturating_mul(1000).div_ceil(1024)
}

fn millicores(milli: u64) -> Quantity {
    if milli.is_multiple_of(1000) {
        Quantity((milli / 1000).to_string())
    } else {
        Quantity(format!("{milli}m"))
    }
}

/// MiB as a Kubernetes memory quantity.
pub fn memory_mib(mib: u64) -> Quantity {
    if mib > 0 && mib.is_multiple_of(1024) {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}

/// GiB as a Kubernetes quantity.
pub fn gib(gib: u64) -> Quantity {
    Quantity(format!("{gib}Gi"))
}

/// The task size (after RunTask overrides): what the task reserves and may use in all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaskSize {
    /// Task `cpu` in CPU units.
    pub cpu: Option<u64>,
    /// Task `memory` in MiB.
    pub memory: Option<u64>,
}

/// When a container runs, as far as the pod's reservation is concerned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Lifetime {
    /// Runs for the life of the task (a regular container or a native sidecar).
    #[default]
    Task,
    /// Runs to completion before the regular containers (an init container), alongside the
    /// listed long-running containers (sidecars started before it).
    BeforeMain {
        /// Indices of the containers running alongside it.
        alongside: Vec<usize>,
    },
}

/// What one container definition asks for (after container overrides), in ECS units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Kubernetes container name (for messages).
    pub name: String,
    /// `cpu`: CPU units reserved.
    pub cpu: Option<u64>,
    /// `memory`: hard limit in MiB.
    pub memory: Option<u64>,
    /// `memoryReservation`: soft limit in MiB, reserved.
    pub memory_reservation: Option<u64>,
    /// `essential`.
    pub essential: bool,
    /// When it runs.
    pub lifetime: Lifetime,
}

/// The CPU and memory requests and limits of every container (in the order of the demands).
/// Without a task size, container reservations become requests. With one, the requests of the
/// containers that run together sum to exactly the task size (CPU in proportion to the
/// containers' CPU shares; memory by reservation, containers without one sharing what the
/// others leave) and no container may use more than the task. `cpu_path`/`memory_path`
/// name the task size fields in warnings.
pub fn allocate(
    task: TaskSize,
    demands: &[Demand],
    paths: [&str; 2],
    w: &mut Warnings,
) -> Vec<ResourceRequirements> {
    let cpu_asks: Vec<Ask> = demands
        .iter()
        .map(|d| Ask {
            request: d.cpu,
            hard: None,
        })
        .collect();
    let memory_asks: Vec<Ask> = demands
        .iter()
        .map(|d| Ask {
            request: d.memory_reservation.or(d.memory),
            hard: d.memory,
        })
        .collect();
    let cpu = resource_shares(task.cpu, &cpu_asks, demands, Kind::Cpu, paths[0], w);
    let memory = resource_shares(
        task.memory,
        &memory_asks,
        demands,
        Kind::Memory,
        paths[1],
        w,
    );
    (0..demands.len())
        .map(|i| requirements(&cpu, &memory, i))
        .collect()
}

/// The resource a share is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Cpu,
    Memory,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Memory => "memory",
        }
    }

    fn unit(self) -> &'static str {
        match self {
            Kind::Cpu => "CPU units",
            Kind::Memory => "MiB",
        }
    }

    fn shown(self, v: u64) -> String {
        format!("{v} {}", self.unit())
    }
}

/// One container's ask for one resource, in ECS units.
#[derive(Clone, Copy, Debug, Default)]
struct Ask {
    request: Option<u64>,
    hard: Option<u64>,
}

/// One resource's requests and limits per container, as Kubernetes quantities.
#[derive(Clone, Debug, Default)]
struct Quantities {
    requests: Vec<Option<Quantity>>,
    limits: Vec<Option<Quantity>>,
}

fn requirements(cpu: &Quantities, memory: &Quantities, i: usize) -> ResourceRequirements {
    let pick = |q: &[Option<Quantity>]| {
        let mut m = BTreeMap::new();
        for (key, v) in [("cpu", &q[0]), ("memory", &q[1])] {
            if let Some(v) = v {
                m.insert(key.to_string(), v.clone());
            }
        }
        (!m.is_empty()).then_some(m)
    };
    ResourceRequirements {
        requests: pick(&[cpu.requests[i].clone(), memory.requests[i].clone()]),
        limits: pick(&[cpu.limits[i].clone(), memory.limits[i].clone()]),
        claims: None,
    }
}

/// Requests and limits of one resource; without a task size, each container's own.
fn resource_shares(
    total: Option<u64>,
    asks: &[Ask],
    demands: &[Demand],
    kind: Kind,
    path: &str,
    w: &mut Warnings,
) -> Quantities {
    let Some(total) = total else {
        let quantity = |v: u64| match kind {
            Kind::Cpu => cpu(v),
            Kind::Memory => memory_mib(v),
        };
        return Quantities {
            requests: asks.iter().map(|a| a.request.map(quantity)).collect(),
            limits: asks.iter().map(|a| a.hard.map(quantity)).collect(),
        };
    };
    let (shares, findings) = share(total, asks, demands, kind);
    report(total, &shares, &findings, demands, kind, path, w);
    match kind {
        Kind::Cpu => cpu_quantities(total, &shares, demands),
        Kind::Memory => Quantities {
            requests: shares
                .requests
                .iter()
                .map(|r| Some(memory_mib(*r)))
                .collect(),
            limits: shares.limits.iter().map(|l| Some(memory_mib(*l))).collect(),
        },
    }
}

/// One resource shared out, in ECS units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Shares {
    requests: Vec<u64>,
    limits: Vec<u64>,
}

/// What sharing out found that differs from the containers' own asks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Findings {
    /// Containers without an own reservation that share the remainder.
    shared_by: Vec<usize>,
    /// Containers whose request was raised to take up the unreserved rest.
    topped_up: Vec<usize>,
    /// Reservations cut to fit the task size.
    cut: bool,
    /// The task size could not be reserved in full (hard limits): what is reserved.
    short: Option<u64>,
}

/// Share `total` out among the long-running containers (CPU in proportion to their CPU shares,
/// memory by reservation), then give each run-to-completion container what the containers
/// running alongside it leave.
fn share(total: u64, asks: &[Ask], demands: &[Demand], kind: Kind) -> (Shares, Findings) {
    let limits: Vec<u64> = asks
        .iter()
        .map(|a| a.hard.unwrap_or(total).min(total))
        .collect();
    let mut f = Findings::default();
    let running: Vec<usize> = (0..asks.len())
        .filter(|i| demands[*i].lifetime == Lifetime::Task)
        .collect();
    let mut requests = match kind {
        Kind::Cpu => cpu_split(total, asks, &running, &mut f),
        Kind::Memory => memory_split(total, asks, &limits, &running, demands, &mut f),
    };
    for (i, d) in demands.iter().enumerate() {
        if let Lifetime::BeforeMain { alongside } = &d.lifetime {
            let cap = total.saturating_sub(alongside.iter().map(|j| requests[*j]).sum());
            let want = asks[i].request.unwrap_or(cap);
            f.cut |= want > cap;
            requests[i] = want.min(cap).min(limits[i]);
        }
    }
    (Shares { requests, limits }, f)
}

/// ECS passes a container `cpu` below 2 (or none) to Docker as 2 CPU shares.
const MIN_CPU_SHARES: u64 = 2;

/// The task's CPU in proportion to the containers' CPU shares (their `cpu`, at least 2), so the
/// Kubernetes CPU weights have the ratios of ECS: "Linux containers share unallocated CPU units
/// with other containers ... with the same ratio as their allocated amount". Each gets the
/// difference of the rounded running sums, so the requests sum to exactly the task.
fn cpu_split(total: u64, asks: &[Ask], running: &[usize], f: &mut Findings) -> Vec<u64> {
    let mut requests = vec![0; asks.len()];
    let weight = |i: usize| asks[i].request.unwrap_or(0).max(MIN_CPU_SHARES);
    let weights: u64 = running.iter().map(|i| weight(*i)).sum();
    f.cut = running.iter().filter_map(|i| asks[*i].request).sum::<u64>() > total;
    let (mut sum, mut before) = (0, 0);
    for &i in running {
        sum += weight(i);
        // u128: task cpu × summed shares never overflows; the quotient is at most `total`.
        let now = (u128::from(total) * u128::from(sum) / u128::from(weights)) as u64;
        requests[i] = now - before;
        before = now;
    }
    requests
}

/// Memory: each container's reservation (memoryReservation, else memory); the rest shared by
/// the containers without one, else added to those with room under their limit.
fn memory_split(
    total: u64,
    asks: &[Ask],
    limits: &[u64],
    running: &[usize],
    demands: &[Demand],
    f: &mut Findings,
) -> Vec<u64> {
    let mut requests = vec![0; asks.len()];
    let mut left = total;
    for &i in running {
        if let Some(r) = asks[i].request {
            let give = r.min(left).min(limits[i]);
            f.cut |= give < r;
            requests[i] = give;
            left -= give;
        }
    }
    f.shared_by = running
        .iter()
        .copied()
        .filter(|i| asks[*i].request.is_none())
        .collect();
    if f.shared_by.is_empty() {
        top_up(&mut requests, limits, running, demands, &mut left, f);
    } else {
        let n = f.shared_by.len() as u64;
        for (k, &i) in f.shared_by.iter().enumerate() {
            requests[i] = left / n + u64::from((k as u64) < left % n);
        }
    }
    requests
}

/// Add the unreserved rest to the long-running containers with room under their limit,
/// essential ones first.
fn top_up(
    requests: &mut [u64],
    limits: &[u64],
    running: &[usize],
    demands: &[Demand],
    left: &mut u64,
    f: &mut Findings,
) {
    let essential_first = running
        .iter()
        .filter(|i| demands[**i].essential)
        .chain(running.iter().filter(|i| !demands[**i].essential));
    for &i in essential_first {
        let add = (limits[i] - requests[i]).min(*left);
        if add > 0 {
            requests[i] += add;
            *left -= add;
            f.topped_up.push(i);
        }
    }
    if *left > 0 && !running.is_empty() {
        f.short = Some(running.iter().map(|i| requests[*i]).sum());
    }
}

/// CPU units to millicores so that the requests of the long-running containers sum to exactly
/// the task's millicores: each gets the difference of the rounded running sums.
fn cpu_quantities(total: u64, shares: &Shares, demands: &[Demand]) -> Quantities {
    let mut requests = vec![None; demands.len()];
    let mut sum = 0;
    let mut before = 0;
    for (i, d) in demands.iter().enumerate() {
        if d.lifetime == Lifetime::Task {
            sum += shares.requests[i];
            let now = milli_of(sum);
            requests[i] = Some(now - before);
            before = now;
        }
    }
    let mut milli: Vec<u64> = requests.iter().map(|r| r.unwrap_or(0)).collect();
    for (i, d) in demands.iter().enumerate() {
        if let Lifetime::BeforeMain { alongside } = &d.lifetime {
            let cap = milli_of(total).saturating_sub(alongside.iter().map(|j| milli[*j]).sum());
            milli[i] = milli_of(shares.requests[i]).min(cap);
        }
    }
    Quantities {
        requests: milli.into_iter().map(|m| Some(millicores(m))).collect(),
        limits: shares.limits.iter().map(|l| Some(cpu(*l))).collect(),
    }
}

/// Report how the task size was shared out when it differs from ECS: several containers, or a
/// reservation that could not be kept.
fn report(
    total: u64,
    shares: &Shares,
    f: &Findings,
    demands: &[Demand],
    kind: Kind,
    path: &str,
    w: &mut Warnings,
) {
    let notes = notes(total, shares, f, demands, kind);
    if notes.is_empty() {
        return;
    }
    let requests: Vec<String> = (0..demands.len())
        .map(|i| format!("{} {}", demands[i].name, shares.requests[i]))
        .collect();
    w.approximated(
        path,
        format!(
            "the task size ({}) is shared out as the containers' requests ({} {}): {}",
            kind.shown(total),
            requests.join(", "),
            kind.unit(),
            notes.join("; ")
        ),
    );
}

/// What differs from ECS in how the task size was shared out, one note each.
fn notes(total: u64, shares: &Shares, f: &Findings, demands: &[Demand], kind: Kind) -> Vec<String> {
    let names = |list: &[usize]| -> String {
        let names: Vec<&str> = list.iter().map(|i| demands[*i].name.as_str()).collect();
        names.join(", ")
    };
    let running: Vec<usize> = (0..demands.len())
        .filter(|i| demands[*i].lifetime == Lifetime::Task)
        .collect();
    let limits: u64 = running.iter().map(|i| shares.limits[*i]).sum();
    let mut notes = Vec::new();
    if f.shared_by.len() > 1 {
        notes.push(format!(
            "containers without their own {} ({}) share what the others leave, in equal parts rounded to whole units",
            kind.key(),
            names(&f.shared_by)
        ));
    }
    if running.len() > 1 && !f.topped_up.is_empty() {
        notes.push(format!(
            "what no container reserves is added to the request of {}",
            names(&f.topped_up)
        ));
    }
    if f.cut {
        notes.push(
            "the containers reserve more than the task: their requests are cut to fit".into(),
        );
    }
    if let Some(reserved) = f.short {
        notes.push(format!(
            "the containers' memory limits allow only {}, so the pod reserves that much",
            kind.shown(reserved)
        ));
    }
    if limits > total {
        notes.push(format!(
            "each container is limited to {}, but Kubernetes cannot cap the containers together at the task size without pod-level resources (not used), so together they may use up to {}",
            match kind {
                Kind::Memory => "its own memory or the task size",
                Kind::Cpu => "the task size",
            },
            kind.shown(limits)
        ));
    }
    notes
}

/// Fargate task sizes: for each CPU value, the valid memory values in MiB.
pub fn fargate_memory_valid(cpu_units: u64, memory_mib: u64) -> bool {
    let gb = |g: u64| g * 1024;
    match cpu_units {
        256 => [512, 1024, 2048].contains(&memory_mib),
        512 => (gb(1)..=gb(4)).contains(&memory_mib) && memory_mib.is_multiple_of(1024),
        1024 => (gb(2)..=gb(8)).contains(&memory_mib) && memory_mib.is_multiple_of(1024),
        2048 => (gb(4)..=gb(16)).contains(&memory_mib) && memory_mib.is_multiple_of(1024),
        4096 => (gb(8)..=gb(30)).contains(&memory_mib) && memory_mib.is_multiple_of(1024),
        8192 => (gb(16)..=gb(60)).contains(&memory_mib) && memory_mib.is_multiple_of(gb(4)),
        16384 => (gb(32)..=gb(120)).contains(&memory_mib) && memory_mib.is_multiple_of(gb(8)),
        _ => false,
    }
}

/// Extended resource names for ECS resource requirement types.
pub fn extended_resource(kind: &str) -> Option<&'static str> {
    match kind {
        "GPU" => Some("nvidia.com/gpu"),
        "NeuronDevice" => Some("aws.amazon.com/neurondevice"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(
        name: &str,
        cpu: Option<u64>,
        memory: Option<u64>,
        reservation: Option<u64>,
    ) -> Demand {
        Demand {
            name: name.into(),
            cpu,
            memory,
            memory_reservation: reservation,
            essential: true,
            lifetime: Lifetime::Task,
        }
    }

    fn q(v: &[(&str, &str)]) -> Option<BTreeMap<String, Quantity>> {
        Some(
            v.iter()
                .map(|(k, v)| (k.to_string(), Quantity(v.to_string())))
                .collect(),
        )
    }

    #[test]
    fn unsized_containers_share_the_rest_of_the_task() {
        let task = TaskSize {
            cpu: Some(1024),
            memory: Some(2048),
        };
        let demands = [
            demand("app", Some(512), Some(1024), None),
            demand("a", None, None, None),
            demand("b", None, None, None),
        ];
        let mut w = Warnings::default();
        let r = allocate(task, &demands, ["cpu", "memory"], &mut w);
        // CPU weights 512 : 2 : 2, as the CPU shares ECS gives them.
        assert_eq!(r[0].requests, q(&[("cpu", "993m"), ("memory", "1Gi")]));
        assert_eq!(r[0].limits, q(&[("cpu", "1"), ("memory", "1Gi")]));
        assert_eq!(r[1].requests, q(&[("cpu", "4m"), ("memory", "512Mi")]));
        assert_eq!(r[2].requests, q(&[("cpu", "3m"), ("memory", "512Mi")]));
        assert_eq!(r[2].limits, q(&[("cpu", "1"), ("memory", "2Gi")]));
        let w = w.into_vec();
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn millicores_of_shares_sum_to_the_task() {
        let task = TaskSize {
            cpu: Some(1024),
            memory: None,
        };
        let demands = [
            demand("a", None, None, Some(10)),
            demand("b", None, None, Some(10)),
            demand("c", None, None, Some(10)),
        ];
        let r = allocate(task, &demands, ["cpu", "memory"], &mut Warnings::default());
        let cpus: Vec<String> = r
            .iter()
            .map(|r| r.requests.as_ref().unwrap()["cpu"].0.clone())
            .collect();
        assert_eq!(cpus, ["334m", "333m", "333m"]);
    }

    #[test]
    fn cpu_units_divide_by_1024() {
        assert_eq!(cpu(256).0, "250m");
        assert_eq!(cpu(512).0, "500m");
        assert_eq!(cpu(1024).0, "1");
        assert_eq!(cpu(2048).0, "2");
        assert_eq!(cpu(100).0, "98m");
        assert_eq!(cpu(10).0, "10m");
    }

    #[test]
    fn memory_in_mib() {
        assert_eq!(memory_mib(512).0, "512Mi");
        assert_eq!(memory_mib(2048).0, "2Gi");
    }

    #[test]
    fn fargate_combinations() {
        assert!(fargate_memory_valid(256, 512));
        assert!(!fargate_memory_valid(256, 4096));
        assert!(fargate_memory_valid(1024, 2048));
        assert!(fargate_memory_valid(8192, 20480));
        assert!(!fargate_memory_valid(8192, 18432));
        assert!(!fargate_memory_valid(300, 1024));
    }
}
