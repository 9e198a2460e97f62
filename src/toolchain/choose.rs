//! Which CUDA libraries, headers and tools to use with the installed driver: pure functions
//! over what discovery found (src/toolchain/toolkit.rs), so every decision is unit-tested.
//!
//! The rules: orac binds the CUDA 12.2 driver API, so a driver older than that is refused.
//! The backend loads CUBINs, and a driver refuses a CUBIN from a newer NVRTC major, so NVRTC's
//! major must not exceed the driver's (a newer minor is fine: minor-version compatibility).
//! Headers and ptxas must come from the toolkit version of the chosen NVRTC.

use std::fmt;
use std::path::PathBuf;

/// The oldest driver API orac runs on: the version of cudarc's driver bindings, so every
/// driver symbol orac can call is in this driver (see `tests::bindings_are_cuda_12_2`).
pub const MIN_DRIVER_API: i32 = cudarc::driver::sys::CUDA_VERSION as i32;

/// The cuBLAS soname major this orac loads: cudarc (built for CUDA 12.2) looks up
/// `libcublas.so.12`, never `.so.13`.
pub const CUBLAS_MAJOR: u32 = 12;

/// What to install for a CUDA 12 toolkit from PyPI (NVRTC, the headers NVRTC needs, ptxas).
pub const CU12_PACKAGES: &str = "nvidia-cuda-nvrtc-cu12==12.8.93 nvidia-cuda-runtime-cu12==12.8.90 nvidia-cuda-nvcc-cu12==12.8.93";

/// The same for CUDA 13 (what CI's offline check pins; `nvidia/cu13` holds all three).
pub const CU13_PACKAGES: &str = "nvidia-cuda-nvrtc==13.5.37 nvidia-cuda-nvcc==13.5.37";

/// A CUDA version; the minor is unknown when only a soname said the major.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u32,
    pub minor: Option<u32>,
}

impl Version {
    pub fn new(major: u32, minor: u32) -> Self {
        Version {
            major,
            minor: Some(minor),
        }
    }

    /// From the driver's or a header's encoding, e.g. 12020 → 12.2.
    pub fn from_api(v: i32) -> Self {
        let v = v.max(0) as u32;
        Version::new(v / 1000, v % 1000 / 10)
    }

    /// From text like `12.8`, `12.8.93` or `12`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.split('.');
        let major = parts.next()?.parse().ok()?;
        Some(Version {
            major,
            minor: parts.next().and_then(|m| m.parse().ok()),
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minor {
            Some(minor) => write!(f, "{}.{minor}", self.major),
            None => write!(f, "{}.x", self.major),
        }
    }
}

/// A library, include directory or tool discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    /// Unknown for a header directory without `cuda_runtime_api.h` or a tool that would not
    /// say.
    pub version: Option<Version>,
    /// The toolkit root it sits in (its parent layout), to pair pieces of one install.
    pub root: PathBuf,
    /// Where that root came from, for `orac info`: `$ORAC_CUDA_HOME`, `pip (…)`, ….
    pub origin: String,
    /// Named by `$ORAC_CUDA_HOME`, `$CUDA_HOME` or `$CUDA_PATH`: preferred over the rest.
    pub explicit: bool,
}

impl Found {
    pub fn describe(&self) -> String {
        let version = self
            .version
            .map_or("version unknown".into(), |v| v.to_string());
        format!("{} ({version}, {})", self.path.display(), self.origin)
    }
}

/// A choice and why it was made (or why nothing could be chosen).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub chosen: Option<Found>,
    pub reason: String,
}

/// `Err` with one line for a driver orac cannot use.
pub fn driver_gate(driver_api: i32) -> Result<(), String> {
    if driver_api >= MIN_DRIVER_API {
        return Ok(());
    }
    Err(format!(
        "the NVIDIA driver supports CUDA {}, orac needs CUDA {} or newer (driver r535+)",
        Version::from_api(driver_api),
        Version::from_api(MIN_DRIVER_API)
    ))
}

fn list(found: &[&Found]) -> String {
    found
        .iter()
        .map(|f| f.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The best of `found` by: named explicitly, then the driver's own major, then newest.
fn best<'a>(found: &[&'a Found], driver_major: Option<u32>) -> Option<&'a Found> {
    found.iter().copied().max_by_key(|f| {
        let major = f.version.map(|v| v.major);
        (
            f.explicit,
            driver_major.is_some() && major == driver_major,
            f.version,
        )
    })
}

/// The NVRTC to load. `driver` is the driver API version (`None`: no driver, an offline
/// compile, where the newest NVRTC found is used).
pub fn choose_nvrtc(driver: Option<i32>, found: &[Found]) -> Choice {
    if found.is_empty() {
        return Choice {
            chosen: None,
            reason: format!(
                "no libnvrtc found; install it with `pip install {CU12_PACKAGES}` (any driver from r535) or `pip install {CU13_PACKAGES}` (r580+)"
            ),
        };
    }
    let Some(driver) = driver.map(Version::from_api) else {
        let all: Vec<&Found> = found.iter().collect();
        let chosen = best(&all, None).cloned();
        let reason = match &chosen {
            Some(f) if f.explicit => format!("no driver to match: the one {} names", f.origin),
            _ => "no driver to match: the newest found".into(),
        };
        return Choice { chosen, reason };
    };
    let usable: Vec<&Found> = found
        .iter()
        .filter(|f| f.version.is_some_and(|v| v.major <= driver.major))
        .collect();
    match best(&usable, Some(driver.major)) {
        Some(f) => Choice {
            chosen: Some(f.clone()),
            reason: format!(
                "the driver runs CUDA {driver}; NVRTC {} makes CUBINs it loads{}",
                f.version.expect("filtered on a version"),
                if f.explicit {
                    " (named explicitly)"
                } else {
                    ""
                }
            ),
        },
        None => Choice {
            chosen: None,
            reason: format!(
                "the driver runs CUDA {driver}, and it refuses CUBINs from a newer NVRTC major than its own; found only {}: install `pip install {CU12_PACKAGES}` (or upgrade the driver)",
                list(&found.iter().collect::<Vec<_>>())
            ),
        },
    }
}

/// The cuBLAS to preload: major 12 (what this build's bindings load), not newer than the driver.
pub fn choose_cublas(driver: Option<i32>, found: &[Found]) -> Choice {
    let driver = driver.map(Version::from_api);
    let usable: Vec<&Found> = found
        .iter()
        .filter(|f| {
            f.version.is_some_and(|v| {
                v.major == CUBLAS_MAJOR && driver.is_none_or(|d| v.major <= d.major)
            })
        })
        .collect();
    match best(&usable, driver.map(|d| d.major)) {
        Some(f) => Choice {
            chosen: Some(f.clone()),
            reason: format!("cuBLAS {CUBLAS_MAJOR} is what this orac's bindings load"),
        },
        None if found.is_empty() => Choice {
            chosen: None,
            reason: "no libcublas found: `pip install nvidia-cublas-cu12` (or a CUDA 12 toolkit); cuBLAS references are skipped".into(),
        },
        None => Choice {
            chosen: None,
            reason: format!(
                "this orac loads cuBLAS {CUBLAS_MAJOR} (libcublas.so.{CUBLAS_MAJOR}), found only {}: `pip install nvidia-cublas-cu12`; cuBLAS references are skipped",
                list(&found.iter().collect::<Vec<_>>())
            ),
        },
    }
}

/// The one of `found` (header directories, ptxas) that goes with NVRTC `nvrtc`: from the same
/// root, or of the same version, or else of the same major. Never another major: a
/// `/usr/local/cuda` of another version must not shadow the matching headers.
pub fn choose_matching(what: &str, nvrtc: &Found, found: &[Found]) -> Choice {
    let want = nvrtc.version;
    let same_major = |f: &Found| match (f.version, want) {
        (Some(v), Some(w)) => v.major == w.major,
        _ => false,
    };
    let same_root = found
        .iter()
        .find(|f| f.root == nvrtc.root && (f.version.is_none() || same_major(f)));
    let same_version = found
        .iter()
        .find(|f| want.is_some_and(|w| w.minor.is_some() && f.version == Some(w)));
    let pick = |f: &Found, why: &str| Choice {
        chosen: Some(f.clone()),
        reason: why.to_string(),
    };
    if let Some(f) = same_root {
        return pick(f, "from the same toolkit as NVRTC");
    }
    if let Some(f) = same_version {
        return pick(f, "the same CUDA version as NVRTC");
    }
    if let Some(f) = found
        .iter()
        .filter(|f| same_major(f))
        .max_by_key(|f| f.version)
    {
        return pick(
            f,
            &format!(
                "the same CUDA major as NVRTC {} (no exact version match)",
                want.map_or("?".into(), |v| v.to_string())
            ),
        );
    }
    Choice {
        chosen: None,
        reason: format!(
            "no {what} of CUDA {} found{}",
            want.map_or("?".into(), |v| v.major.to_string()),
            if found.is_empty() {
                String::new()
            } else {
                format!(" (only {})", list(&found.iter().collect::<Vec<_>>()))
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(path: &str, version: Option<(u32, Option<u32>)>, explicit: bool) -> Found {
        let path = PathBuf::from(path);
        // A library's or tool's root is above its lib/ or bin/; a header directory's, above it.
        let up = if path.ends_with("include") { 1 } else { 2 };
        Found {
            root: path.ancestors().nth(up).unwrap().to_path_buf(),
            path,
            version: version.map(|(major, minor)| Version { major, minor }),
            origin: "test".into(),
            explicit,
        }
    }

    #[test]
    fn bindings_are_cuda_12_2() {
        // cudarc defines a driver function only for the CUDA versions whose header declares
        // it, so this build (it compiled) calls nothing a 12.2 driver lacks. A second
        // cuda-* feature would define CUDA_VERSION twice and not compile.
        assert_eq!(cudarc::driver::sys::CUDA_VERSION, 12020);
        assert_eq!(MIN_DRIVER_API, 12020);
    }

    #[test]
    fn drivers_older_than_12_2_get_one_line() {
        assert!(driver_gate(12020).is_ok());
        assert!(driver_gate(13000).is_ok());
        let err = driver_gate(12000).unwrap_err();
        assert_eq!(
            err,
            "the NVIDIA driver supports CUDA 12.0, orac needs CUDA 12.2 or newer (driver r535+)"
        );
        assert!(!err.contains('\n'));
        assert!(driver_gate(11080).unwrap_err().contains("CUDA 11.8"));
    }

    #[test]
    fn nvrtc_major_follows_the_driver() {
        let libs = [
            found("/a/lib/libnvrtc.so.13", Some((13, Some(5))), false),
            found("/b/lib/libnvrtc.so.12", Some((12, Some(8))), false),
        ];
        // A 12.x driver refuses NVRTC 13 CUBINs: 12.8 even on a 12.2 driver.
        for driver in [12020, 12040, 12080] {
            let c = choose_nvrtc(Some(driver), &libs);
            assert_eq!(c.chosen.unwrap().path, libs[1].path, "{driver}");
        }
        // A 13 driver takes its own major, the newest.
        let c = choose_nvrtc(Some(13000), &libs);
        assert_eq!(c.chosen.unwrap().path, libs[0].path);
        assert!(c.reason.contains("CUDA 13.0"), "{}", c.reason);
        // ... and NVRTC 12 when that is all there is (older code runs on newer drivers).
        let c = choose_nvrtc(Some(13000), &libs[1..]);
        assert_eq!(c.chosen.unwrap().path, libs[1].path);
        // No driver (the offline check): the newest.
        let c = choose_nvrtc(None, &libs);
        assert_eq!(c.chosen.unwrap().path, libs[0].path);
    }

    #[test]
    fn only_a_newer_nvrtc_is_refused_with_what_to_install() {
        let libs = [found("/a/lib/libnvrtc.so.13", Some((13, Some(5))), true)];
        let c = choose_nvrtc(Some(12040), &libs);
        assert!(c.chosen.is_none());
        assert!(c.reason.contains("CUDA 12.4"), "{}", c.reason);
        assert!(c.reason.contains("/a/lib/libnvrtc.so.13"), "{}", c.reason);
        assert!(c.reason.contains("nvidia-cuda-nvrtc-cu12"), "{}", c.reason);
        assert!(
            choose_nvrtc(Some(12040), &[])
                .reason
                .contains("no libnvrtc")
        );
    }

    #[test]
    fn an_explicit_toolkit_wins_when_the_driver_can_use_it() {
        let libs = [
            found("/pip/lib/libnvrtc.so.13", Some((13, Some(5))), false),
            found("/home/lib/libnvrtc.so.12", Some((12, Some(8))), true),
        ];
        assert_eq!(
            choose_nvrtc(Some(13000), &libs).chosen.unwrap().path,
            libs[1].path
        );
        assert_eq!(choose_nvrtc(None, &libs).chosen.unwrap().path, libs[1].path);
        // Explicit but too new for the driver: passed over.
        let libs = [
            found("/pip/lib/libnvrtc.so.12", Some((12, Some(8))), false),
            found("/home/lib/libnvrtc.so.13", Some((13, Some(0))), true),
        ];
        assert_eq!(
            choose_nvrtc(Some(12080), &libs).chosen.unwrap().path,
            libs[0].path
        );
    }

    #[test]
    fn cublas_is_major_12_only() {
        let libs = [
            found("/cu13/lib/libcublas.so.13", Some((13, None)), false),
            found("/cublas/lib/libcublas.so.12", Some((12, Some(8))), false),
        ];
        assert_eq!(
            choose_cublas(Some(13000), &libs).chosen.unwrap().path,
            libs[1].path
        );
        assert_eq!(
            choose_cublas(Some(12020), &libs).chosen.unwrap().path,
            libs[1].path
        );
        let c = choose_cublas(Some(13000), &libs[..1]);
        assert!(c.chosen.is_none());
        assert!(c.reason.contains("libcublas.so.12"), "{}", c.reason);
        assert!(c.reason.contains("nvidia-cublas-cu12"), "{}", c.reason);
        assert!(
            choose_cublas(Some(12020), &[])
                .reason
                .contains("no libcublas")
        );
    }

    #[test]
    fn headers_and_ptxas_come_from_nvrtc_s_toolkit() {
        let nvrtc = found(
            "/pip/cuda_nvrtc/lib/libnvrtc.so.12",
            Some((12, Some(8))),
            false,
        );
        let other = found("/usr/local/cuda/include", Some((13, Some(0))), true);
        let runtime = found("/pip/cuda_runtime/include", Some((12, Some(8))), false);
        let older = found("/opt/cuda-12.2/include", Some((12, Some(2))), false);
        // A /usr/local/cuda of another major, even named in $CUDA_HOME, does not shadow.
        let c = choose_matching(
            "headers",
            &nvrtc,
            &[other.clone(), older.clone(), runtime.clone()],
        );
        assert_eq!(c.chosen.unwrap().path, runtime.path);
        // Same major, other minor: used, and said.
        let c = choose_matching("headers", &nvrtc, &[other.clone(), older.clone()]);
        assert_eq!(c.chosen.unwrap().path, older.path);
        assert!(c.reason.contains("no exact version match"), "{}", c.reason);
        // Another major only: none, and why.
        let c = choose_matching("headers", &nvrtc, std::slice::from_ref(&other));
        assert!(c.chosen.is_none());
        assert!(c.reason.contains("no headers of CUDA 12"), "{}", c.reason);
        assert!(c.reason.contains("/usr/local/cuda/include"), "{}", c.reason);
        // The same root wins, even with its version unknown.
        let own = found("/pip/cuda_nvrtc/include", None, false);
        let c = choose_matching("headers", &nvrtc, &[runtime, own.clone()]);
        assert_eq!(c.chosen.unwrap().path, own.path);
    }

    #[test]
    fn versions_parse_and_print() {
        assert_eq!(Version::from_api(12020), Version::new(12, 2));
        assert_eq!(Version::from_api(13050).to_string(), "13.5");
        assert_eq!(Version::parse("12.8.93"), Some(Version::new(12, 8)));
        assert_eq!(
            Version::parse("13"),
            Some(Version {
                major: 13,
                minor: None
            })
        );
        assert_eq!(Version::parse("x"), None);
    }
}
