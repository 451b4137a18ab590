//! Task volumes and container mounts.

use super::{Warnings, at, idx, names, resources};
use crate::api::ecs::{ContainerDefinition, EFSVolumeConfiguration, Scope, Volume};
use k8s_openapi::api::core::v1::Volume as KVolume;
use k8s_openapi::api::core::v1::{
    EmptyDirVolumeSource, EphemeralVolumeSource, HostPathVolumeSource, PersistentVolumeClaimSpec,
    PersistentVolumeClaimTemplate, PersistentVolumeClaimVolumeSource, VolumeMount,
    VolumeResourceRequirements,
};
use std::collections::BTreeMap;

/// The Kubernetes volume name of an ECS volume.
pub fn volume_name(ecs: &str) -> String {
    names::dns_label(ecs)
}

/// A managed EBS volume configured at launch (Service/RunTask `volumeConfigurations`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LaunchVolume {
    /// StorageClass (volumeType, default gp3).
    pub storage_class: String,
    /// Size in GiB.
    pub size_gib: Option<i32>,
}

/// The PersistentVolumeClaim of an EFS volume: one per file system, root directory and access
/// point, so volumes mounting different directories of one file system get different claims
/// (each bound to a PersistentVolume whose EFS CSI `volumeHandle` is
/// `fileSystemId[:rootDirectory][:accessPointId]`). Named `efs-<fileSystemId>` for the file
/// system root, `efs-<fileSystemId>-<accessPointId>` with an access point (whose path is the
/// root), and `efs-<fileSystemId>-<rootDirectory>-<hash>` for another root directory.
pub fn efs_claim_name(efs: &EFSVolumeConfiguration) -> String {
    let ap = efs
        .authorization_config
        .as_ref()
        .and_then(|a| a.access_point_id.as_deref())
        .filter(|a| !a.is_empty());
    // "Specifying / will have the same effect as omitting this parameter."
    let root = efs
        .root_directory
        .as_deref()
        .map(|r| r.trim_end_matches('/'))
        .filter(|r| !r.is_empty())
        .map(|r| format!("/{}", r.trim_start_matches('/')));
    let raw = match (ap, root) {
        // "If an EFS access point is specified in the authorizationConfig, the root directory
        // parameter must either be omitted or set to / which will enforce the path set on the
        // EFS access point."
        (Some(ap), _) => format!("efs-{}-{ap}", efs.file_system_id),
        // The slash makes the name invalid as it is, so it is squashed and hashed: distinct
        // directories never share a claim.
        (None, Some(root)) => format!("efs-{}{root}", efs.file_system_id),
        (None, None) => format!("efs-{}", efs.file_system_id),
    };
    names::dns_label(&raw)
}

/// The claim of an EFS volume at `path`, reporting a root directory an access point overrides.
fn efs_claim(
    efs: &EFSVolumeConfiguration,
    path: &str,
    w: &mut Warnings,
) -> PersistentVolumeClaimVolumeSource {
    let with_access_point = efs
        .authorization_config
        .as_ref()
        .and_then(|a| a.access_point_id.as_deref())
        .is_some_and(|a| !a.is_empty());
    let root = efs.root_directory.as_deref().unwrap_or_default();
    if with_access_point && !root.trim_end_matches('/').is_empty() {
        w.approximated(
            at(&at(path, "efsVolumeConfiguration"), "rootDirectory"),
            "with an access point ECS requires the root directory to be omitted or /: the access point's path is mounted",
        );
    }
    PersistentVolumeClaimVolumeSource {
        claim_name: efs_claim_name(efs),
        read_only: None,
    }
}

/// Task volumes → pod volumes.
pub fn volumes(
    vols: &[Volume],
    launch: &BTreeMap<String, LaunchVolume>,
    path: &str,
    w: &mut Warnings,
) -> Vec<KVolume> {
    let mut out = Vec::new();
    for (i, v) in vols.iter().enumerate() {
        let p = idx(path, i);
        let Some(ecs_name) = v.name.as_deref() else {
            continue;
        };
        let name = volume_name(ecs_name);
        let mut kv = KVolume {
            name: name.clone(),
            ..KVolume::default()
        };
        if let Some(host) = &v.host {
            match host.source_path.as_deref().filter(|s| !s.is_empty()) {
                Some(src) => {
                    kv.host_path = Some(HostPathVolumeSource {
                        path: src.into(),
                        type_: Some("DirectoryOrCreate".into()),
                    })
                }
                None => kv.empty_dir = Some(EmptyDirVolumeSource::default()),
            }
        } else if let Some(d) = &v.docker_volume_configuration {
            if d.scope == Some(Scope::Shared) {
                w.approximated(
                    at(&at(&p, "dockerVolumeConfiguration"), "scope"),
                    format!("shared Docker volume: the pod mounts PersistentVolumeClaim `{name}`, which must exist"),
                );
                kv.persistent_volume_claim = Some(PersistentVolumeClaimVolumeSource {
                    claim_name: name.clone(),
                    read_only: None,
                });
            } else {
                kv.empty_dir = Some(EmptyDirVolumeSource::default());
            }
        } else if let Some(efs) = &v.efs_volume_configuration {
            kv.persistent_volume_claim = Some(efs_claim(efs, &p, w));
        } else if v.configured_at_launch == Some(true) && launch.contains_key(ecs_name) {
            let lv = &launch[ecs_name];
            kv.ephemeral = Some(EphemeralVolumeSource {
                volume_claim_template: Some(PersistentVolumeClaimTemplate {
                    metadata: None,
                    spec: PersistentVolumeClaimSpec {
                        access_modes: Some(vec!["ReadWriteOnce".into()]),
                        storage_class_name: Some(lv.storage_class.clone()),
                        resources: lv.size_gib.map(|g| VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([(
                                "storage".into(),
                                resources::gib(g.max(1) as u64),
                            )])),
                            limits: None,
                        }),
                        ..PersistentVolumeClaimSpec::default()
                    },
                }),
            });
        } else {
            // fsx / s3files (reported by the table walk) and volumes without configuration.
            kv.empty_dir = Some(EmptyDirVolumeSource::default());
        }
        out.push(kv);
    }
    out
}

/// mountPoints and volumesFrom → volume mounts of container `i`.
pub fn mounts(
    all: &[ContainerDefinition],
    i: usize,
    path: &str,
    w: &mut Warnings,
) -> Vec<VolumeMount> {
    let c = &all[i];
    let mut out = own_mounts(c);
    for (j, vf) in c.volumes_from.iter().flatten().enumerate() {
        let Some(src) = vf.source_container.as_deref() else {
            continue;
        };
        let Some(source) = all.iter().find(|o| o.name == src) else {
            continue;
        };
        let inherited = own_mounts(source);
        if inherited.is_empty() {
            w.approximated(
                idx(&at(path, "volumesFrom"), j),
                format!("container `{src}` has no mount points to share; volumes declared by its image are not shared on Kubernetes"),
            );
        }
        for mut m in inherited {
            if vf.read_only == Some(true) {
                m.read_only = Some(true);
            }
            if !out.iter().any(|o| o.mount_path == m.mount_path) {
                out.push(m);
            }
        }
    }
    out
}

fn own_mounts(c: &ContainerDefinition) -> Vec<VolumeMount> {
    c.mount_points
        .iter()
        .flatten()
        .filter_map(|mp| {
            Some(VolumeMount {
                name: volume_name(mp.source_volume.as_deref()?),
                mount_path: mp.container_path.clone().filter(|p| !p.is_empty())?,
                read_only: mp.read_only.filter(|r| *r),
                ..VolumeMount::default()
            })
        })
        .collect()
}

/// tmpfs and sharedMemorySize → memory-backed emptyDirs and their mounts for container `c`.
pub fn memory_volumes(
    c: &ContainerDefinition,
    container_name: &str,
) -> (Vec<KVolume>, Vec<VolumeMount>) {
    let mut vols = Vec::new();
    let mut mounts = Vec::new();
    let Some(lp) = &c.linux_parameters else {
        return (vols, mounts);
    };
    let mut add = |suffix: String, path: &str, size_mib: i32| {
        let name = names::dns_label(&format!("{container_name}-{suffix}"));
        vols.push(KVolume {
            name: name.clone(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: Some("Memory".into()),
                size_limit: (size_mib > 0).then(|| resources::memory_mib(size_mib as u64)),
            }),
            ..KVolume::default()
        });
        mounts.push(VolumeMount {
            name,
            mount_path: path.into(),
            ..VolumeMount::default()
        });
    };
    if let Some(shm) = lp.shared_memory_size {
        add("shm".into(), "/dev/shm", shm);
    }
    for (i, t) in lp.tmpfs.iter().flatten().enumerate() {
        add(format!("tmpfs-{i}"), &t.container_path, t.size);
    }
    (vols, mounts)
}
