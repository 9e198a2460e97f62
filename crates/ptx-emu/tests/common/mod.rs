//! The `.ptx` test-file format. Directives are comments starting with `//@`:
//!
//! ```text
//! //@ kernel NAME              entry to run (default: the first)
//! //@ grid X Y Z               default 1 1 1
//! //@ block X Y Z              default 32 1 1
//! //@ dyn_shared BYTES
//! //@ threads N                host threads (default 1)
//! //@ max_steps N              Options::max_thread_instructions
//! //@ seed N                   Options::seed (adversarial schedule; default DEFAULT_SEED)
//! //@ schedule canonical       Schedule::Canonical
//! //@ racecheck off            Options::racecheck = false (likewise `initcheck off`)
//! //@ buf NAME TYPE VALUES...  a global allocation: TYPE u8/u16/u32/s32/f32/u64, values or
//! //@ buf NAME TYPE zero N       `zero N`; `V*N` repeats V N times; f32 values may be 0xBITS
//! //@ arg ptr NAME | u32 V | s32 V | u64 V | f32 V
//! //@ expect NAME TYPE VALUES... the allocation's contents after the run (f32 compared bitwise)
//! //@ fault TEXT                 the run must fault, its diagnostic containing TEXT
//! //@ parse-error TEXT           parsing must fail, the error containing TEXT
//! ```
#![allow(dead_code)]

use ptx_emu::{Arg, Global, Launch, Module, Options, run};

fn expand(vals: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for v in vals {
        match v.split_once('*') {
            Some((x, n)) => {
                for _ in 0..n.parse::<usize>().expect("repeat count") {
                    out.push(x.to_string());
                }
            }
            None => out.push(v.to_string()),
        }
    }
    out
}

fn int(v: &str) -> i128 {
    if let Some(h) = v.strip_prefix("0x") {
        i128::from_str_radix(h, 16).expect("hex")
    } else if let Some(h) = v.strip_prefix("-0x") {
        -i128::from_str_radix(h, 16).expect("hex")
    } else {
        v.parse().unwrap_or_else(|_| panic!("bad integer `{v}`"))
    }
}

fn f32_bits(v: &str) -> u32 {
    if let Some(h) = v.strip_prefix("0x") {
        u32::from_str_radix(h, 16).expect("hex bits")
    } else {
        match v {
            "nan" => 0x7fff_ffff,
            "inf" => f32::INFINITY.to_bits(),
            "-inf" => f32::NEG_INFINITY.to_bits(),
            _ => v
                .parse::<f32>()
                .unwrap_or_else(|_| panic!("bad f32 `{v}`"))
                .to_bits(),
        }
    }
}

/// Encodes values of a buffer type.
fn encode(ty: &str, vals: &[String]) -> Vec<u8> {
    let mut b = Vec::new();
    for v in vals {
        match ty {
            "u8" => b.push(int(v) as u8),
            "u16" => b.extend((int(v) as u16).to_le_bytes()),
            "u32" | "s32" => b.extend((int(v) as u32).to_le_bytes()),
            "u64" | "s64" => b.extend((int(v) as u64).to_le_bytes()),
            "f32" => b.extend(f32_bits(v).to_le_bytes()),
            _ => panic!("unknown buffer type `{ty}`"),
        }
    }
    b
}

fn elem_size(ty: &str) -> usize {
    match ty {
        "u8" => 1,
        "u16" => 2,
        "u32" | "s32" | "f32" => 4,
        _ => 8,
    }
}

/// Shows values for a failure message.
fn decode_vals(ty: &str, bytes: &[u8]) -> Vec<String> {
    bytes
        .chunks(elem_size(ty))
        .map(|c| match ty {
            "u8" => c[0].to_string(),
            "u16" => u16::from_le_bytes([c[0], c[1]]).to_string(),
            "u32" => u32::from_le_bytes(c.try_into().unwrap()).to_string(),
            "s32" => i32::from_le_bytes(c.try_into().unwrap()).to_string(),
            "f32" => {
                let b = u32::from_le_bytes(c.try_into().unwrap());
                format!("{}(0x{b:08x})", f32::from_bits(b))
            }
            "s64" => i64::from_le_bytes(c.try_into().unwrap()).to_string(),
            _ => u64::from_le_bytes(c.try_into().unwrap()).to_string(),
        })
        .collect()
}

pub enum Outcome {
    Pass,
    Fail(String),
}

/// Runs one test file; `Err` describes the mismatch.
pub fn run_file(path: &std::path::Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut kernel = None;
    let mut grid = [1u32, 1, 1];
    let mut block = [32u32, 1, 1];
    let mut dyn_shared = 0;
    let mut opts = Options::default();
    let mut g = Global::new();
    let mut bufs: Vec<(String, u64)> = Vec::new();
    let mut args = Vec::new();
    let mut expects: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut fault: Vec<String> = Vec::new();
    let mut parse_error: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(d) = line.trim().strip_prefix("//@") else {
            continue;
        };
        let w: Vec<&str> = d.split_whitespace().collect();
        let n3 = |w: &[&str]| {
            [
                w[1].parse().unwrap(),
                w[2].parse().unwrap(),
                w[3].parse().unwrap(),
            ]
        };
        match w[0] {
            "kernel" => kernel = Some(w[1].to_string()),
            "grid" => grid = n3(&w),
            "block" => block = n3(&w),
            "dyn_shared" => dyn_shared = w[1].parse().unwrap(),
            "threads" => opts.threads = w[1].parse().unwrap(),
            "max_steps" => opts.max_thread_instructions = w[1].parse().unwrap(),
            "seed" => opts.seed = w[1].parse().unwrap(),
            "schedule" => {
                assert_eq!(w[1], "canonical", "schedule canonical");
                opts.schedule = ptx_emu::Schedule::Canonical;
            }
            "racecheck" => opts.racecheck = w[1] != "off",
            "initcheck" => opts.initcheck = w[1] != "off",
            "buf" => {
                let bytes = if w[3] == "zero" {
                    vec![0u8; w[4].parse::<usize>().unwrap() * elem_size(w[2])]
                } else {
                    encode(w[2], &expand(&w[3..]))
                };
                let a = g.alloc(w[1], &bytes);
                bufs.push((w[1].to_string(), a));
            }
            "arg" => args.push(match w[1] {
                "ptr" => Arg::Ptr(bufs.iter().find(|b| b.0 == w[2]).expect("buffer").1),
                "u32" => Arg::U32(int(w[2]) as u32),
                "s32" => Arg::S32(int(w[2]) as i32),
                "u64" => Arg::U64(int(w[2]) as u64),
                "f32" => Arg::F32(f32::from_bits(f32_bits(w[2]))),
                t => panic!("unknown arg type {t}"),
            }),
            "expect" => expects.push((w[1].to_string(), w[2].to_string(), expand(&w[3..]))),
            "fault" => fault.push(d.trim()[5..].trim().to_string()),
            "parse-error" => parse_error.push(d.trim()[11..].trim().to_string()),
            x => panic!("unknown directive {x}"),
        }
    }
    let m = match Module::parse(&text) {
        Ok(m) => {
            if !parse_error.is_empty() {
                return Err("expected a parse error, parsing succeeded".into());
            }
            m
        }
        Err(e) => {
            let s = e.to_string();
            if parse_error.is_empty() {
                return Err(format!("parse error:\n{s}"));
            }
            for p in &parse_error {
                if !s.contains(p.as_str()) {
                    return Err(format!("parse error lacks `{p}`:\n{s}"));
                }
            }
            return Ok(());
        }
    };
    let name = kernel.unwrap_or_else(|| m.kernels()[0].name().to_string());
    let launch = Launch {
        grid,
        block,
        dynamic_shared_bytes: dyn_shared,
    };
    match run(&m, &name, &launch, &args, &mut g, &opts) {
        Ok(_) if !fault.is_empty() => return Err("expected a fault, the run succeeded".into()),
        Ok(_) => {}
        Err(f) => {
            let s = f.to_string();
            if fault.is_empty() {
                return Err(format!("unexpected fault:\n{s}"));
            }
            for p in &fault {
                if !s.contains(p.as_str()) {
                    return Err(format!("fault lacks `{p}`:\n{s}"));
                }
            }
            return Ok(());
        }
    }
    let mut errs = String::new();
    for (name, ty, vals) in expects {
        let addr = bufs.iter().find(|b| b.0 == name).expect("expect buffer").1;
        let want = encode(&ty, &vals);
        let got = g.read(addr, want.len()).map_err(|e| e.to_string())?;
        if got != want {
            let (gv, wv) = (decode_vals(&ty, &got), decode_vals(&ty, &want));
            for (i, (a, b)) in gv.iter().zip(&wv).enumerate() {
                if a != b {
                    errs += &format!("  {name}[{i}]: got {a}, expected {b}\n");
                }
            }
        }
    }
    if errs.is_empty() { Ok(()) } else { Err(errs) }
}

/// Runs every `.ptx` in `dir`, panicking with all failures.
pub fn run_dir(dir: &str) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .expect("test dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ptx"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = run_file(f) {
            failures.push(format!("{}:\n{e}", f.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    files.len()
}
