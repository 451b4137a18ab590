//! CPU, memory, GPU and ephemeral storage: ECS units to Kubernetes quantities.

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// ECS CPU units (1024 per vCPU) as a Kubernetes CPU quantity: 256 → `250m`, 1024 → `1`.
/// Fractions of a millicore are rounded up.
pub fn cpu(units: u64) -> Quantity {
    let milli = (units * 1000).div_ceil(1024);
    if milli % 1000 == 0 {
        Quantity((milli / 1000).to_string())
    } else {
        Quantity(format!("{milli}m"))
    }
}

/// MiB as a Kubernetes memory quantity.
pub fn memory_mib(mib: u64) -> Quantity {
    if mib > 0 && mib % 1024 == 0 {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}

/// GiB as a Kubernetes quantity.
pub fn gib(gib: u64) -> Quantity {
    Quantity(format!("{gib}Gi"))
}

/// Fargate task sizes: for each CPU value, the valid memory values in MiB.
pub fn fargate_memory_valid(cpu_units: u64, memory_mib: u64) -> bool {
    let gb = |g: u64| g * 1024;
    match cpu_units {
        256 => [512, 1024, 2048].contains(&memory_mib),
        512 => (gb(1)..=gb(4)).contains(&memory_mib) && memory_mib % 1024 == 0,
        1024 => (gb(2)..=gb(8)).contains(&memory_mib) && memory_mib % 1024 == 0,
        2048 => (gb(4)..=gb(16)).contains(&memory_mib) && memory_mib % 1024 == 0,
        4096 => (gb(8)..=gb(30)).contains(&memory_mib) && memory_mib % 1024 == 0,
        8192 => (gb(16)..=gb(60)).contains(&memory_mib) && memory_mib % gb(4) == 0,
        16384 => (gb(32)..=gb(120)).contains(&memory_mib) && memory_mib % gb(8) == 0,
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
