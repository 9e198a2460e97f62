//! Describing the host CPU: model, logical cores, memory.

use crate::store::Hardware;

/// The first value of `key` in /proc/cpuinfo.
fn cpuinfo_field(cpuinfo: &str, key: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The model name; when it names no model number (VMs often report just "AMD EPYC"), the
/// CPUID family and model are appended so different generations get different keys.
fn cpu_model(cpuinfo: &str) -> String {
    let name = cpuinfo_field(cpuinfo, "model name")
        .unwrap_or_else(|| format!("unknown {} cpu", std::env::consts::ARCH));
    if name.chars().any(|c| c.is_ascii_digit()) {
        return name;
    }
    match (
        cpuinfo_field(cpuinfo, "cpu family"),
        cpuinfo_field(cpuinfo, "model"),
    ) {
        (Some(family), Some(model)) => format!("{name} family {family} model {model}"),
        _ => name,
    }
}

/// The CPU's feature flags, which decide what `-march=native` code may use.
pub fn cpu_flags() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| cpuinfo_field(&text, "flags"))
        .unwrap_or_default()
}

/// Memory the kernel may still use (MemAvailable), if the system says.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
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
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    Hardware::cpu(
        cpu_model(&cpuinfo),
        cores,
        memory_bytes(),
        compiler.map(str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_model_names_get_family_and_model() {
        let vm = "processor : 0\ncpu family\t: 25\nmodel\t\t: 1\nmodel name\t: AMD EPYC\n";
        assert_eq!(cpu_model(vm), "AMD EPYC family 25 model 1");
        let real = "cpu family : 25\nmodel : 1\nmodel name : AMD EPYC 7B13\n";
        assert_eq!(cpu_model(real), "AMD EPYC 7B13");
    }
}
