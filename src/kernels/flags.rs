//! The compile flags a manifest may add to a kernel's build.
//!
//! A manifest comes from a kernel tree that may be a pull request's, or any git revision
//! `orac ab` and `bisect` check out; its `flags` go straight to `cc` or NVRTC. Compiler
//! drivers have many options that run programs or read files (`-wrapper`, `-fplugin=`,
//! `-B`, `-specs=`, `@file`, `-Wl,…`, `-Xlinker`, NVRTC's `--pre-include`), so flags are
//! allowlisted, not denylisted: only codegen, macro and warning options pass. Every flag is
//! one argument in joined form (`-DNAME=1`, never `-D NAME`): an option that takes the next
//! argument could swallow the `-o` orac adds after the flags.

/// Codegen `-f` options a C kernel may use: none of them runs or reads anything.
const C_F_FLAGS: &[&str] = &[
    "-fopenmp",
    "-fopenmp-simd",
    "-ffast-math",
    "-fno-fast-math",
    "-funroll-loops",
    "-fno-unroll-loops",
    "-funroll-all-loops",
    "-fpeel-loops",
    "-fno-peel-loops",
    "-fprefetch-loop-arrays",
    "-fno-prefetch-loop-arrays",
    "-fmath-errno",
    "-fno-math-errno",
    "-ftrapping-math",
    "-fno-trapping-math",
    "-fno-signed-zeros",
    "-fassociative-math",
    "-freciprocal-math",
    "-ffinite-math-only",
    "-fno-finite-math-only",
    "-funsafe-math-optimizations",
    "-ffp-contract=fast",
    "-ffp-contract=on",
    "-ffp-contract=off",
    "-fstrict-aliasing",
    "-fno-strict-aliasing",
    "-fvectorize",
    "-fno-vectorize",
    "-fslp-vectorize",
    "-fno-slp-vectorize",
    "-ftree-vectorize",
    "-fno-tree-vectorize",
    "-ftree-loop-vectorize",
    "-ftree-slp-vectorize",
    "-fomit-frame-pointer",
    "-fno-omit-frame-pointer",
    "-finline-functions",
    "-fno-inline",
    "-fno-builtin",
    "-fwrapv",
    "-fno-semantic-interposition",
];

/// `-m<name>` options that take the next argument (clang), or pass options on to LLVM.
const C_M_SEPARATE: &[&str] = &[
    "llvm",
    "link",
    "thread-model",
    "relocation-model",
    "debug-pass",
    "code-model",
    "float-abi",
    "limit-float-precision",
    "tp",
];

const C_STANDARDS: &[&str] = &[
    "c89", "c99", "c11", "c17", "c18", "gnu89", "gnu99", "gnu11", "gnu17", "gnu18",
];

/// NVRTC options a CUDA kernel may use, verbatim.
const NVRTC_EXACT: &[&str] = &[
    "--use_fast_math",
    "-use_fast_math",
    "--extra-device-vectorization",
    "-extra-device-vectorization",
    "-lineinfo",
    "--generate-line-info",
    "--restrict",
    "-restrict",
    "-w",
    "--disable-warnings",
];

/// NVRTC `--name=true|false` options (each also spelled with one dash).
const NVRTC_BOOL: &[&str] = &["fmad", "ftz", "prec-div", "prec-sqrt"];

const NVRTC_STANDARDS: &[&str] = &["c++11", "c++14", "c++17", "c++20"];

/// Why `flag` may not be passed to the C compiler (`None`: it may).
pub fn check_c(flag: &str) -> Option<String> {
    let ok = match flag {
        "-O0" | "-O1" | "-O2" | "-O3" | "-Os" | "-Ofast" | "-g" | "-g0" | "-g1" | "-g2" | "-g3"
        | "-w" => true,
        _ if C_F_FLAGS.contains(&flag) => true,
        _ if flag.starts_with("-D") => macro_definition(&flag[2..]),
        _ if flag.starts_with("-U") => identifier(&flag[2..]),
        _ if flag.starts_with("-std=") => C_STANDARDS.contains(&&flag[5..]),
        _ => {
            if let Some(cpu) = ["-march=", "-mtune=", "-mcpu="]
                .iter()
                .find_map(|p| flag.strip_prefix(p))
            {
                !cpu.is_empty()
                    && !cpu.starts_with('-')
                    && cpu
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            } else if let Some(feature) = flag.strip_prefix("-m") {
                // `-mavx2`, `-mno-avx512f`, `-mfma`: letters, digits and dashes, so no
                // `=value` and no `-mllvm`-style option taking the next argument.
                let name = feature.strip_prefix("no-").unwrap_or(feature);
                !name.is_empty()
                    && name.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !C_M_SEPARATE.iter().any(|s| name.starts_with(s))
            } else if let Some(warning) = flag.strip_prefix("-W") {
                // Warnings (`-Wall`, `-Wno-unused`, `-Werror=vla`); no comma, so never
                // `-Wl,`, `-Wa,` or `-Wp,`, which pass options to the linker, assembler and
                // preprocessor.
                !warning.is_empty()
                    && warning.starts_with(|c: char| c.is_ascii_alphabetic())
                    && warning
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_=".contains(c))
            } else {
                false
            }
        }
    };
    (!ok).then(|| {
        format!(
            "flag '{flag}' is not allowed for the C compiler (allowed: -O0..3, -Os, -Ofast, -g, \
             -DNAME[=VALUE], -UNAME, -march=/-mtune=/-mcpu=CPU, -m<feature>, -mno-<feature>, \
             -std=c99|c11|c17|gnu11|gnu17, -W<warning>, and harmless codegen -f flags such as \
             -fopenmp, -ffast-math, -funroll-loops, -fno-math-errno, -ffp-contract=fast)"
        )
    })
}

/// Why `flag` may not be passed to NVRTC (`None`: it may). `-I`/`--include-path` is
/// refused: NVRTC would read any header it names (and show it in the log), and a kernel is
/// one self-contained source; orac adds the toolkit's include directories itself.
pub fn check_nvrtc(flag: &str) -> Option<String> {
    let value = |names: &[&str]| names.iter().find_map(|n| flag.strip_prefix(n));
    let ok = if NVRTC_EXACT.contains(&flag) {
        true
    } else if let Some(def) = value(&["--define-macro=", "-D"]) {
        macro_definition(def)
    } else if let Some(name) = value(&["--undefine-macro=", "-U"]) {
        identifier(name)
    } else if let Some(std) = value(&["--std=", "-std="]) {
        NVRTC_STANDARDS.contains(&std)
    } else if let Some(n) = value(&["--maxrregcount=", "-maxrregcount="]) {
        n.parse::<u32>().is_ok_and(|n| n > 0)
    } else {
        NVRTC_BOOL.iter().any(|name| {
            let long = format!("--{name}=");
            let short = format!("-{name}=");
            flag.strip_prefix(&long)
                .or_else(|| flag.strip_prefix(&short))
                .is_some_and(|v| v == "true" || v == "false")
        })
    };
    (!ok).then(|| {
        format!(
            "flag '{flag}' is not allowed for NVRTC (allowed: --use_fast_math, \
             -DNAME[=VALUE], -UNAME, --std=c++17|c++20, --fmad=, --ftz=, --prec-div=, \
             --prec-sqrt= (true|false), -lineinfo, --extra-device-vectorization, \
             -maxrregcount=N, --restrict, -w; include paths are not: kernels are \
             self-contained)"
        )
    })
}

/// `NAME` or `NAME=VALUE`, VALUE of letters, digits and `_ . + -` (nothing a shell or a
/// driver would treat specially, should either ever see it).
fn macro_definition(def: &str) -> bool {
    let (name, value) = def.split_once('=').unwrap_or((def, ""));
    identifier(name)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c))
}

fn identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_c_flags_are_accepted() {
        for flag in [
            "-O0",
            "-O2",
            "-O3",
            "-Os",
            "-Ofast",
            "-DTILE=64",
            "-DNDEBUG",
            "-D_GNU_SOURCE",
            "-DSCALE=1.5",
            "-DOFFSET=-1",
            "-UNDEBUG",
            "-march=skylake-avx512",
            "-mtune=native",
            "-mcpu=neoverse-v1",
            "-march=armv8.2-a",
            "-mavx2",
            "-mfma",
            "-mno-avx512f",
            "-mavx512f",
            "-fopenmp",
            "-ffast-math",
            "-funroll-loops",
            "-fno-math-errno",
            "-ffp-contract=fast",
            "-fno-strict-aliasing",
            "-fvectorize",
            "-ftree-vectorize",
            "-std=c11",
            "-std=gnu17",
            "-Wall",
            "-Wextra",
            "-Wno-unused-parameter",
            "-Werror=vla",
        ] {
            assert_eq!(check_c(flag), None, "{flag}");
        }
    }

    #[test]
    fn c_flags_that_run_or_read_anything_are_rejected() {
        for flag in [
            "-wrapper",
            "-wrapper=/bin/sh",
            "-fplugin=/tmp/evil.so",
            "-fplugin-arg-x-y",
            "@/tmp/options",
            "-B/tmp/evil",
            "-B",
            "-specs=/tmp/evil.specs",
            "--specs=/tmp/evil.specs",
            "-Wl,-rpath,/tmp",
            "-Wa,--defsym,x=1",
            "-Wp,-imacros,/etc/passwd",
            "-Xlinker",
            "-Xclang",
            "-mllvm",
            "-mllvm=-load=/tmp/x.so",
            "-mthread-model",
            "-mlink-bitcode-file",
            "-include/etc/passwd",
            "-include",
            "-imacros",
            "-I/etc",
            "-L/tmp",
            "-l",
            "-lfoo",
            "-o",
            "-o/tmp/x",
            "-D",
            "-DX=$(rm -rf ~)",
            "-DX=`id`",
            "-D1X",
            "-U",
            "-march=",
            "-march=--foo",
            "-march=x;y",
            "-m",
            "-mno-",
            "-mcmodel=large",
            "-fprofile-generate=/tmp",
            "-fdump-tree-all",
            "-save-temps",
            "-std=c++17",
            "-W",
            "-Werror,x",
            "--param",
            "-x",
            "",
            "-O4",
            "-fuse-ld=/tmp/ld",
            "-print-prog-name=ld",
        ] {
            let why = check_c(flag).unwrap_or_else(|| panic!("{flag:?} was accepted"));
            assert!(why.contains(&format!("'{flag}'")), "{why}");
        }
    }

    #[test]
    fn nvrtc_flags_are_allowlisted_and_include_paths_refused() {
        for flag in [
            "--use_fast_math",
            "-use_fast_math",
            "-DBLOCK=128",
            "--define-macro=BLOCK=128",
            "-UNDEBUG",
            "--std=c++20",
            "-std=c++17",
            "--fmad=false",
            "-fmad=true",
            "--ftz=true",
            "--prec-div=false",
            "--prec-sqrt=true",
            "-lineinfo",
            "--extra-device-vectorization",
            "-maxrregcount=128",
            "--maxrregcount=64",
        ] {
            assert_eq!(check_nvrtc(flag), None, "{flag}");
        }
        for flag in [
            "-I/etc",
            "-Iinclude",
            "--include-path=/usr/include",
            "--pre-include=/etc/passwd",
            "-include",
            "--time=/tmp/t.csv",
            "--fdevice-time-trace=/tmp/x",
            "-Xptxas",
            "--ptxas-options=-v",
            "--gpu-architecture=sm_50",
            "-arch=sm_50",
            "--fmad=maybe",
            "-maxrregcount=x",
            "-maxrregcount=0",
            "--std=c++98",
            "-DX=$(id)",
            "-O3",
            "",
        ] {
            assert!(check_nvrtc(flag).is_some(), "{flag:?} was accepted");
        }
    }
}
