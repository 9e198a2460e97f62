//! The hardware a run was measured on, and its key: a readable slug of the stable fields
//! only (model and size, never measured speeds), so runs of one machine type group together.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    /// e.g. `cpu-amd-epyc-7b13-x2` or `nvidia-h100-80gb-hbm3`.
    pub key: String,
    pub cpu_model: String,
    /// Logical CPUs this process may use.
    pub cpu_cores: u32,
    pub memory_bytes: Option<u64>,
    pub os: String,
    pub arch: String,
    /// The C compiler that built the CPU kernels (first line of `cc --version`).
    pub compiler: Option<String>,
}

impl Hardware {
    pub fn cpu(
        cpu_model: String,
        cpu_cores: u32,
        memory_bytes: Option<u64>,
        compiler: Option<String>,
    ) -> Self {
        Hardware {
            key: format!("cpu-{}-x{cpu_cores}", slug(&cpu_model)),
            cpu_model,
            cpu_cores,
            memory_bytes,
            os: std::env::consts::OS.to_string(),
            arch: std::env::consts::ARCH.to_string(),
            compiler,
        }
    }
}

/// Lowercase ASCII letters and digits joined by single dashes, without trademark noise:
/// `Intel(R) Xeon(R) CPU @ 2.20GHz` → `intel-xeon-2-20ghz`.
pub fn slug(text: &str) -> String {
    let lower = text.to_lowercase().replace("(r)", " ").replace("(tm)", " ");
    let words: Vec<String> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !matches!(*w, "cpu" | "processor"))
        .map(str::to_string)
        .collect();
    if words.is_empty() {
        "unknown".to_string()
    } else {
        words.join("-")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_readable_and_stable() {
        assert_eq!(slug("AMD EPYC 7B13"), "amd-epyc-7b13");
        assert_eq!(slug("Intel(R) Xeon(R) CPU @ 2.20GHz"), "intel-xeon-2-20ghz");
        assert_eq!(slug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");
        assert_eq!(slug("  ** "), "unknown");
        let hw = Hardware::cpu("AMD EPYC 7B13".into(), 2, None, None);
        assert_eq!(hw.key, "cpu-amd-epyc-7b13-x2");
    }
}
