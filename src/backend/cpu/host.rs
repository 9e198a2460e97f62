//! Describing the host CPU: model, logical cores, memory.

use crate::store::Hardware;

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| format!("unknown {} cpu", std::env::consts::ARCH))
}

fn memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The host as the CPU backend sees it; `compiler` is the C compiler's identity.
pub fn host_hardware(compiler: Option<&str>) -> Hardware {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get() as u32)
        .unwrap_or(1);
    Hardware::cpu(
        cpu_model(),
        cores,
        memory_bytes(),
        compiler.map(str::to_string),
    )
}
