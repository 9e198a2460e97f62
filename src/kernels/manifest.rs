//! The manifest next to a backend's kernel sources (`kernels/cpu/manifest.toml`) declares
//! each kernel: its name, the operation it implements (which fixes its C signature), the
//! source file and entry symbol, compile options and limits. A kernel is fully described by
//! its files under `kernels/`; nothing about it is hard-coded in Rust.

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{KernelTree, flags};
use crate::error::{Error, Result};
use crate::suite::{Dtype, Family, Sizes};

/// The operation a kernel implements; it fixes the kernel's signature and its family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    Copy,
    Gemm,
    Attention,
    /// STREAM's triad a = b + s·c over f32 arrays (family memcpy).
    Triad,
    /// A host↔device transfer (family memcpy), a driver call only (`memcpy-htod`,
    /// `memcpy-dtoh`): its own op because its bytes count once (src/suite/memcpy.rs).
    Transfer,
    /// Decode attention: one query token over a KV cache, grouped-query heads. Its own op
    /// (not an attention flag) because its signature differs, and kernels of older
    /// revisions, loaded by `orac ab`, keep theirs.
    Decode,
}

impl Op {
    pub fn family(self) -> Family {
        match self {
            Op::Copy | Op::Transfer | Op::Triad => Family::Memcpy,
            Op::Gemm => Family::Gemm,
            Op::Attention | Op::Decode => Family::Attention,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    /// Problem sizes for this backend's kernels (`host` unless declared).
    #[serde(default)]
    sizes: Sizes,
    kernel: Vec<RawKernel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKernel {
    name: String,
    op: Op,
    dtype: Dtype,
    #[serde(default)]
    source: String,
    #[serde(default)]
    entry: String,
    /// A library call instead of a source kernel (e.g. "memcpy-dtod").
    vendor: Option<String>,
    #[serde(default)]
    openmp: bool,
    #[serde(default)]
    flags: Vec<String>,
    max_gflop: Option<f64>,
    max_head_dim: Option<u64>,
    block: Option<[u32; 3]>,
    grid: Option<String>,
    #[serde(default)]
    shared_bytes: u32,
    #[serde(default)]
    dynamic_shared_bytes: u32,
    #[serde(default)]
    expect: Vec<String>,
    #[serde(default)]
    description: String,
    /// Several launches in sequence (CUDA), instead of `entry`, `block` and `grid`.
    #[serde(default)]
    stage: Vec<RawStage>,
    /// Device scratch memory the stages share: "scores" (attention: B·H·Sq·Sk f32).
    scratch: Option<String>,
    /// The one architecture the kernel is written for (e.g. "sm_90a" for wgmma and TMA).
    arch: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    entry: String,
    block: [u32; 3],
    grid: String,
    #[serde(default)]
    shared_bytes: u32,
    #[serde(default)]
    dynamic_shared_bytes: u32,
}

/// One CUDA launch of a kernel: its entry and launch shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub entry: String,
    /// Threads per block.
    pub block: [u32; 3],
    /// Grid rule (see `kernels/cuda/manifest.toml`).
    pub grid: String,
    /// Static shared memory the entry declares (for the occupancy report).
    pub shared_bytes: u32,
    /// Dynamic shared memory per block, passed at launch (above 48 KiB the backend raises
    /// the entry's limit first).
    pub dynamic_shared_bytes: u32,
}

/// Scratch memory kinds a manifest may declare.
pub const KNOWN_SCRATCH: &[&str] = &["scores"];

/// Library calls a manifest may declare as `vendor`.
pub const KNOWN_VENDOR_CALLS: &[&str] =
    &["memcpy-dtod", "memcpy-htod", "memcpy-dtoh", "cublas-gemm"];

/// Expectations `orac kernels` knows how to check.
/// `no-spills`: ptxas reports no spill stores or loads. `tensor-cores`: the SASS has
/// tensor-core instructions (HMMA/HGMMA…, counted with cuobjdump).
pub const KNOWN_EXPECTATIONS: &[&str] = &["no-spills", "tensor-cores"];

/// One kernel as declared by a manifest, with its source text loaded.
#[derive(Debug, Clone)]
pub struct KernelSpec {
    pub name: String,
    pub op: Op,
    pub dtype: Dtype,
    /// Path of the source relative to the kernel tree's root (e.g. `cpu/gemm_blocked.c`).
    pub source_path: String,
    pub source: String,
    /// SHA-256 of the source text, recorded with every result.
    pub source_hash: String,
    pub entry: String,
    /// A vendor library call measured like a kernel (no source); e.g. "memcpy-dtod".
    pub vendor: Option<String>,
    pub openmp: bool,
    pub flags: Vec<String>,
    pub max_gflop: Option<f64>,
    /// Attention kernels: the largest head_dim the kernel supports; larger shapes are
    /// not generated for it.
    pub max_head_dim: Option<u64>,
    /// CUDA kernels: the launches one run makes, in order (one for most kernels; several
    /// for a pipeline such as unfused attention). Empty for CPU kernels and vendor calls.
    pub stages: Vec<Stage>,
    /// Device scratch the stages share ("scores"), passed to each as a last argument.
    pub scratch: Option<String>,
    /// The one architecture the kernel is written for, with its feature suffix (e.g.
    /// "sm_90a": wgmma and TMA exist only there); `None` for portable kernels.
    pub arch: Option<String>,
    /// Checks on the compiled code, e.g. "no-spills".
    pub expect: Vec<String>,
    /// The problem sizes its backend declares.
    pub sizes: Sizes,
    pub description: String,
}

impl KernelSpec {
    pub fn family(&self) -> Family {
        self.op.family()
    }

    /// The architecture to compile for on `target` (e.g. "sm_90"): `target` itself for a
    /// portable kernel; the kernel's own arch ("sm_90a") where the numbers match; `None`
    /// where the kernel cannot run there.
    pub fn arch_for(&self, target: &str) -> Option<String> {
        match &self.arch {
            None => Some(target.to_string()),
            Some(own) => (arch_number(own) == arch_number(target)).then(|| own.clone()),
        }
    }

    /// The kernel named `name` of `family` among `specs` (names are unique per family).
    pub fn find<'a>(specs: &'a [KernelSpec], family: Family, name: &str) -> Option<&'a KernelSpec> {
        specs
            .iter()
            .find(|k| k.name == name && k.family() == family)
    }
}

/// Loads `<backend_dir>/manifest.toml` from `tree` and every source it names.
pub fn load(tree: &KernelTree, backend_dir: &str) -> Result<Vec<KernelSpec>> {
    let manifest_path = format!("{backend_dir}/manifest.toml");
    let text = tree.read(&manifest_path)?;
    let where_ = || format!("{} ({})", manifest_path, tree.describe());
    let file: ManifestFile = toml::from_str(&text).map_err(|e| Error::Manifest {
        path: where_(),
        reason: e.to_string(),
    })?;
    let mut specs: Vec<KernelSpec> = Vec::new();
    for raw in file.kernel {
        let bad = |reason: String| Error::Manifest {
            path: where_(),
            reason: format!("kernel '{}': {reason}", raw.name),
        };
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(
                "name must be non-empty ASCII letters, digits, '-' or '_'".into(),
            ));
        }
        // Benchmark ids name the family, not the op: names are unique per family.
        if specs
            .iter()
            .any(|s| s.name == raw.name && s.family() == raw.op.family())
        {
            return Err(bad(format!(
                "declared twice in the {} family",
                raw.op.family().name()
            )));
        }
        if !raw
            .entry
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(bad(format!("entry '{}' is not a C identifier", raw.entry)));
        }
        if raw.source.contains("..") || raw.source.starts_with('/') {
            return Err(bad(format!(
                "source '{}' must stay inside {backend_dir}/",
                raw.source
            )));
        }
        // Checked here, at parse time, so a tree with a dangerous flag is refused before
        // anything is compiled (src/kernels/flags.rs says why it is an allowlist).
        let check_flag = if backend_dir == "cuda" {
            flags::check_nvrtc
        } else {
            flags::check_c
        };
        if let Some(why) = raw.flags.iter().find_map(|f| check_flag(f)) {
            return Err(bad(why));
        }
        let bytewise = matches!(raw.op, Op::Copy | Op::Transfer);
        let copy_dtype_ok = bytewise == (raw.dtype == Dtype::U8);
        let cpu_dtype_ok = raw.dtype == Dtype::U8 || raw.dtype == Dtype::F32;
        // The C signatures take f32; the CUDA ones also take bf16 (GEMM and attention).
        if !copy_dtype_ok || (backend_dir == "cpu" && !cpu_dtype_ok) {
            return Err(bad(format!(
                "dtype {} is not supported for {:?} here",
                raw.dtype, raw.op
            )));
        }
        if let Some(unknown) = raw
            .expect
            .iter()
            .find(|e| !KNOWN_EXPECTATIONS.contains(&e.as_str()))
        {
            return Err(bad(format!(
                "unknown expectation '{unknown}' (known: {})",
                KNOWN_EXPECTATIONS.join(", ")
            )));
        }
        let stages = if backend_dir != "cuda" || raw.vendor.is_some() {
            if !raw.stage.is_empty() || raw.scratch.is_some() {
                return Err(bad(
                    "`stage` and `scratch` are for CUDA source kernels".into()
                ));
            }
            Vec::new()
        } else if raw.stage.is_empty() {
            let (Some(block), Some(grid)) = (raw.block, raw.grid.clone()) else {
                return Err(bad("CUDA kernels need `block` and `grid`".into()));
            };
            vec![Stage {
                entry: raw.entry.clone(),
                block,
                grid,
                shared_bytes: raw.shared_bytes,
                dynamic_shared_bytes: raw.dynamic_shared_bytes,
            }]
        } else {
            if !raw.entry.is_empty() || raw.block.is_some() || raw.grid.is_some() {
                return Err(bad(
                    "a kernel with stages declares `entry`, `block` and `grid` per stage".into(),
                ));
            }
            if raw.stage.len() == 1 && raw.scratch.is_none() {
                return Err(bad(
                    "one stage without scratch is a plain kernel: give `entry`, `block` and `grid`"
                        .into(),
                ));
            }
            let mut stages = Vec::new();
            for s in &raw.stage {
                if s.entry.is_empty()
                    || !s
                        .entry
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return Err(bad(format!(
                        "stage entry '{}' is not a C identifier",
                        s.entry
                    )));
                }
                stages.push(Stage {
                    entry: s.entry.clone(),
                    block: s.block,
                    grid: s.grid.clone(),
                    shared_bytes: s.shared_bytes,
                    dynamic_shared_bytes: s.dynamic_shared_bytes,
                });
            }
            stages
        };
        if let Some(arch) = &raw.arch
            && (backend_dir != "cuda" || arch_number(arch).is_none())
        {
            return Err(bad(format!(
                "arch '{arch}': expected a CUDA architecture such as \"sm_90a\""
            )));
        }
        if let Some(kind) = &raw.scratch
            && !(KNOWN_SCRATCH.contains(&kind.as_str()) && raw.op == Op::Attention)
        {
            return Err(bad(format!(
                "scratch '{kind}' is not known for op {:?} (known: \"scores\" for attention)",
                raw.op
            )));
        }
        if let Some(v) = &raw.vendor {
            if !KNOWN_VENDOR_CALLS.contains(&v.as_str()) {
                return Err(bad(format!(
                    "unknown vendor call '{v}' (known: {})",
                    KNOWN_VENDOR_CALLS.join(", ")
                )));
            }
        } else if raw.source.is_empty() || (raw.entry.is_empty() && stages.is_empty()) {
            return Err(bad("needs `source` and `entry` (or `vendor`)".into()));
        }
        let transfer_call = matches!(raw.vendor.as_deref(), Some("memcpy-htod" | "memcpy-dtoh"));
        if (raw.op == Op::Transfer) != transfer_call {
            return Err(bad(
                "op \"transfer\" goes with vendor \"memcpy-htod\" or \"memcpy-dtoh\", and only with them".into(),
            ));
        }
        let source_path = if raw.vendor.is_some() {
            String::new()
        } else {
            format!("{backend_dir}/{}", raw.source)
        };
        let source = if raw.vendor.is_some() {
            String::new()
        } else {
            tree.read(&source_path)?
        };
        let source_hash = hex(&Sha256::digest(source.as_bytes()));
        specs.push(KernelSpec {
            name: raw.name,
            op: raw.op,
            dtype: raw.dtype,
            source_path,
            source,
            source_hash,
            entry: raw.entry,
            vendor: raw.vendor,
            openmp: raw.openmp,
            flags: raw.flags,
            max_gflop: raw.max_gflop,
            max_head_dim: raw.max_head_dim,
            stages,
            scratch: raw.scratch,
            arch: raw.arch,
            expect: raw.expect,
            sizes: file.sizes,
            description: raw.description,
        });
    }
    Ok(specs)
}

/// The number of a CUDA architecture name: 90 for "sm_90", "sm_90a" and "compute_90".
pub fn arch_number(arch: &str) -> Option<u32> {
    let digits = arch
        .strip_prefix("sm_")
        .or_else(|| arch.strip_prefix("compute_"))?
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse().ok()
}

/// Lowercase hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_cpu_manifest_loads_and_covers_all_families() {
        let specs = load(&KernelTree::Embedded, "cpu").unwrap();
        for family in [Family::Memcpy, Family::Gemm, Family::Attention] {
            assert!(
                specs.iter().filter(|s| s.family() == family).count() >= 2,
                "{family:?} needs at least two CPU kernels"
            );
        }
        assert!(specs.iter().all(|s| s.source_hash.len() == 64));
    }

    #[test]
    fn builtin_cuda_manifest_declares_launches() {
        let specs = load(&KernelTree::Embedded, "cuda").unwrap();
        assert!(!specs.is_empty());
        assert!(
            specs
                .iter()
                .all(|s| s.vendor.is_some() == s.stages.is_empty())
        );
        assert!(specs.iter().any(|s| s.source.contains("__global__")));
    }

    #[test]
    fn manifest_errors_name_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cpu")).unwrap();
        std::fs::write(
            dir.path().join("cpu/manifest.toml"),
            "[[kernel]]\nname = \"x\"\nop = \"gemm\"\ndtype = \"f32\"\nsource = \"../evil.c\"\nentry = \"f\"\n",
        )
        .unwrap();
        let err = load(&KernelTree::Dir(dir.path().into()), "cpu").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("kernel 'x'") && msg.contains("inside cpu/"),
            "{msg}"
        );
    }

    #[test]
    fn flags_outside_the_allowlist_are_refused_naming_flag_and_manifest() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cpu")).unwrap();
        std::fs::write(dir.path().join("cpu/a.c"), "void f(void) {}").unwrap();
        let with_flags = |flags: &str| {
            std::fs::write(
                dir.path().join("cpu/manifest.toml"),
                format!(
                    "[[kernel]]\nname = \"x\"\nop = \"gemm\"\ndtype = \"f32\"\nsource = \"a.c\"\nentry = \"f\"\nflags = {flags}\n"
                ),
            )
            .unwrap();
            load(&KernelTree::Dir(dir.path().into()), "cpu")
        };
        let specs = with_flags("[\"-O2\", \"-funroll-loops\", \"-DTILE=32\"]").unwrap();
        assert_eq!(specs[0].flags, ["-O2", "-funroll-loops", "-DTILE=32"]);
        let err = with_flags("[\"-O2\", \"-fplugin=/tmp/evil.so\"]").unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        let msg = err.to_string();
        assert!(
            msg.contains("'-fplugin=/tmp/evil.so'") && msg.contains("cpu/manifest.toml"),
            "{msg}"
        );
        // The CUDA manifest is held to NVRTC's list.
        let err = load_cuda_kernel(
            "op = \"gemm\"\ndtype = \"f32\"\nsource = \"a.cu\"\nentry = \"f\"\nblock = [1, 1, 1]\ngrid = \"tiles:64x64\"\nflags = [\"--include-path=/etc\"]\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("'--include-path=/etc'"), "{err}");
    }

    #[test]
    fn missing_source_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cpu")).unwrap();
        std::fs::write(
            dir.path().join("cpu/manifest.toml"),
            "[[kernel]]\nname = \"x\"\nop = \"gemm\"\ndtype = \"f32\"\nsource = \"nope.c\"\nentry = \"f\"\n",
        )
        .unwrap();
        let err = load(&KernelTree::Dir(dir.path().into()), "cpu").unwrap_err();
        assert!(err.to_string().contains("nope.c"), "{err}");
    }

    #[test]
    fn names_are_unique_per_family_across_ops() {
        // Ids name the family, not the op: an attention and a decode kernel of one name
        // would share ids.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cpu")).unwrap();
        std::fs::write(dir.path().join("cpu/a.c"), "void f(void) {}").unwrap();
        let kernel = |op: &str| {
            format!(
                "[[kernel]]\nname = \"x\"\nop = \"{op}\"\ndtype = \"f32\"\nsource = \"a.c\"\nentry = \"f\"\n"
            )
        };
        std::fs::write(
            dir.path().join("cpu/manifest.toml"),
            kernel("attention") + &kernel("decode"),
        )
        .unwrap();
        let err = load(&KernelTree::Dir(dir.path().into()), "cpu").unwrap_err();
        assert!(err.to_string().contains("attention family"), "{err}");
        // A gemm of the same name is another family: fine.
        std::fs::write(
            dir.path().join("cpu/manifest.toml"),
            kernel("attention") + &kernel("gemm"),
        )
        .unwrap();
        assert_eq!(
            load(&KernelTree::Dir(dir.path().into()), "cpu")
                .unwrap()
                .len(),
            2
        );
    }

    /// Loads a CUDA manifest of one kernel "x" whose remaining fields are `fields` (next to an
    /// empty `a.cu`).
    fn load_cuda_kernel(fields: &str) -> Result<Vec<KernelSpec>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cuda")).unwrap();
        std::fs::write(dir.path().join("cuda/a.cu"), "").unwrap();
        std::fs::write(
            dir.path().join("cuda/manifest.toml"),
            format!("[[kernel]]\nname = \"x\"\n{fields}"),
        )
        .unwrap();
        load(&KernelTree::Dir(dir.path().into()), "cuda")
    }

    #[test]
    fn transfers_are_driver_calls_only() {
        let load_one = |body: &str| load_cuda_kernel(&format!("dtype = \"u8\"\n{body}"));
        assert!(load_one("op = \"transfer\"\nvendor = \"memcpy-htod\"\n").is_ok());
        let source = load_one(
            "op = \"transfer\"\nsource = \"a.cu\"\nentry = \"f\"\nblock = [1, 1, 1]\ngrid = \"elements:1\"\n",
        )
        .unwrap_err();
        assert!(source.to_string().contains("memcpy-htod"), "{source}");
        let wrong_op = load_one("op = \"copy\"\nvendor = \"memcpy-dtoh\"\n").unwrap_err();
        assert!(wrong_op.to_string().contains("transfer"), "{wrong_op}");
    }

    #[test]
    fn pipelines_declare_their_stages() {
        let specs = load(&KernelTree::Embedded, "cuda").unwrap();
        let unfused = KernelSpec::find(&specs, Family::Attention, "unfused").unwrap();
        let entries: Vec<&str> = unfused.stages.iter().map(|s| s.entry.as_str()).collect();
        assert_eq!(
            entries,
            [
                "orac_attention_unfused_scores",
                "orac_attention_unfused_softmax",
                "orac_attention_unfused_output"
            ]
        );
        assert_eq!(unfused.scratch.as_deref(), Some("scores"));
        let flash = KernelSpec::find(&specs, Family::Attention, "flash").unwrap();
        assert_eq!(flash.stages.len(), 1);
        assert_eq!(flash.stages[0].entry, flash.entry);

        let load_one =
            |body: &str| load_cuda_kernel(&format!("dtype = \"f32\"\nsource = \"a.cu\"\n{body}"));
        let stage = "[[kernel.stage]]\nentry = \"s1\"\nblock = [32, 1, 1]\ngrid = \"rows:1\"\n";
        let lone = load_one(&format!("op = \"attention\"\n{stage}")).unwrap_err();
        assert!(lone.to_string().contains("plain kernel"), "{lone}");
        assert!(load_one(&format!("op = \"attention\"\n{stage}{stage}")).is_ok());
        assert!(
            load_one(&format!(
                "op = \"attention\"\nscratch = \"scores\"\n{stage}"
            ))
            .is_ok()
        );
        let both = load_one(&format!("op = \"attention\"\nentry = \"f\"\n{stage}")).unwrap_err();
        assert!(both.to_string().contains("per stage"), "{both}");
        let scratch =
            load_one(&format!("op = \"gemm\"\nscratch = \"scores\"\n{stage}")).unwrap_err();
        assert!(
            scratch.to_string().contains("scratch 'scores'"),
            "{scratch}"
        );
        let bad_entry = load_one(
            "op = \"attention\"\nscratch = \"scores\"\n[[kernel.stage]]\nentry = \"no way\"\nblock = [1, 1, 1]\ngrid = \"rows:1\"\n",
        )
        .unwrap_err();
        assert!(
            bad_entry.to_string().contains("C identifier"),
            "{bad_entry}"
        );
    }

    #[test]
    fn architecture_specific_kernels_build_only_for_their_arch() {
        assert_eq!(arch_number("sm_90a"), Some(90));
        assert_eq!(arch_number("compute_80"), Some(80));
        assert_eq!(arch_number("sm_"), None);
        assert_eq!(arch_number("gfx90a"), None);
        let mut spec = load(&KernelTree::Embedded, "cuda").unwrap().remove(0);
        spec.arch = None;
        assert_eq!(spec.arch_for("sm_80").as_deref(), Some("sm_80"));
        spec.arch = Some("sm_90a".into());
        assert_eq!(spec.arch_for("sm_90").as_deref(), Some("sm_90a"));
        assert_eq!(spec.arch_for("sm_90a").as_deref(), Some("sm_90a"));
        assert_eq!(spec.arch_for("sm_80"), None);
        assert_eq!(spec.arch_for("sm_100"), None);

        let err = load_cuda_kernel(
            "op = \"gemm\"\ndtype = \"bf16\"\nsource = \"a.cu\"\nentry = \"f\"\nblock = [128, 1, 1]\ngrid = \"tiles:64x64\"\narch = \"hopper\"\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("arch 'hopper'"), "{err}");
    }
}
