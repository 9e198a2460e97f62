//! `Options::counters` on small hand-written kernels whose counts are worked out by hand in
//! the comments: shared-memory bank conflicts, global sectors, ldmatrix with and without a
//! swizzle, instruction classes and SIMT efficiency.

use ptx_emu::{Arg, Counters, Global, Launch, Module, Options, Schedule, run};

const HEAD: &str = ".version 9.5\n.target sm_90a\n.address_size 64\n";

fn counted(
    ptx: &str,
    kernel: &str,
    block: u32,
    args: impl Fn(&mut Global) -> Vec<Arg>,
) -> Counters {
    let m = Module::parse(&format!("{HEAD}{ptx}")).expect("parses");
    let mut g = Global::new();
    let args = args(&mut g);
    let launch = Launch {
        grid: [1, 1, 1],
        block: [block, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let opts = Options {
        counters: true,
        schedule: Schedule::Canonical,
        ..Options::default()
    };
    let r = run(&m, kernel, &launch, &args, &mut g, &opts).expect("runs");
    r.counters.expect("counted")
}

/// Thread t stores its id at shared byte `t * stride`, then loads it back.
const SHARED_STRIDE: &str = "
.visible .entry shared_stride(.param .u64 out, .param .u32 stride)
{
	.reg .b32 %r<6>;
	.reg .b64 %rd<4>;
	.shared .align 16 .b8 s[4096];
	ld.param.u64 %rd1, [out];
	ld.param.u32 %r1, [stride];
	mov.u32 %r2, %tid.x;
	mul.lo.u32 %r3, %r2, %r1;
	mov.u32 %r4, s;
	add.u32 %r3, %r3, %r4;
	st.shared.u32 [%r3], %r2;
	bar.sync 0;
	ld.shared.u32 %r5, [%r3];
	cvta.to.global.u64 %rd2, %rd1;
	mul.wide.u32 %rd3, %r2, 4;
	add.s64 %rd2, %rd2, %rd3;
	st.global.u32 [%rd2], %r5;
	ret;
}
";

fn shared_stride(stride: u32) -> Counters {
    counted(SHARED_STRIDE, "shared_stride", 32, |g| {
        vec![Arg::Ptr(g.alloc_zeroed("out", 128)), Arg::U32(stride)]
    })
}

#[test]
fn shared_bank_conflicts_by_stride() {
    // 4-byte words at a stride of 1, 2, 4 and 32 words: lane l hits bank (l * w) % 32, so
    // the busiest bank holds 1, 2, 4 and 32 distinct words: that many wavefronts, ideal 1.
    for (stride, ways) in [(4, 1), (8, 2), (16, 4), (128, 32)] {
        let c = shared_stride(stride);
        for dir in ["ld", "st"] {
            assert_eq!(
                c.get(&format!("shared.{dir}.requests")),
                1,
                "stride {stride}"
            );
            assert_eq!(
                c.get(&format!("shared.{dir}.wavefronts")),
                ways,
                "stride {stride}"
            );
            assert_eq!(c.get(&format!("shared.{dir}.ideal_wavefronts")), 1);
            assert_eq!(c.get(&format!("shared.{dir}.max_ways")), ways);
            assert_eq!(c.get(&format!("shared.{dir}.bytes")), 128);
        }
    }
    // a padded column (33 words): conflict-free again
    assert_eq!(shared_stride(132).get("shared.ld.wavefronts"), 1);
}

#[test]
fn instruction_classes_and_simt_efficiency_of_a_converged_warp() {
    let c = shared_stride(4);
    // 14 instructions, every one by all 32 lanes, none predicated off
    assert_eq!(c.get("inst.executed"), 14);
    assert_eq!(c.get("inst.thread_executed"), 14 * 32);
    assert_eq!(c.get("inst.thread_pred_on"), 14 * 32);
    // mov, mul.lo, mov, add, cvta, mul.wide, add.s64
    assert_eq!(c.get("inst.integer"), 7);
    assert_eq!(c.get("inst.ld.param"), 2);
    assert_eq!(c.get("inst.st.shared"), 1);
    assert_eq!(c.get("inst.ld.shared"), 1);
    assert_eq!(c.get("inst.st.global"), 1);
    assert_eq!(c.get("inst.barrier"), 1);
    assert_eq!(c.get("inst.exit"), 1);
    assert_eq!(c.get("branch.divergent"), 0);
    // the store of 32 consecutive words: 128 bytes, 4 sectors, all needed
    assert_eq!(c.get("global.st.requests"), 1);
    assert_eq!(c.get("global.st.sectors"), 4);
    assert_eq!(c.get("global.st.ideal_sectors"), 4);
}

/// out[t] = data[idx[t]]
const GATHER: &str = "
.visible .entry gather(.param .u64 out, .param .u64 data, .param .u64 idx)
{
	.reg .b32 %r<4>;
	.reg .b64 %rd<10>;
	ld.param.u64 %rd1, [out];
	ld.param.u64 %rd2, [data];
	ld.param.u64 %rd3, [idx];
	cvta.to.global.u64 %rd4, %rd3;
	mov.u32 %r1, %tid.x;
	mul.wide.u32 %rd5, %r1, 4;
	add.s64 %rd6, %rd4, %rd5;
	ld.global.u32 %r2, [%rd6];
	cvta.to.global.u64 %rd7, %rd2;
	mul.wide.u32 %rd8, %r2, 4;
	add.s64 %rd9, %rd7, %rd8;
	ld.global.u32 %r3, [%rd9];
	cvta.to.global.u64 %rd7, %rd1;
	add.s64 %rd9, %rd7, %rd5;
	st.global.u32 [%rd9], %r3;
	ret;
}
";

/// The counts of `gather` with lane l reading element `index(l)`.
fn gather(index: impl Fn(u32) -> u32) -> Counters {
    counted(GATHER, "gather", 32, |g| {
        let idx: Vec<u8> = (0..32).flat_map(|l| index(l).to_le_bytes()).collect();
        vec![
            Arg::Ptr(g.alloc_zeroed("out", 128)),
            Arg::Ptr(g.alloc_zeroed("data", 4 * 1024)),
            Arg::Ptr(g.alloc("idx", &idx)),
        ]
    })
}

#[test]
fn global_sectors_of_coalesced_strided_and_scattered_loads() {
    // two loads each: idx (coalesced, 4 sectors) and data[idx]
    let sectors = |c: &Counters| c.get("global.ld.sectors") - 4;
    // coalesced: 128 consecutive bytes, 4 sectors
    let c = gather(|l| l);
    assert_eq!(c.get("global.ld.requests"), 2);
    assert_eq!(sectors(&c), 4);
    assert_eq!(c.get("global.ld.ideal_sectors"), 8);
    assert_eq!(c.get("global.ld.bytes"), 256);
    // permuted within the same 128 bytes: still 4
    assert_eq!(sectors(&gather(|l| (l * 7) % 32)), 4);
    // strided by 32 bytes: a sector per lane, 4 bytes of each used; the ideal stays 4
    let c = gather(|l| 8 * l);
    assert_eq!(sectors(&c), 32);
    assert_eq!(c.get("global.ld.ideal_sectors"), 8);
    // scattered over 4 KiB, a distinct sector per lane
    assert_eq!(sectors(&gather(|l| (l * 37 % 32) * 32 + 3)), 32);
    // every lane the same word: 1 sector, 1 needed
    let c = gather(|_| 5);
    assert_eq!(sectors(&c), 1);
    assert_eq!(c.get("global.ld.ideal_sectors"), 4 + 1);
}

/// ldmatrix.x4 with lane l giving row address `l * stride`, its 16-byte chunk XORed with
/// `l % 8` when `swizzle` is 1 (the 128-byte swizzle of a 128-byte row).
const LDMATRIX: &str = "
.visible .entry ldsm(.param .u64 out, .param .u32 stride, .param .u32 swizzle)
{
	.reg .b32 %r<12>;
	.reg .b64 %rd<4>;
	.shared .align 128 .b8 s[9216];
	ld.param.u64 %rd1, [out];
	ld.param.u32 %r1, [stride];
	ld.param.u32 %r2, [swizzle];
	mov.u32 %r3, %tid.x;
	and.b32 %r4, %r3, 7;
	mul.lo.u32 %r4, %r4, %r2;
	shl.b32 %r4, %r4, 4;
	mad.lo.u32 %r5, %r3, %r1, %r4;
	mov.u32 %r6, s;
	add.u32 %r5, %r5, %r6;
	ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r7, %r8, %r9, %r10}, [%r5];
	cvta.to.global.u64 %rd2, %rd1;
	mul.wide.u32 %rd3, %r3, 4;
	add.s64 %rd2, %rd2, %rd3;
	st.global.u32 [%rd2], %r7;
	ret;
}
";

fn ldmatrix(stride: u32, swizzle: u32) -> Counters {
    let m = Module::parse(&format!("{HEAD}{LDMATRIX}")).expect("parses");
    let mut g = Global::new();
    let out = g.alloc_zeroed("out", 128);
    let launch = Launch {
        grid: [1, 1, 1],
        block: [32, 1, 1],
        dynamic_shared_bytes: 0,
    };
    // shared memory is never written: initcheck off, so it reads as zeros
    let opts = Options {
        counters: true,
        schedule: Schedule::Canonical,
        initcheck: false,
        ..Options::default()
    };
    let args = [Arg::Ptr(out), Arg::U32(stride), Arg::U32(swizzle)];
    run(&m, "ldsm", &launch, &args, &mut g, &opts)
        .expect("runs")
        .counters
        .expect("counted")
}

#[test]
fn ldmatrix_with_and_without_a_swizzle() {
    // a wavefront serves one 8x8 matrix (8 rows of 16 bytes): x4 needs 4 at best
    // 128-byte rows unswizzled: all 8 rows of a matrix start at bank 0, so banks 0..3 each
    // hold 8 distinct words: 8 wavefronts per matrix
    let c = ldmatrix(128, 0);
    assert_eq!(c.get("shared.ldmatrix.requests"), 1);
    assert_eq!(c.get("shared.ldmatrix.ideal_wavefronts"), 4);
    assert_eq!(c.get("shared.ldmatrix.wavefronts"), 32);
    assert_eq!(c.get("shared.ldmatrix.max_ways"), 8);
    assert_eq!(c.get("shared.ldmatrix.bytes"), 512);
    // swizzled: row r's chunk is r, at banks 4r..4r+3: conflict-free
    let c = ldmatrix(128, 1);
    assert_eq!(c.get("shared.ldmatrix.wavefronts"), 4);
    assert_eq!(c.get("shared.ldmatrix.max_ways"), 1);
    // gemm_mma's padded rows: 80 bytes (banks 20r mod 32) and 272 bytes (4r mod 32) put
    // the 8 rows on disjoint groups of 4 banks: conflict-free
    assert_eq!(ldmatrix(80, 0).get("shared.ldmatrix.wavefronts"), 4);
    assert_eq!(ldmatrix(272, 0).get("shared.ldmatrix.wavefronts"), 4);
    // 64-byte rows: rows r and r + 2 share banks: 4 distinct words per bank
    assert_eq!(ldmatrix(64, 0).get("shared.ldmatrix.wavefronts"), 16);
    assert_eq!(c.get("inst.ldmatrix.x4"), 1);
}

/// Lanes below `n` add 100 to their id; the others branch past it.
const DIVERGE: &str = "
.visible .entry diverge(.param .u64 out, .param .u32 n)
{
	.reg .pred %p<2>;
	.reg .b32 %r<3>;
	.reg .b64 %rd<4>;
	ld.param.u64 %rd1, [out];
	ld.param.u32 %r2, [n];
	mov.u32 %r1, %tid.x;
	setp.ge.u32 %p1, %r1, %r2;
	@%p1 bra DONE;
	add.u32 %r1, %r1, 100;
DONE:
	cvta.to.global.u64 %rd2, %rd1;
	mul.wide.u32 %rd3, %r1, 4;
	add.s64 %rd2, %rd2, %rd3;
	ld.global.u32 %r1, [%rd2];
	ret;
}
";

#[test]
fn divergent_branches_and_simt_efficiency() {
    let run_n = |n: u32, block: u32| {
        counted(DIVERGE, "diverge", block, |g| {
            vec![Arg::Ptr(g.alloc_zeroed("out", 4 * 200)), Arg::U32(n)]
        })
    };
    // 8 of 32 lanes take the add: the branch splits the warp once; 11 instructions issued,
    // 10 by all 32 lanes and the add by 8
    let c = run_n(8, 32);
    assert_eq!(c.get("branch.divergent"), 1);
    assert_eq!(c.get("inst.branch"), 1);
    assert_eq!(c.get("inst.executed"), 11);
    assert_eq!(c.get("inst.thread_executed"), 10 * 32 + 8);
    // the 9 unguarded full-warp instructions, the branch's 24 lanes whose guard holds
    // (they jump), and the add's 8
    assert_eq!(c.get("inst.thread_pred_on"), 9 * 32 + 24 + 8);
    // every lane takes the same way: no divergence, the add is skipped whole
    let c = run_n(0, 32);
    assert_eq!(c.get("branch.divergent"), 0);
    assert_eq!(c.get("inst.executed"), 10);
    // 48 threads, none diverging: warp 1 has 16 lanes, so 48 threads per instruction
    // over 2 warps
    let c = run_n(64, 48);
    assert_eq!(c.get("inst.executed"), 22);
    assert_eq!(c.get("inst.thread_executed"), 11 * 48);
}

#[test]
fn counts_do_not_depend_on_host_threads_or_repeat_runs() {
    let m = Module::parse(&format!("{HEAD}{SHARED_STRIDE}")).unwrap();
    let counts = |threads: usize| {
        let mut g = Global::new();
        let out = g.alloc_zeroed("out", 128 * 8);
        let launch = Launch {
            grid: [8, 1, 1],
            block: [32, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let opts = Options {
            counters: true,
            schedule: Schedule::Canonical,
            threads,
            ..Options::default()
        };
        run(
            &m,
            "shared_stride",
            &launch,
            &[Arg::Ptr(out), Arg::U32(8)],
            &mut g,
            &opts,
        )
        .unwrap()
        .counters
        .unwrap()
    };
    let one = counts(1);
    assert_eq!(one.get("shared.ld.wavefronts"), 8 * 2);
    assert_eq!(one, counts(1));
    assert_eq!(one, counts(2));
    // counting off: no counts
    let mut g = Global::new();
    let out = g.alloc_zeroed("out", 128);
    let launch = Launch {
        grid: [1, 1, 1],
        block: [32, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let r = run(
        &m,
        "shared_stride",
        &launch,
        &[Arg::Ptr(out), Arg::U32(4)],
        &mut g,
        &Options::default(),
    )
    .unwrap();
    assert!(r.counters.is_none());
}

#[test]
fn hotspots_name_the_conflicted_instructions() {
    let c = shared_stride(8);
    let hot = c.hotspots();
    // the 2-way store and load, nothing else (the global store is coalesced)
    assert_eq!(hot.len(), 2, "{hot:?}");
    let text = format!("{HEAD}{SHARED_STRIDE}");
    let line = |n: u32| text.lines().nth(n as usize - 1).unwrap().trim().to_string();
    for h in hot {
        assert_eq!((h.requests, h.actual, h.ideal), (1, 2, 1), "{h:?}");
        assert_eq!(h.kernel, "shared_stride");
        let want = if h.kind == "shared.ld" {
            "ld.shared"
        } else {
            "st.shared"
        };
        assert!(
            line(h.ptx_line).starts_with(want),
            "{h:?}: {}",
            line(h.ptx_line)
        );
    }
    assert!(shared_stride(4).hotspots().is_empty());
}
