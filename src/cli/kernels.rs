//! `orac kernels`: the offline check of every CUDA kernel, no GPU needed. Each kernel is
//! compiled by NVRTC for each architecture and assembled by `ptxas -v`; the table shows
//! registers, spills and shared memory, and a kernel's declared expectations are enforced.

use tabled::settings::Style;
use tabled::{Table, Tabled};

use super::args::KernelsArgs;
use crate::backend::cuda;
use crate::error::{Error, Result};
use crate::kernels::{self, KernelTree};
use crate::toolchain::choose::Choice;
use crate::toolchain::{nvrtc, ptxas, toolkit};

#[derive(Tabled)]
struct Row {
    kernel: String,
    arch: String,
    result: String,
    registers: String,
    #[tabled(rename = "spills st/ld")]
    spills: String,
    smem: String,
    stack: String,
    #[tabled(rename = "tensor ops")]
    tensor_ops: String,
}

/// Shared memory one block may use (static plus opted-in dynamic), by architecture number:
/// 163 KiB on sm_80, 99 KiB on sm_86/sm_89, 227 KiB on sm_90 and sm_100 (CUDA programming
/// guide, compute capabilities table). `None` where the table has no entry.
fn shared_memory_limit(arch: &str) -> Option<u64> {
    match crate::kernels::arch_number(arch)? {
        80 | 87 => Some(163 * 1024),
        86 | 89 => Some(99 * 1024),
        90 | 100 => Some(227 * 1024),
        _ => None,
    }
}

/// A header choice for a message: where from and why, or why none.
pub fn describe_choice(choice: Option<&Choice>) -> String {
    match choice {
        Some(Choice {
            chosen: Some(f),
            reason,
        }) => format!("{} ({reason})", f.describe()),
        Some(Choice {
            chosen: None,
            reason,
        }) => format!("none, {reason}; bf16 kernels will not compile"),
        None => "none (no NVRTC)".into(),
    }
}

pub fn kernels(tree: &KernelTree, args: KernelsArgs) -> Result<()> {
    let specs = kernels::load_manifest(tree, "cuda")?;
    let archs: Vec<String> = args
        .arch
        .split(',')
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if let Some(bad) = archs
        .iter()
        .find(|a| !a.starts_with("sm_") && !a.starts_with("compute_"))
    {
        return Err(Error::Usage(format!(
            "--arch {bad}: expected e.g. sm_80 or sm_90a"
        )));
    }
    // On a GPU machine, the NVRTC the backend would use with this driver; else the newest.
    let toolkit = toolkit::Toolkit::discover(cuda::driver_version());
    let version = nvrtc::ensure_loaded(&toolkit)?;
    let includes = toolkit.include_dirs();
    let ptxas = toolkit.ptxas();
    let ptxas_path = ptxas.chosen.as_ref().map(|f| f.path.clone());
    let nvdisasm = toolkit.nvdisasm(ptxas.chosen.as_ref());
    let nvrtc_path = toolkit.nvrtc.chosen.as_ref().map(|f| f.describe());
    eprintln!(
        "NVRTC {version}: {} ({}); headers: {}{}; ptxas: {}",
        nvrtc_path.unwrap_or_default(),
        toolkit.nvrtc.reason,
        describe_choice(toolkit.headers.as_ref()),
        toolkit.crt.as_ref().map_or(String::new(), |c| format!(
            ", crt/: {}",
            describe_choice(Some(c))
        )),
        match &ptxas.chosen {
            Some(p) => format!("{} ({})", p.describe(), ptxas.reason),
            None => format!("not used, resources not checked ({})", ptxas.reason),
        }
    );
    let mut rows = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    for spec in specs.iter().filter(|s| s.vendor.is_none()) {
        let name = format!("{}/{}", spec.family().name(), spec.name);
        for requested in &archs {
            let Some(arch) = spec.arch_for(requested) else {
                // Written for one architecture only (wgmma, TMA): nothing to build here.
                rows.push(Row {
                    kernel: name.clone(),
                    arch: requested.clone(),
                    result: format!(
                        "not built: written for {}",
                        spec.arch.as_deref().unwrap_or("?")
                    ),
                    registers: String::new(),
                    spills: String::new(),
                    smem: String::new(),
                    stack: String::new(),
                    tensor_ops: String::new(),
                });
                continue;
            };
            let arch = &arch;
            let mut row = Row {
                kernel: name.clone(),
                arch: arch.clone(),
                result: "compiled".into(),
                registers: String::new(),
                spills: String::new(),
                smem: String::new(),
                stack: String::new(),
                tensor_ops: String::new(),
            };
            let built = nvrtc::compile_ptx(
                &spec.source,
                &spec.source_path,
                &spec.name,
                arch,
                &includes,
                &spec.flags,
            )
            .and_then(|ptx| match &ptxas_path {
                Some(p) => ptxas::assemble(
                    p,
                    nvdisasm.as_deref(),
                    &ptx,
                    arch,
                    &spec.name,
                    &spec.source_path,
                )
                .map(Some),
                None => Ok(None),
            });
            match built {
                Err(e) => {
                    row.result = "COMPILE ERROR".into();
                    failures.push(e.to_string());
                }
                Ok(info) => {
                    if let Some(i) = info {
                        row.registers = i.registers.to_string();
                        row.spills = format!("{}/{}", i.spill_stores, i.spill_loads);
                        let dynamic = spec
                            .stages
                            .iter()
                            .map(|s| u64::from(s.dynamic_shared_bytes))
                            .max()
                            .unwrap_or(0);
                        row.smem = if dynamic > 0 {
                            format!("{}+{dynamic}", i.shared_bytes)
                        } else {
                            i.shared_bytes.to_string()
                        };
                        // Static plus dynamic shared memory must fit one block's limit, or
                        // the launch fails on every GPU of the architecture.
                        if let Some(limit) = shared_memory_limit(arch)
                            && i.shared_bytes + dynamic > limit
                        {
                            row.result = "EXPECTATION FAILED".into();
                            failures.push(format!(
                                "{name} [{arch}] ({}): {} bytes of shared memory per block ({} static + {dynamic} dynamic), the architecture allows {limit}",
                                spec.source_path,
                                i.shared_bytes + dynamic,
                                i.shared_bytes
                            ));
                        }
                        row.stack = i.stack_bytes.to_string();
                        row.tensor_ops = i.tensor_ops.map_or("?".into(), |n| n.to_string());
                        for expectation in &spec.expect {
                            if expectation == "tensor-cores" {
                                match i.tensor_ops {
                                    Some(0) => {
                                        row.result = "EXPECTATION FAILED".into();
                                        failures.push(format!(
                                            "{name} [{arch}] ({}): expected tensor-core instructions (HMMA/HGMMA) in the SASS, nvdisasm shows none",
                                            spec.source_path
                                        ));
                                    }
                                    None => {
                                        row.result = format!(
                                            "compiled (tensor cores unchecked: {})",
                                            i.sass_unavailable.as_deref().unwrap_or("no SASS")
                                        )
                                    }
                                    Some(_) => {}
                                }
                            }
                            if expectation == "no-spills" && i.spill_stores + i.spill_loads > 0 {
                                row.result = "EXPECTATION FAILED".into();
                                failures.push(format!(
                                    "{name} [{arch}] ({}): expected no spills, ptxas reports {} bytes of spill stores and {} of spill loads",
                                    spec.source_path, i.spill_stores, i.spill_loads
                                ));
                            }
                        }
                    } else if !spec.expect.is_empty() {
                        row.result = "compiled (expectations unchecked: no ptxas)".into();
                    }
                }
            }
            rows.push(row);
        }
    }
    println!("{}", Table::new(&rows).with(Style::rounded()));
    println!(
        "{} kernels × {} architectures compiled by NVRTC; not yet verified or timed on a GPU",
        rows.len() / archs.len().max(1),
        archs.len()
    );
    println!("{}", counters_section(&specs, &args.results_dir));
    for f in &failures {
        eprintln!("\n{f}");
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::BenchmarksFailed {
            failed: failures.len(),
            total: rows.len(),
        })
    }
}

/// The headline counters of each kernel from the newest `orac counters` record (its
/// benchmarks' counts added), marked stale where the kernel's source changed since.
fn counters_section(specs: &[kernels::KernelSpec], results_dir: &std::path::Path) -> String {
    let dir = results_dir.join(crate::backend::emu::HARDWARE_KEY);
    let newest = crate::store::find_runs(results_dir).ok().and_then(|paths| {
        paths
            .into_iter()
            .rev()
            .filter(|p| p.starts_with(&dir))
            .find_map(|p| {
                let r = crate::store::load_run(&p).ok()?;
                r.benchmarks
                    .iter()
                    .any(|b| b.counters.is_some())
                    .then_some((p, r))
            })
    });
    let Some((path, record)) = newest else {
        return format!(
            "emulator counters: none stored in {} (`orac counters` counts every kernel and saves them)",
            dir.display()
        );
    };
    let rows: Vec<(String, crate::regress::counters::Counts, bool)> = specs
        .iter()
        .filter_map(|spec| {
            let mine: Vec<_> = record
                .benchmarks
                .iter()
                .filter(|b| b.family == spec.family() && b.kernel == spec.name)
                .filter(|b| b.counters.is_some())
                .collect();
            if mine.is_empty() {
                return None;
            }
            let mut sum = crate::regress::counters::Counts::new();
            for b in &mine {
                for (k, v) in b.counters.as_ref().expect("filtered") {
                    let slot = sum.entry(k.clone()).or_insert(0);
                    // per-kernel facts (ptxas) and maxima are not added up
                    if k.starts_with("ptxas.") || k.ends_with(".max_ways") {
                        *slot = (*slot).max(*v);
                    } else {
                        *slot += v;
                    }
                }
            }
            let stale = mine
                .iter()
                .any(|b| b.kernel_source_hash != spec.source_hash);
            Some((
                format!("{}/{}", spec.family().name(), spec.name),
                sum,
                stale,
            ))
        })
        .collect();
    format!(
        "emulator counters of {} ({}, commit {}), all emu shapes of each kernel added:\n{}",
        path.display(),
        record
            .hardware
            .compiler
            .as_deref()
            .unwrap_or("unknown NVRTC"),
        record.git.short(),
        crate::report::kernel_counters_table(&rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_memory_limits_follow_the_architecture() {
        assert_eq!(shared_memory_limit("sm_80"), Some(163 * 1024));
        assert_eq!(shared_memory_limit("sm_90a"), Some(227 * 1024));
        assert_eq!(shared_memory_limit("sm_86"), Some(99 * 1024));
        assert_eq!(shared_memory_limit("sm_75"), None);
    }
}
