//! Compiling CPU kernels with the system C compiler into shared libraries, cached by a hash
//! of everything that affects the machine code: source, flags, compiler and host CPU.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::kernels::{KernelSpec, hex};

/// Flags every CPU kernel is built with (`-fopenmp` is added for OpenMP kernels).
const BASE_FLAGS: &[&str] = &["-O3", "-march=native", "-shared", "-fPIC"];

pub struct CCompiler {
    command: String,
    identity: String,
}

impl CCompiler {
    /// The compiler named by `$CC`, or `cc`; fails with an actionable message when absent.
    pub fn detect() -> Result<Self> {
        let command = std::env::var("CC")
            .ok()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "cc".to_string());
        let missing = |reason: String| Error::CompilerMissing {
            command: format!("{command} --version"),
            reason,
        };
        let out = Command::new(&command)
            .arg("--version")
            .output()
            .map_err(|e| missing(e.to_string()))?;
        if !out.status.success() {
            return Err(missing(format!("exit status {}", out.status)));
        }
        let identity = String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("unknown compiler")
            .trim()
            .to_string();
        Ok(CCompiler { command, identity })
    }

    /// First line of `cc --version`, recorded with results.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn flags(spec: &KernelSpec) -> Vec<String> {
        let mut flags: Vec<String> = BASE_FLAGS.iter().map(|f| f.to_string()).collect();
        if spec.openmp {
            flags.push("-fopenmp".into());
        }
        flags.extend(spec.flags.iter().cloned());
        flags
    }

    /// Builds `spec` into a shared library (or finds it in the cache) and returns its path.
    /// `host` (the CPU's feature flags) keeps `-march=native` builds for different CPUs
    /// apart in a shared cache.
    pub fn build(&self, spec: &KernelSpec, host: &str) -> Result<PathBuf> {
        let flags = Self::flags(spec);
        let mut hasher = Sha256::new();
        for part in [self.identity.as_str(), host, &flags.join(" "), &spec.source] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        let digest = hex(&hasher.finalize());
        let stem = format!("{}-{}-{}", spec.family().name(), spec.name, &digest[..16]);
        let dir = cache_dir();
        let lib = dir.join(format!("{stem}.so"));
        if lib.is_file() {
            return Ok(lib);
        }
        std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
            path: dir.clone(),
            source,
        })?;
        // Unique scratch names, then a rename: concurrent runs never load a half-written
        // library.
        let unique = format!("{stem}.{}", std::process::id());
        let src = dir.join(format!("{unique}.c"));
        let tmp = dir.join(format!("{unique}.so.tmp"));
        std::fs::write(&src, &spec.source).map_err(|source| Error::Write {
            path: src.clone(),
            source,
        })?;
        let result = self.compile(&flags, &src, &tmp, spec);
        let _ = std::fs::remove_file(&src);
        result?;
        std::fs::rename(&tmp, &lib).map_err(|source| Error::Write {
            path: lib.clone(),
            source,
        })?;
        Ok(lib)
    }

    fn compile(&self, flags: &[String], src: &Path, out: &Path, spec: &KernelSpec) -> Result<()> {
        let output = Command::new(&self.command)
            .args(flags)
            .arg("-o")
            .arg(out)
            .arg(src)
            .output()
            .map_err(|e| Error::CompilerMissing {
                command: self.command.clone(),
                reason: e.to_string(),
            })?;
        if output.status.success() {
            return Ok(());
        }
        let _ = std::fs::remove_file(out);
        let log = String::from_utf8_lossy(&output.stderr)
            .replace(&src.display().to_string(), &spec.source_path);
        Err(Error::Compile {
            kernel: spec.name.clone(),
            file: spec.source_path.clone(),
            log: format!(
                "$ {} {} -o <lib> {}\n{}",
                self.command,
                flags.join(" "),
                spec.source_path,
                log.trim_end()
            ),
        })
    }
}

/// Where compiled kernels are cached: `$ORAC_CACHE_DIR`, else `$XDG_CACHE_HOME/orac`, else
/// `~/.cache/orac`, else the system temp directory.
pub fn cache_dir() -> PathBuf {
    let env_dir = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env_dir("ORAC_CACHE_DIR") {
        return dir;
    }
    let base = env_dir("XDG_CACHE_HOME")
        .or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("orac").join("kernels")
}
