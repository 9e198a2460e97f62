//! Compiling CPU kernels with the system C compiler into shared libraries, cached by a hash
//! of everything that affects the machine code: source, flags, compiler and host CPU.
//!
//! Loading a library runs its constructors, so the cache is treated as code orac executes:
//! the directory must be private (created 0700; refused if another user owns it or could
//! write to it), and a library is loaded only if its bytes hash to what orac recorded when
//! it built it (`<stem>.so.sha256` next to `<stem>.so`). The hash is taken from an open
//! file descriptor, and that same descriptor is what gets loaded (library.rs), so the file
//! cannot be swapped between the check and `dlopen`.

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

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

    /// The cache stem of `spec` (family, name, key hash) and the flags it is built with.
    fn key(&self, spec: &KernelSpec, host: &str) -> (String, Vec<String>) {
        let flags = Self::flags(spec);
        let mut hasher = Sha256::new();
        for part in [self.identity.as_str(), host, &flags.join(" "), &spec.source] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        let digest = hex(&hasher.finalize());
        let stem = format!("{}-{}-{}", spec.family().name(), spec.name, &digest[..16]);
        (stem, flags)
    }

    /// Builds `spec` into a shared library in `cache` (a directory from
    /// [`private_cache_dir`]), or finds it there, and returns it open and verified. `host`
    /// (the CPU's feature flags) keeps `-march=native` builds for different CPUs apart in a
    /// shared cache. A cached library whose bytes do not match its recorded hash (tampered
    /// with, truncated by a crash, left by an older orac) is discarded and rebuilt.
    pub fn build(&self, cache: &Path, spec: &KernelSpec, host: &str) -> Result<VerifiedLibrary> {
        let (stem, flags) = self.key(spec, host);
        let lib = cache.join(format!("{stem}.so"));
        match open_verified(&lib) {
            Ok(Some(file)) => {
                return Ok(VerifiedLibrary {
                    file,
                    path: lib,
                    cached: true,
                });
            }
            Ok(None) => {}
            Err(why) => {
                eprintln!(
                    "warning: cached kernel {} {why}: not loading it, rebuilding",
                    lib.display()
                );
                discard(&lib);
            }
        }
        self.compile_into(cache, &stem, &flags, spec)
    }

    /// Discards `spec`'s cached library and builds it afresh: for a cached library that
    /// matched its hash yet failed to load.
    pub fn rebuild(&self, cache: &Path, spec: &KernelSpec, host: &str) -> Result<VerifiedLibrary> {
        let (stem, flags) = self.key(spec, host);
        discard(&cache.join(format!("{stem}.so")));
        self.compile_into(cache, &stem, &flags, spec)
    }

    /// Compiles in a private scratch directory under `cache`, then renames the library and
    /// its hash into place. The source is written at its kernel-tree path (`cpu/x.c`) and
    /// compiled from there, so the compiler's messages (and `__FILE__`) name it as the tree
    /// does, never a host path. The library is returned open: the caller loads exactly the
    /// bytes this call hashed, whatever a concurrent run does to the cached copy.
    fn compile_into(
        &self,
        cache: &Path,
        stem: &str,
        flags: &[String],
        spec: &KernelSpec,
    ) -> Result<VerifiedLibrary> {
        static BUILDS: AtomicU64 = AtomicU64::new(0);
        let scratch = cache.join(format!(
            ".build-{stem}-{}-{}",
            std::process::id(),
            BUILDS.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory of that name is a leftover of a killed process with our pid.
        let _ = std::fs::remove_dir_all(&scratch);
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Write { path, source }
        };
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&scratch)
            .map_err(write_err(&scratch))?;
        let result = self.compile_in(&scratch, cache, stem, flags, spec);
        let _ = std::fs::remove_dir_all(&scratch);
        result
    }

    fn compile_in(
        &self,
        scratch: &Path,
        cache: &Path,
        stem: &str,
        flags: &[String],
        spec: &KernelSpec,
    ) -> Result<VerifiedLibrary> {
        let write_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Write { path, source }
        };
        let rel = if spec.source_path.is_empty() {
            "kernel.c"
        } else {
            spec.source_path.as_str()
        };
        let src = scratch.join(rel);
        if let Some(parent) = src.parent() {
            std::fs::create_dir_all(parent).map_err(write_err(parent))?;
        }
        std::fs::write(&src, &spec.source).map_err(write_err(&src))?;
        let out_name = "kernel.so";
        // The compiler runs in the scratch directory: a relative `$CC` path must not move.
        let program = match std::path::absolute(&self.command) {
            Ok(abs) if self.command.contains('/') => abs,
            _ => PathBuf::from(&self.command),
        };
        let output = Command::new(program)
            .current_dir(scratch)
            .args(flags)
            .arg("-o")
            .arg(out_name)
            .arg(rel)
            .output()
            .map_err(|e| Error::CompilerMissing {
                command: self.command.clone(),
                reason: e.to_string(),
            })?;
        if !output.status.success() {
            return Err(self.compile_error(flags, rel, &output.stderr, scratch, cache, spec));
        }
        let built = scratch.join(out_name);
        let mut file = File::open(&built).map_err(|source| Error::Read {
            path: built.clone(),
            source,
        })?;
        let digest = hash_file(&mut file).map_err(|source| Error::Read {
            path: built.clone(),
            source,
        })?;
        // Durable before it is visible under its final name: a crash must not leave a
        // truncated library (or hash) that later runs would find.
        file.sync_all().map_err(write_err(&built))?;
        let hash_tmp = scratch.join("kernel.so.sha256");
        let mut record = File::create(&hash_tmp).map_err(write_err(&hash_tmp))?;
        record
            .write_all(format!("{digest}\n").as_bytes())
            .and_then(|_| record.sync_all())
            .map_err(write_err(&hash_tmp))?;
        let lib = cache.join(format!("{stem}.so"));
        let lib_hash = hash_path(&lib);
        // Renames, so concurrent runs never see a half-written file; the hash first, so a
        // library is never visible without it. Concurrent builds of one kernel give the
        // same bytes (same compiler, flags, source and relative file name); a reader that
        // ever finds one run's library next to another's hash sees a mismatch and rebuilds:
        // never a wrong load.
        std::fs::rename(&hash_tmp, &lib_hash).map_err(write_err(&lib_hash))?;
        std::fs::rename(&built, &lib).map_err(write_err(&lib))?;
        if let Ok(dir) = File::open(cache) {
            let _ = dir.sync_all();
        }
        Ok(VerifiedLibrary {
            file,
            path: lib,
            cached: false,
        })
    }

    /// The compile error, with every path as the kernel tree names it: results and PR
    /// comments carry this text, and host paths (a CI runner's temp dirs, a home
    /// directory) have no business there.
    fn compile_error(
        &self,
        flags: &[String],
        rel: &str,
        stderr: &[u8],
        scratch: &Path,
        cache: &Path,
        spec: &KernelSpec,
    ) -> Error {
        let mut log = String::from_utf8_lossy(stderr).into_owned();
        log = log.replace(&format!("{}/", scratch.display()), "");
        log = log.replace(&scratch.display().to_string(), "<build>");
        log = log.replace(&cache.display().to_string(), "<cache>");
        if let Ok(real) = cache.canonicalize() {
            log = log.replace(&real.display().to_string(), "<cache>");
        }
        // `$CC` may be an absolute path; the compiler's identity is recorded elsewhere.
        let command = Path::new(&self.command)
            .file_name()
            .map_or(self.command.clone(), |n| n.to_string_lossy().into_owned());
        Error::Compile {
            kernel: spec.name.clone(),
            file: spec.source_path.clone(),
            log: format!(
                "$ {command} {} -o <lib> {rel}\n{}",
                flags.join(" "),
                log.trim_end()
            ),
        }
    }
}

/// A compiled kernel library, open, whose bytes (read from `file`) matched the hash orac
/// recorded when it built them.
pub struct VerifiedLibrary {
    pub file: File,
    /// Its name in the cache, for messages.
    pub path: PathBuf,
    /// Found in the cache, not built by this process.
    pub cached: bool,
}

fn hash_path(lib: &Path) -> PathBuf {
    let mut name = lib.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

fn hash_file(file: &mut File) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(hex(&Sha256::digest(&bytes)))
}

/// Opens the cached library `lib` and checks the bytes read from that descriptor against
/// its recorded hash: `Ok(None)` when there is none, `Err(why)` when it must not be loaded.
fn open_verified(lib: &Path) -> std::result::Result<Option<File>, String> {
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(lib)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    let recorded = match std::fs::read_to_string(hash_path(lib)) {
        Ok(text) => text.trim().to_string(),
        Err(_) => return Err("has no recorded hash".into()),
    };
    let actual = hash_file(&mut file).map_err(|e| format!("cannot be read ({e})"))?;
    if actual != recorded {
        return Err("does not match the hash recorded when orac built it".into());
    }
    Ok(Some(file))
}

/// Removes a cached library and its hash (either may already be gone).
fn discard(lib: &Path) {
    let _ = std::fs::remove_file(lib);
    let _ = std::fs::remove_file(hash_path(lib));
}

/// Where compiled kernels are cached: `$ORAC_CACHE_DIR`, else `$XDG_CACHE_HOME/orac/kernels`,
/// else `~/.cache/orac/kernels`, else `orac-<uid>/kernels` in the system temp directory.
pub fn cache_dir() -> PathBuf {
    cache_location(|name| std::env::var_os(name), std::env::temp_dir(), euid()).0
}

/// The cache directory and, for the temp-directory fallback, the per-user directory above
/// it, which must be private too: the temp directory is everyone's, and whoever owns
/// `orac-<uid>` could replace what lies inside it.
fn cache_location(
    var: impl Fn(&str) -> Option<OsString>,
    temp: PathBuf,
    uid: u32,
) -> (PathBuf, Option<PathBuf>) {
    let env_dir = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = env_dir("ORAC_CACHE_DIR") {
        return (dir, None);
    }
    match env_dir("XDG_CACHE_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".cache"))) {
        Some(base) => (base.join("orac").join("kernels"), None),
        None => {
            let user = temp.join(format!("orac-{uid}"));
            (user.join("kernels"), Some(user))
        }
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The kernel cache directory, created private (0700) if absent, and refused with
/// [`Error::UnsafeCache`] if another user owns it or could write to it.
pub fn private_cache_dir() -> Result<PathBuf> {
    let (dir, user_dir) =
        cache_location(|name| std::env::var_os(name), std::env::temp_dir(), euid());
    if let Some(user_dir) = &user_dir {
        ensure_private(user_dir, true)?;
    }
    ensure_private(&dir, false)?;
    Ok(dir)
}

fn ensure_private(dir: &Path, in_shared_dir: bool) -> Result<()> {
    // `recursive` gives every directory it creates the mode, parents included.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    // In a shared directory a symbolic link is someone's to redirect: never follow one.
    let meta = if in_shared_dir {
        std::fs::symlink_metadata(dir)
    } else {
        std::fs::metadata(dir)
    }
    .map_err(|source| Error::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let problem = privacy_problem(meta.is_dir(), meta.uid(), meta.mode(), euid(), dir);
    match problem {
        None => Ok(()),
        Some(reason) => Err(Error::UnsafeCache {
            path: dir.to_path_buf(),
            reason,
        }),
    }
}

/// Why a cache directory with this owner and mode is not private to `me`, with the fix.
fn privacy_problem(is_dir: bool, owner: u32, mode: u32, me: u32, dir: &Path) -> Option<String> {
    if !is_dir {
        return Some(
            "it is not a directory (a symbolic link in a shared directory is refused); remove it or set ORAC_CACHE_DIR to a private directory"
                .into(),
        );
    }
    if owner != me {
        return Some(format!(
            "it is owned by uid {owner}, not by you (uid {me}), who could plant libraries orac would load; set ORAC_CACHE_DIR to a directory of your own"
        ));
    }
    if mode & 0o022 != 0 {
        let who = match (mode & 0o020 != 0, mode & 0o002 != 0) {
            (true, true) => "group and others",
            (true, false) => "its group",
            _ => "others",
        };
        return Some(format!(
            "it is writable by {who} (mode {:03o}), who could plant libraries orac would load; run `chmod 700 {}` or set ORAC_CACHE_DIR to a private directory",
            mode & 0o777,
            dir.display()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_home_the_cache_is_per_user_in_the_temp_dir() {
        let none = |_: &str| None;
        let (dir, user) = cache_location(none, PathBuf::from("/tmp"), 1234);
        assert_eq!(dir, PathBuf::from("/tmp/orac-1234/kernels"));
        assert_eq!(user, Some(PathBuf::from("/tmp/orac-1234")));
        let home = |n: &str| (n == "HOME").then(|| OsString::from("/home/u"));
        assert_eq!(
            cache_location(home, PathBuf::from("/tmp"), 1234),
            (PathBuf::from("/home/u/.cache/orac/kernels"), None)
        );
        let own = |n: &str| (n == "ORAC_CACHE_DIR").then(|| OsString::from("/c"));
        assert_eq!(
            cache_location(own, PathBuf::from("/tmp"), 1).0,
            PathBuf::from("/c")
        );
    }

    #[test]
    fn a_cache_others_own_or_can_write_is_refused_with_the_fix() {
        let dir = Path::new("/x/cache");
        assert_eq!(privacy_problem(true, 7, 0o40700, 7, dir), None);
        assert_eq!(privacy_problem(true, 7, 0o40755, 7, dir), None);
        let other = privacy_problem(true, 8, 0o40700, 7, dir).unwrap();
        assert!(
            other.contains("uid 8") && other.contains("ORAC_CACHE_DIR"),
            "{other}"
        );
        let open = privacy_problem(true, 7, 0o40777, 7, dir).unwrap();
        assert!(
            open.contains("group and others") && open.contains("chmod 700 /x/cache"),
            "{open}"
        );
        assert!(
            privacy_problem(true, 7, 0o40770, 7, dir)
                .unwrap()
                .contains("its group")
        );
        assert!(privacy_problem(false, 7, 0o120777, 7, dir).is_some());
    }

    #[test]
    fn a_new_cache_directory_is_private_and_a_shared_one_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b/kernels");
        ensure_private(&dir, false).unwrap();
        for d in [tmp.path().join("a"), tmp.path().join("a/b"), dir.clone()] {
            let mode = std::fs::metadata(&d).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = ensure_private(&dir, false).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        // In the shared temp directory a link to a private directory is still refused.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(ensure_private(&link, false).is_ok());
        assert!(ensure_private(&link, true).is_err());
    }
}
