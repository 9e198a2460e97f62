//! Kernels compiled by NVRTC 13.5 for sm_90a (tests/nvrtc/*.cu, regenerated with
//! `ORAC_CUDA_HOME=... python3 tests/nvrtc/compile.py tests/nvrtc/*.cu`), run on the emulator
//! and checked against answers computed here.
use ptx_emu::{Arg, Global, Launch, Module, Options, run};

fn module(name: &str) -> Module {
    let path = format!("{}/tests/nvrtc/{name}.ptx", env!("CARGO_MANIFEST_DIR"));
    let m = Module::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(m.ptx_version(), (9, 5));
    assert_eq!(m.target(), "sm_90a");
    m
}

fn opts(threads: usize) -> Options {
    Options {
        threads,
        ..Options::default()
    }
}

#[test]
fn vector_add() {
    let m = module("vector_add");
    let k = &m.kernels()[0];
    assert_eq!(k.name(), "vector_add");
    let sizes: Vec<u32> = k.params().iter().map(|p| p.size).collect();
    assert_eq!(sizes, [8, 8, 8, 4]);
    let n = 1000;
    let a: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
    let b: Vec<f32> = (0..n).map(|i| 1.0 / (i as f32 + 1.0)).collect();
    for threads in [1, 3] {
        let mut g = Global::new();
        let (pa, pb) = (g.alloc_f32("a", &a), g.alloc_f32("b", &b));
        let pc = g.alloc_zeroed("c", n * 4);
        let launch = Launch {
            grid: [4, 1, 1],
            block: [256, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let args = [Arg::Ptr(pa), Arg::Ptr(pb), Arg::Ptr(pc), Arg::S32(n as i32)];
        let r = run(&m, "vector_add", &launch, &args, &mut g, &opts(threads)).unwrap();
        assert_eq!(r.blocks, 4);
        let c = g.read_f32(pc, n).unwrap();
        for i in 0..n {
            assert_eq!(c[i].to_bits(), (a[i] + b[i]).to_bits(), "c[{i}]");
        }
    }
}

#[test]
fn vector_add_reports_an_overrun_with_the_cuda_line() {
    // n larger than the buffers: thread 1000 reads past `b` (NVRTC loads b first)
    let m = module("vector_add");
    let mut g = Global::new();
    let pa = g.alloc_zeroed("a", 4000);
    let pb = g.alloc_zeroed("b", 4000);
    let pc = g.alloc_zeroed("c", 4000);
    let launch = Launch {
        grid: [4, 1, 1],
        block: [256, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let args = [Arg::Ptr(pa), Arg::Ptr(pb), Arg::Ptr(pc), Arg::S32(1024)];
    let f = run(&m, "vector_add", &launch, &args, &mut g, &opts(1)).unwrap_err();
    let s = f.to_string();
    assert!(s.contains("out-of-bounds global load of 4 bytes"), "{s}");
    assert!(s.contains("block (3,0,0), thread (232,0,0)"), "{s}");
    assert!(s.contains("(vector_add.cu:5)"), "{s}");
    assert!(s.contains("0 bytes past the end of allocation `b`"), "{s}");
}

#[test]
fn grid_stride_copy() {
    let m = module("grid_stride_copy");
    let n = 5000usize;
    let src: Vec<u32> = (0..n as u32).map(|i| i.wrapping_mul(2654435761)).collect();
    for threads in [1, 2] {
        let mut g = Global::new();
        let ps = g.alloc_u32("src", &src);
        let pd = g.alloc_zeroed("dst", n * 4);
        let launch = Launch {
            grid: [3, 1, 1],
            block: [128, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let args = [Arg::Ptr(ps), Arg::Ptr(pd), Arg::U64(n as u64)];
        run(
            &m,
            "grid_stride_copy",
            &launch,
            &args,
            &mut g,
            &opts(threads),
        )
        .unwrap();
        assert_eq!(g.read_u32(pd, n).unwrap(), src);
    }
}

#[test]
fn shared_memory_reduction() {
    let m = module("reduce");
    let n = 10_000usize;
    // small integers: every partial sum is exact in f32, so the order does not matter
    let input: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
    let blocks = 5;
    let stride = blocks * 256;
    let expect: Vec<f32> = (0..blocks)
        .map(|b| {
            (0..256)
                .flat_map(|t| (b * 256 + t..n).step_by(stride))
                .map(|i| input[i])
                .sum()
        })
        .collect();
    for threads in [1, 4] {
        let mut g = Global::new();
        let pi = g.alloc_f32("in", &input);
        let po = g.alloc_zeroed("out", blocks * 4);
        let launch = Launch {
            grid: [blocks as u32, 1, 1],
            block: [256, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let args = [Arg::Ptr(pi), Arg::Ptr(po), Arg::S32(n as i32)];
        let r = run(&m, "reduce", &launch, &args, &mut g, &opts(threads)).unwrap();
        assert!(r.thread_instructions > r.warp_instructions);
        assert_eq!(g.read_f32(po, blocks).unwrap(), expect);
    }
}

#[test]
fn arguments_are_checked_against_the_parameters() {
    let m = module("vector_add");
    let mut g = Global::new();
    let launch = Launch {
        grid: [1, 1, 1],
        block: [32, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let f = run(&m, "vector_add", &launch, &[Arg::U32(1)], &mut g, &opts(1)).unwrap_err();
    assert_eq!(f.kind, ptx_emu::FaultKind::ArgMismatch);
    let f = run(&m, "nope", &launch, &[], &mut g, &opts(1)).unwrap_err();
    assert_eq!(f.kind, ptx_emu::FaultKind::UnknownKernel);
}

#[test]
fn parallel_and_sequential_runs_agree() {
    let m = module("reduce");
    let n = 3000usize;
    let input: Vec<f32> = (0..n).map(|i| (i % 5) as f32).collect();
    let mut reports = Vec::new();
    let mut outs = Vec::new();
    for threads in [1, 2, 4] {
        let mut g = Global::new();
        let pi = g.alloc_f32("in", &input);
        let po = g.alloc_zeroed("out", 7 * 4);
        let launch = Launch {
            grid: [7, 1, 1],
            block: [256, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let args = [Arg::Ptr(pi), Arg::Ptr(po), Arg::S32(n as i32)];
        reports.push(run(&m, "reduce", &launch, &args, &mut g, &opts(threads)).unwrap());
        outs.push(g.read_f32(po, 7).unwrap());
    }
    assert!(reports.windows(2).all(|w| w[0] == w[1]), "{reports:?}");
    assert!(outs.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(outs[0].iter().sum::<f32>(), input.iter().sum::<f32>());
}

#[test]
fn module_metadata() {
    let m = module("grid_stride_copy");
    assert_eq!(m.address_size(), 64);
    assert!(
        m.file(1)
            .is_some_and(|f| f.ends_with("grid_stride_copy.cu"))
    );
    let k = m.kernel("grid_stride_copy").unwrap();
    let p: Vec<(&str, u32, u32)> = k
        .params()
        .iter()
        .map(|p| (p.name.as_str(), p.size, p.offset))
        .collect();
    assert_eq!(
        p,
        [
            ("grid_stride_copy_param_0", 8, 0),
            ("grid_stride_copy_param_1", 8, 8),
            ("grid_stride_copy_param_2", 8, 16)
        ]
    );
    assert_eq!(k.static_shared_bytes(), 0);
    assert!(k.instruction_count() > 10);
}
