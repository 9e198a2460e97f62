//! Finding the CUDA toolkit pieces orac uses (libnvrtc, libcublas, the CUDA headers, ptxas)
//! without relying on the library path: `$ORAC_CUDA_HOME`, `$CUDA_HOME`, `$CUDA_PATH`,
//! `/usr/local/cuda*`, and NVIDIA's Python packages in site-packages (`nvidia/cu13/…` for
//! CUDA 13, `nvidia/cuda_nvrtc`, `nvidia/cuda_runtime`, `nvidia/cublas`, … for CUDA 12, as
//! pip-installed PyTorch carries them). Which of them to use is decided in `choose`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::choose::{self, Choice, Found, Version};

/// Directories under site-packages that hold a CUDA layout (include/, lib/, bin/).
const PYTHON_LAYOUTS: &[&str] = &[
    "nvidia/cu13",
    "nvidia/cu12",
    "nvidia/cuda_nvrtc",
    "nvidia/cuda_runtime",
    "nvidia/cuda_nvcc",
    "nvidia/cublas",
];

const LIB_DIRS: &[&str] = &["lib64", "lib", "lib/x64"];

/// A directory that may hold a CUDA layout, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub dir: PathBuf,
    pub origin: String,
    pub explicit: bool,
}

/// The site-packages directory `dir` is in or is (pip's `…/site-packages/nvidia/cuda_nvrtc`,
/// or a site-packages holding `nvidia/`), so `$ORAC_CUDA_HOME` pointing at one pip layout
/// also finds its siblings (the runtime headers beside NVRTC).
fn implied_site(dir: &Path) -> Option<PathBuf> {
    if dir.join("nvidia").is_dir() {
        return Some(dir.to_path_buf());
    }
    dir.ancestors()
        .find(|a| {
            a.file_name()
                .is_some_and(|n| n == "site-packages" || n == "dist-packages")
        })
        .map(Path::to_path_buf)
}

/// CUDA roots to look in, most explicit first (existing directories only, each once).
/// `sites` are Python site-packages directories; `system` the system toolkits
/// (`/usr/local/cuda`, `/usr/local/cuda-12.8`, …).
pub fn candidate_roots(
    env: &dyn Fn(&str) -> Option<String>,
    sites: &[PathBuf],
    system: &[PathBuf],
) -> Vec<Root> {
    // ORAC_CUDA_HOME first: it points orac (only) at a toolkit, without the rebuild that
    // changing CUDA_HOME triggers in cudarc's build script.
    let mut roots = Vec::new();
    let mut sites: Vec<(PathBuf, bool)> = sites.iter().map(|s| (s.clone(), false)).collect();
    for key in ["ORAC_CUDA_HOME", "CUDA_HOME", "CUDA_PATH"] {
        let Some(dir) = env(key).filter(|v| !v.is_empty()).map(PathBuf::from) else {
            continue;
        };
        if let Some(site) = implied_site(&dir) {
            sites.insert(0, (site, true));
        }
        roots.push(Root {
            dir,
            origin: format!("${key}"),
            explicit: true,
        });
    }
    // A site named through $ORAC_CUDA_HOME counts as named; system toolkits come after it.
    let (named, others): (Vec<_>, Vec<_>) = sites.into_iter().partition(|(_, e)| *e);
    let site_roots = |list: Vec<(PathBuf, bool)>| -> Vec<Root> {
        list.into_iter()
            .flat_map(|(site, explicit)| {
                PYTHON_LAYOUTS.iter().map(move |layout| Root {
                    dir: site.join(layout),
                    origin: format!("pip, {}", site.display()),
                    explicit,
                })
            })
            .collect()
    };
    roots.extend(site_roots(named));
    roots.extend(system.iter().map(|dir| Root {
        dir: dir.clone(),
        origin: dir.display().to_string(),
        explicit: false,
    }));
    roots.extend(site_roots(others));
    let mut seen = Vec::new();
    roots.retain(|r| {
        let key = r.dir.canonicalize().unwrap_or_else(|_| r.dir.clone());
        r.dir.is_dir() && !seen.contains(&key) && {
            seen.push(key);
            true
        }
    });
    roots
}

/// Python site-packages directories: `python3`'s `sys.path` and those of an active
/// virtualenv or conda environment.
pub fn python_sites() -> Vec<PathBuf> {
    let mut paths = Vec::new();
    if let Ok(out) = Command::new("python3")
        .args([
            "-c",
            "import sys; print('\\n'.join(p for p in sys.path if p))",
        ])
        .output()
        && out.status.success()
    {
        paths.extend(
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(PathBuf::from),
        );
    }
    for prefix in ["VIRTUAL_ENV", "CONDA_PREFIX"]
        .iter()
        .filter_map(std::env::var_os)
    {
        paths.extend(
            dirs_matching(&Path::new(&prefix).join("lib"), "python3")
                .map(|d| d.join("site-packages")),
        );
    }
    paths
}

/// Entries of `dir` whose names start with `prefix`, newest-looking (reverse-sorted) first.
fn dirs_matching(dir: &Path, prefix: &str) -> impl Iterator<Item = PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect();
    found.sort();
    found.reverse();
    found.into_iter()
}

/// `/usr/local/cuda`, then `/usr/local/cuda-*`.
pub fn system_toolkits() -> Vec<PathBuf> {
    dirs_matching(Path::new("/usr/local"), "cuda")
        .filter(|d| {
            let n = d.file_name().unwrap_or_default().to_string_lossy();
            n == "cuda" || n.starts_with("cuda-")
        })
        .collect()
}

/// The roots on this machine.
pub fn discover_roots() -> Vec<Root> {
    candidate_roots(
        &|k| std::env::var(k).ok(),
        &python_sites(),
        &system_toolkits(),
    )
}

/// `major.minor` from `lib<name>.so.M.m[.p]`.
fn version_in_name(file: &str, stem: &str) -> Option<Version> {
    Version::parse(file.strip_prefix(stem)?).filter(|v| v.minor.is_some())
}

/// `lib<name>.so.<major>` in the roots' library directories, with the version: from the
/// file the soname link points to (`libnvrtc.so.12.8.93`), else from NVRTC's builtins
/// beside it (`libnvrtc-builtins.so.12.8`), else the major only.
pub fn libraries(roots: &[Root], name: &str) -> Vec<Found> {
    let stem = format!("lib{name}.so.");
    let mut found = Vec::new();
    for root in roots {
        for dir in LIB_DIRS.iter().map(|d| root.dir.join(d)) {
            for path in dirs_matching(&dir, &stem) {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                let Some(major) = file.strip_prefix(&stem).and_then(|m| m.parse::<u32>().ok())
                else {
                    continue;
                };
                let linked = std::fs::read_link(&path)
                    .ok()
                    .and_then(|t| version_in_name(&t.file_name()?.to_string_lossy(), &stem));
                let builtins = dirs_matching(&dir, &format!("lib{name}-builtins.so.{major}."))
                    .find_map(|b| {
                        version_in_name(
                            &b.file_name()?.to_string_lossy(),
                            &format!("lib{name}-builtins.so."),
                        )
                    });
                let version = linked
                    .or(builtins)
                    .or_else(|| pip_version(&root.dir))
                    .filter(|v| v.major == major)
                    .unwrap_or(Version { major, minor: None });
                found.push(Found {
                    path,
                    version: Some(version),
                    root: root.dir.clone(),
                    origin: root.origin.clone(),
                    explicit: root.explicit,
                });
            }
        }
    }
    found
}

/// The version a header directory declares (`CUDART_VERSION` in `cuda_runtime_api.h`, or
/// `CUDA_VERSION` in `cuda.h`).
fn header_version(include: &Path) -> Option<Version> {
    [
        ("cuda_runtime_api.h", "CUDART_VERSION"),
        ("cuda.h", "CUDA_VERSION"),
    ]
    .iter()
    .find_map(|(file, macro_name)| {
        let text = std::fs::read_to_string(include.join(file)).ok()?;
        text.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("#define") && words.next() == Some(*macro_name))
                .then(|| words.next()?.parse().ok())
                .flatten()
                .map(Version::from_api)
        })
    })
}

/// The version of the pip package that installed `root` (`site/nvidia/cuda_nvcc` ←
/// `site/nvidia_cuda_nvcc_cu12-12.8.93.dist-info`), for layouts that carry no version file.
fn pip_version(root: &Path) -> Option<Version> {
    let layout = root.file_name()?.to_string_lossy().into_owned();
    let site = root.parent().filter(|p| p.ends_with("nvidia"))?.parent()?;
    let prefix = format!("nvidia_{layout}");
    dirs_matching(site, &prefix).find_map(|d| {
        let name = d.file_name()?.to_string_lossy().into_owned();
        let rest = name.strip_prefix(&prefix)?.strip_suffix(".dist-info")?;
        // `_cu12-12.8.93` or `-13.5.37`.
        let version = rest.rsplit_once('-')?.1;
        Version::parse(version)
    })
}

/// `include/` directories holding `marker`: `cuda_bf16.h` (the headers kernels include) or
/// `crt/mma.h` (what `mma.h` includes; pip's CUDA 12 ships it in nvidia-cuda-nvcc-cu12).
pub fn header_dirs(roots: &[Root], marker: &str) -> Vec<Found> {
    roots
        .iter()
        .map(|r| (r, r.dir.join("include")))
        .filter(|(_, d)| d.join(marker).is_file())
        .map(|(r, d)| Found {
            version: header_version(&d).or_else(|| pip_version(&r.dir)),
            path: d,
            root: r.dir.clone(),
            origin: r.origin.clone(),
            explicit: r.explicit,
        })
        .collect()
}

/// `name` in the roots' `bin/` and then on `PATH`, each with the version `version_of` reads.
pub fn tools(
    roots: &[Root],
    name: &str,
    path_var: Option<&std::ffi::OsStr>,
    version_of: &dyn Fn(&Path) -> Option<Version>,
) -> Vec<Found> {
    let in_roots = roots
        .iter()
        .map(|r| (r.dir.join("bin").join(name), r.clone()));
    let on_path = path_var
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| {
            let root = Root {
                origin: "$PATH".into(),
                dir: d
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| d.clone()),
                explicit: false,
            };
            (d.join(name), root)
        });
    in_roots
        .chain(on_path)
        .filter(|(p, _)| p.is_file())
        .map(|(path, r)| Found {
            version: version_of(&path).or_else(|| pip_version(&r.dir)),
            path,
            root: r.dir,
            origin: r.origin,
            explicit: r.explicit,
        })
        .collect()
}

/// What `tool --version` says, e.g. `Cuda compilation tools, release 12.8, V12.8.93`.
pub fn tool_version(tool: &Path) -> Option<Version> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let release = text.split("release ").nth(1)?;
    Version::parse(release.split([',', ' ', '\n']).next()?)
}

/// The toolkit orac uses on this machine: discovery, then the choices for `driver`.
#[derive(Debug, Clone)]
pub struct Toolkit {
    pub roots: Vec<Root>,
    pub nvrtc: Choice,
    /// The headers that go with the chosen NVRTC (`None` without one).
    pub headers: Option<Choice>,
    /// Where `crt/` is, when not beside those headers (pip's CUDA 12: nvidia/cuda_nvcc).
    pub crt: Option<Choice>,
    pub cublas: Choice,
}

impl Toolkit {
    /// Chooses among what `roots` hold, for a driver of API version `driver` (`None`: none).
    pub fn resolve(roots: Vec<Root>, driver: Option<i32>) -> Self {
        let nvrtc = choose::choose_nvrtc(driver, &libraries(&roots, "nvrtc"));
        let headers = nvrtc
            .chosen
            .as_ref()
            .map(|n| choose::choose_matching("headers", n, &header_dirs(&roots, "cuda_bf16.h")));
        let crt = match (
            &nvrtc.chosen,
            headers.as_ref().and_then(|h| h.chosen.as_ref()),
        ) {
            (Some(n), Some(h)) if !h.path.join("crt/mma.h").is_file() => Some(
                choose::choose_matching("crt/ headers", n, &header_dirs(&roots, "crt/mma.h")),
            ),
            _ => None,
        };
        let cublas = choose::choose_cublas(driver, &libraries(&roots, "cublas"));
        Toolkit {
            roots,
            nvrtc,
            headers,
            crt,
            cublas,
        }
    }

    /// This machine's toolkit for `driver`.
    pub fn discover(driver: Option<i32>) -> Self {
        Self::resolve(discover_roots(), driver)
    }

    /// The include directories to give NVRTC: the chosen headers (and `crt/`), or none.
    pub fn include_dirs(&self) -> Vec<PathBuf> {
        self.headers
            .iter()
            .chain(&self.crt)
            .filter_map(|c| c.chosen.as_ref())
            .map(|f| f.path.clone())
            .collect()
    }

    /// The ptxas that goes with the chosen NVRTC (PTX of a newer ISA than ptxas knows fails).
    pub fn ptxas(&self) -> Choice {
        let found = tools(
            &self.roots,
            "ptxas",
            std::env::var_os("PATH").as_deref(),
            &tool_version,
        );
        match &self.nvrtc.chosen {
            Some(n) => choose::choose_matching("ptxas", n, &found),
            None => Choice {
                chosen: None,
                reason: "no NVRTC".into(),
            },
        }
    }

    /// `nvdisasm` (SASS of a cubin; pip ships it as `nvidia-cuda-nvdisasm`): from ptxas's
    /// root if it has one, else the newest found (it reads cubins of older toolkits).
    pub fn nvdisasm(&self, ptxas: Option<&Found>) -> Option<PathBuf> {
        let found = tools(
            &self.roots,
            "nvdisasm",
            std::env::var_os("PATH").as_deref(),
            &tool_version,
        );
        found
            .iter()
            .find(|f| ptxas.is_some_and(|p| p.root == f.root))
            .or_else(|| found.iter().max_by_key(|f| f.version))
            .map(|f| f.path.clone())
    }

    /// For messages: where orac looked.
    pub fn describe_roots(&self) -> String {
        if self.roots.is_empty() {
            "no CUDA root found ($ORAC_CUDA_HOME, $CUDA_HOME, $CUDA_PATH, /usr/local/cuda*, or pip's nvidia/* in site-packages)".into()
        } else {
            self.roots
                .iter()
                .map(|r| r.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn runtime_headers(include: &Path, version: u32) {
        touch(&include.join("cuda_bf16.h"), "");
        touch(
            &include.join("cuda_runtime_api.h"),
            &format!("#define CUDART_VERSION  {version}\n"),
        );
    }

    /// pip's CUDA 12 layout (nvidia-cuda-nvrtc-cu12, -runtime-cu12, nvidia-cublas-cu12) and
    /// CUDA 13's (nvidia/cu13), as PyTorch installs them.
    fn pip_site(site: &Path) {
        let nv = site.join("nvidia");
        touch(&nv.join("cuda_nvrtc/lib/libnvrtc.so.12"), "");
        touch(&nv.join("cuda_nvrtc/lib/libnvrtc-builtins.so.12.8"), "");
        touch(&nv.join("cuda_nvrtc/lib/libnvrtc.alt.so.12"), "");
        touch(&nv.join("cuda_nvrtc/include/nvrtc.h"), "");
        runtime_headers(&nv.join("cuda_runtime/include"), 12080);
        touch(&nv.join("cuda_nvcc/include/crt/mma.h"), "");
        touch(&nv.join("cuda_nvcc/bin/ptxas"), "");
        std::fs::create_dir_all(site.join("nvidia_cuda_nvcc_cu12-12.8.93.dist-info")).unwrap();
        touch(&nv.join("cu13/include/crt/mma.h"), "");
        touch(&nv.join("cublas/lib/libcublas.so.12"), "");
        touch(&nv.join("cublas/lib/libcublasLt.so.12"), "");
        touch(&nv.join("cu13/lib/libnvrtc.so.13"), "");
        touch(&nv.join("cu13/lib/libnvrtc-builtins.so.13.5"), "");
        touch(&nv.join("cu13/lib/libcublas.so.13"), "");
        runtime_headers(&nv.join("cu13/include"), 13050);
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn explicit_roots_come_first_then_system_then_python_packages() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("cuda");
        let site = tmp.path().join("site");
        let system = tmp.path().join("usr-local-cuda");
        std::fs::create_dir_all(home.join("include")).unwrap();
        std::fs::create_dir_all(&system).unwrap();
        pip_site(&site);
        let home_s = home.display().to_string();
        let env = |k: &str| (k == "CUDA_HOME").then(|| home_s.clone());
        let roots = candidate_roots(
            &env,
            &[site.clone(), tmp.path().join("missing")],
            std::slice::from_ref(&system),
        );
        assert_eq!(roots[0].dir, home);
        assert!(roots[0].explicit);
        assert_eq!(roots[0].origin, "$CUDA_HOME");
        assert_eq!(roots[1].dir, system);
        let cu13 = roots
            .iter()
            .find(|r| r.dir == site.join("nvidia/cu13"))
            .unwrap();
        assert!(cu13.origin.starts_with("pip, "), "{}", cu13.origin);
        assert!(!roots.iter().any(|r| r.dir.ends_with("missing")));
    }

    #[test]
    fn orac_cuda_home_on_one_pip_layout_finds_its_siblings() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("venv/lib/python3.11/site-packages");
        pip_site(&site);
        let nvrtc_dir = site.join("nvidia/cuda_nvrtc").display().to_string();
        let env = |k: &str| (k == "ORAC_CUDA_HOME").then(|| nvrtc_dir.clone());
        let roots = candidate_roots(&env, &[], &[]);
        let tk = Toolkit::resolve(roots, Some(12040));
        let nvrtc = tk.nvrtc.chosen.clone().unwrap();
        assert_eq!(
            nvrtc.path,
            site.join("nvidia/cuda_nvrtc/lib/libnvrtc.so.12")
        );
        assert_eq!(nvrtc.version, Some(Version::new(12, 8)));
        // The headers NVRTC needs are in the runtime package beside it and `crt/` in the
        // nvcc one, found although only the NVRTC layout was named; the nvcc layout's
        // version comes from its dist-info.
        assert_eq!(
            tk.include_dirs(),
            vec![
                site.join("nvidia/cuda_runtime/include"),
                site.join("nvidia/cuda_nvcc/include")
            ]
        );
        let crt = tk.crt.clone().unwrap().chosen.unwrap();
        assert_eq!(crt.version, Some(Version::new(12, 8)));
        assert_eq!(
            tk.cublas.chosen.unwrap().path,
            site.join("nvidia/cublas/lib/libcublas.so.12")
        );
    }

    #[test]
    fn pip_packages_follow_the_driver() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site-packages");
        pip_site(&site);
        let roots = || candidate_roots(&no_env, std::slice::from_ref(&site), &[]);
        // A 13 driver: NVRTC 13.5 with its own headers; cuBLAS 12 (what the bindings load).
        let tk = Toolkit::resolve(roots(), Some(13000));
        let nvrtc = tk.nvrtc.chosen.clone().unwrap();
        assert_eq!(nvrtc.path, site.join("nvidia/cu13/lib/libnvrtc.so.13"));
        assert_eq!(nvrtc.version, Some(Version::new(13, 5)));
        assert_eq!(tk.include_dirs(), vec![site.join("nvidia/cu13/include")]);
        assert_eq!(
            tk.cublas.chosen.unwrap().path,
            site.join("nvidia/cublas/lib/libcublas.so.12")
        );
        // A 12.2 driver: NVRTC 12 and the 12.8 runtime headers, not cu13's.
        let tk = Toolkit::resolve(roots(), Some(12020));
        assert_eq!(
            tk.nvrtc.chosen.clone().unwrap().path,
            site.join("nvidia/cuda_nvrtc/lib/libnvrtc.so.12")
        );
        assert_eq!(
            tk.include_dirs(),
            vec![
                site.join("nvidia/cuda_runtime/include"),
                site.join("nvidia/cuda_nvcc/include")
            ]
        );
        // No driver (orac kernels): the newest.
        let tk = Toolkit::resolve(roots(), None);
        assert_eq!(tk.nvrtc.chosen.unwrap().version, Some(Version::new(13, 5)));
    }

    #[test]
    fn a_usr_local_cuda_of_another_version_does_not_shadow_the_headers() {
        let tmp = tempfile::tempdir().unwrap();
        let system = tmp.path().join("cuda-13.0");
        runtime_headers(&system.join("include"), 13000);
        let site = tmp.path().join("site-packages");
        let nv = site.join("nvidia");
        touch(&nv.join("cuda_nvrtc/lib/libnvrtc.so.12"), "");
        touch(&nv.join("cuda_nvrtc/lib/libnvrtc-builtins.so.12.8"), "");
        runtime_headers(&nv.join("cuda_runtime/include"), 12080);
        let roots = candidate_roots(
            &no_env,
            std::slice::from_ref(&site),
            std::slice::from_ref(&system),
        );
        let tk = Toolkit::resolve(roots, Some(12080));
        assert_eq!(tk.include_dirs(), vec![nv.join("cuda_runtime/include")]);
        // Without the runtime package: no headers rather than CUDA 13's, and why.
        std::fs::remove_dir_all(nv.join("cuda_runtime")).unwrap();
        let roots = candidate_roots(
            &no_env,
            std::slice::from_ref(&site),
            std::slice::from_ref(&system),
        );
        let tk = Toolkit::resolve(roots, Some(12080));
        assert!(tk.include_dirs().is_empty());
        let reason = &tk.headers.unwrap().reason;
        assert!(reason.contains("no headers of CUDA 12"), "{reason}");
    }

    #[test]
    fn a_system_toolkit_reads_versions_from_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let cuda = tmp.path().join("cuda-12.4");
        let lib = cuda.join("lib64");
        touch(&lib.join("libnvrtc.so.12.4.127"), "");
        std::os::unix::fs::symlink("libnvrtc.so.12.4.127", lib.join("libnvrtc.so.12")).unwrap();
        touch(&lib.join("libcublas.so.12.4.5.8"), "");
        std::os::unix::fs::symlink("libcublas.so.12.4.5.8", lib.join("libcublas.so.12")).unwrap();
        runtime_headers(&cuda.join("include"), 12040);
        touch(&cuda.join("bin/ptxas"), "");
        let roots = candidate_roots(&no_env, &[], std::slice::from_ref(&cuda));
        let found = libraries(&roots, "nvrtc");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].version, Some(Version::new(12, 4)));
        assert_eq!(found[0].origin, cuda.display().to_string());
        assert_eq!(
            libraries(&roots, "cublas")[0].version,
            Some(Version::new(12, 4))
        );
        let tk = Toolkit::resolve(roots.clone(), Some(12040));
        assert_eq!(tk.include_dirs(), vec![cuda.join("include")]);
        // ptxas: its version from `--version` (here: not runnable, so the same root decides).
        let ptxas = tools(&roots, "ptxas", None, &|_| None);
        let c = choose::choose_matching("ptxas", tk.nvrtc.chosen.as_ref().unwrap(), &ptxas);
        assert_eq!(c.chosen.unwrap().path, cuda.join("bin/ptxas"));
    }

    #[test]
    fn ptxas_on_path_of_another_major_is_not_used() {
        let tmp = tempfile::tempdir().unwrap();
        let site = tmp.path().join("site-packages");
        pip_site(&site);
        touch(&site.join("nvidia/cuda_nvcc/bin/ptxas"), "");
        let other = tmp.path().join("other/bin");
        touch(&other.join("ptxas"), "");
        let roots = candidate_roots(&no_env, std::slice::from_ref(&site), &[]);
        let version = |p: &Path| {
            Some(if p.starts_with(tmp.path().join("other")) {
                Version::new(13, 0)
            } else {
                Version::new(12, 8)
            })
        };
        let found = tools(&roots, "ptxas", Some(other.as_os_str()), &version);
        assert_eq!(found.len(), 2, "{found:?}");
        let tk = Toolkit::resolve(roots, Some(12080));
        let c = choose::choose_matching("ptxas", tk.nvrtc.chosen.as_ref().unwrap(), &found);
        assert_eq!(
            c.chosen.unwrap().path,
            site.join("nvidia/cuda_nvcc/bin/ptxas")
        );
    }
}
