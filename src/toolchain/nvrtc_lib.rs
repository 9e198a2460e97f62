//! libnvrtc, opened by the absolute path `choose` picked. Not through cudarc: its bindings
//! (CUDA 12.2) look NVRTC up by soname, `libnvrtc.so.12` and older only, so they would miss
//! NVRTC 13 and may pick a different NVRTC than the one chosen for the driver. The handful of
//! entry points orac uses have had the same C signatures since CUDA 11.

use std::ffi::{CStr, CString, c_char, c_int};
use std::path::Path;
use std::sync::OnceLock;

type Program = *mut std::ffi::c_void;
type Status = c_int;

/// The entry points, resolved once from one library.
pub struct Nvrtc {
    pub version: (i32, i32),
    get_error_string: unsafe extern "C" fn(Status) -> *const c_char,
    create: unsafe extern "C" fn(
        *mut Program,
        *const c_char,
        *const c_char,
        c_int,
        *const *const c_char,
        *const *const c_char,
    ) -> Status,
    compile: unsafe extern "C" fn(Program, c_int, *const *const c_char) -> Status,
    log_size: unsafe extern "C" fn(Program, *mut usize) -> Status,
    log: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    ptx_size: unsafe extern "C" fn(Program, *mut usize) -> Status,
    ptx: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    cubin_size: unsafe extern "C" fn(Program, *mut usize) -> Status,
    cubin: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    destroy: unsafe extern "C" fn(*mut Program) -> Status,
    // Keeps the functions above valid.
    _lib: libloading::Library,
}

static LOADED: OnceLock<Result<Nvrtc, String>> = OnceLock::new();

/// Loads `path` (the first call decides for the whole process) and returns it.
pub fn load(path: &Path) -> Result<&'static Nvrtc, String> {
    LOADED
        .get_or_init(|| open(path))
        .as_ref()
        .map_err(Clone::clone)
}

/// The NVRTC loaded earlier, if any.
pub fn loaded() -> Option<&'static Nvrtc> {
    LOADED.get().and_then(|r| r.as_ref().ok())
}

fn open(path: &Path) -> Result<Nvrtc, String> {
    // SAFETY: loading NVRTC runs only its own initialisers.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| format!("cannot load {}: {e}", path.display()))?;
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: the type is the entry point's C signature (nvrtc.h).
            *unsafe { lib.get(concat!($name, "\0").as_bytes()) }
                .map_err(|e| format!("{}: no {}: {e}", path.display(), $name))?
        };
    }
    let version_fn: unsafe extern "C" fn(*mut c_int, *mut c_int) -> Status = sym!("nvrtcVersion");
    let mut version = (0, 0);
    // SAFETY: valid pointers for the call.
    unsafe { version_fn(&mut version.0, &mut version.1) };
    Ok(Nvrtc {
        version,
        get_error_string: sym!("nvrtcGetErrorString"),
        create: sym!("nvrtcCreateProgram"),
        compile: sym!("nvrtcCompileProgram"),
        log_size: sym!("nvrtcGetProgramLogSize"),
        log: sym!("nvrtcGetProgramLog"),
        ptx_size: sym!("nvrtcGetPTXSize"),
        ptx: sym!("nvrtcGetPTX"),
        cubin_size: sym!("nvrtcGetCUBINSize"),
        cubin: sym!("nvrtcGetCUBIN"),
        destroy: sym!("nvrtcDestroyProgram"),
        _lib: lib,
    })
}

/// What comes out of one compile.
#[derive(Clone, Copy)]
pub enum Output {
    Ptx,
    Cubin,
}

/// Why a compile failed: NVRTC's log, or the failing call.
pub enum Failure {
    Log(String),
    Call(String),
}

impl Nvrtc {
    fn check(&self, what: &str, status: Status) -> Result<(), Failure> {
        if status == 0 {
            return Ok(());
        }
        // SAFETY: NVRTC returns a static string for any status.
        let text = unsafe { CStr::from_ptr((self.get_error_string)(status)) };
        Err(Failure::Call(format!("{what}: {}", text.to_string_lossy())))
    }

    /// Compiles `source` (named `name` in the log) with `options` into `output`.
    pub fn compile(
        &self,
        source: &str,
        name: &str,
        options: &[String],
        output: Output,
    ) -> Result<Vec<u8>, Failure> {
        let nul = |what: &str| Failure::Call(format!("the {what} contains a NUL byte"));
        let src = CString::new(source).map_err(|_| nul("source"))?;
        let name = CString::new(name).map_err(|_| nul("file name"))?;
        let options = options
            .iter()
            .map(|o| CString::new(o.as_str()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul("options"))?;
        let option_ptrs: Vec<*const c_char> = options.iter().map(|o| o.as_ptr()).collect();
        let mut prog: Program = std::ptr::null_mut();
        // SAFETY: the strings outlive the program; no headers are passed.
        let created = unsafe {
            (self.create)(
                &mut prog,
                src.as_ptr(),
                name.as_ptr(),
                0,
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        self.check("nvrtcCreateProgram", created)?;
        // SAFETY: `prog` is valid until destroyed below; buffers are sized as NVRTC reports.
        let result = unsafe { self.build(prog, &option_ptrs, output) };
        // SAFETY: created above, destroyed once.
        unsafe { (self.destroy)(&mut prog) };
        result
    }

    unsafe fn build(
        &self,
        prog: Program,
        options: &[*const c_char],
        output: Output,
    ) -> Result<Vec<u8>, Failure> {
        let compiled = unsafe { (self.compile)(prog, options.len() as c_int, options.as_ptr()) };
        if compiled != 0 {
            let log = unsafe { self.read(prog, self.log_size, self.log) }
                .map(|bytes| {
                    String::from_utf8_lossy(&bytes)
                        .trim_end_matches('\0')
                        .trim_end()
                        .to_string()
                })
                .unwrap_or_default();
            return match self.check("nvrtcCompileProgram", compiled) {
                Err(Failure::Call(call)) if log.is_empty() => Err(Failure::Call(call)),
                _ => Err(Failure::Log(log)),
            };
        }
        let (size, get, what) = match output {
            Output::Ptx => (self.ptx_size, self.ptx, "PTX"),
            Output::Cubin => (self.cubin_size, self.cubin, "CUBIN"),
        };
        let mut bytes = unsafe { self.read(prog, size, get) }?;
        if bytes.is_empty() {
            return Err(Failure::Call(format!(
                "no {what} (a CUBIN needs a real architecture such as sm_90, not compute_90)"
            )));
        }
        if let Output::Ptx = output {
            // The PTX is a C string: drop its terminator.
            while bytes.last() == Some(&0) {
                bytes.pop();
            }
        }
        Ok(bytes)
    }

    unsafe fn read(
        &self,
        prog: Program,
        size: unsafe extern "C" fn(Program, *mut usize) -> Status,
        get: unsafe extern "C" fn(Program, *mut c_char) -> Status,
    ) -> Result<Vec<u8>, Failure> {
        let mut n = 0usize;
        self.check("size", unsafe { size(prog, &mut n) })?;
        let mut buf = vec![0u8; n];
        if n > 0 {
            self.check("read", unsafe { get(prog, buf.as_mut_ptr().cast()) })?;
        }
        Ok(buf)
    }
}
