//! The adversarial schedule: a kernel missing a barrier computes different results for
//! different seeds (with the checks off, so the race is not reported first), a correct one
//! the same for every seed; the canonical schedule does not depend on the seed at all.
use ptx_emu::{Arg, Global, Launch, Module, Options, Schedule, run};

/// Every thread writes s[tid] = tid + 1, then (with or without a barrier) reads
/// s[(tid + 32) % 128], a slot of another warp, and stores it to out[tid].
fn kernel(barrier: bool) -> String {
    format!(
        r"
.version 9.5
.target sm_90a
.address_size 64
.visible .entry k(.param .u64 out)
{{
	.reg .b32 %r<10>;
	.reg .b64 %rd<4>;
	.shared .align 4 .b8 s[512];
	mov.u32 %r1, %tid.x;
	shl.b32 %r2, %r1, 2;
	mov.u32 %r3, s;
	add.s32 %r4, %r3, %r2;
	add.s32 %r5, %r1, 1;
	st.shared.u32 [%r4], %r5;
	{}
	add.s32 %r6, %r1, 32;
	and.b32 %r6, %r6, 127;
	shl.b32 %r7, %r6, 2;
	add.s32 %r8, %r3, %r7;
	ld.shared.u32 %r9, [%r8];
	ld.param.u64 %rd1, [out];
	mul.wide.u32 %rd2, %r1, 4;
	add.s64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r9;
	ret;
}}
",
        if barrier { "bar.sync 0;" } else { "" }
    )
}

fn outputs(barrier: bool, opts: &Options) -> (Vec<u32>, u64) {
    let m = Module::parse(&kernel(barrier)).unwrap();
    let mut g = Global::new();
    let out = g.alloc_zeroed("out", 4 * 128 * 4);
    let launch = Launch {
        grid: [4, 1, 1],
        block: [128, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let r = run(&m, "k", &launch, &[Arg::Ptr(out)], &mut g, opts).unwrap();
    (g.read_u32(out, 128).unwrap(), r.thread_instructions)
}

#[test]
fn a_missing_barrier_changes_the_result_across_seeds_a_correct_kernel_does_not() {
    let unchecked = |seed| Options {
        seed,
        racecheck: false,
        initcheck: false,
        ..Options::default()
    };
    let expected: Vec<u32> = (0..128).map(|t| (t + 32) % 128 + 1).collect();
    let mut racy = std::collections::BTreeSet::new();
    for seed in 0..16 {
        assert_eq!(outputs(true, &unchecked(seed)).0, expected, "seed {seed}");
        assert_eq!(
            outputs(
                true,
                &Options {
                    seed,
                    ..Options::default()
                }
            )
            .0,
            expected
        );
        racy.insert(outputs(false, &unchecked(seed)).0);
    }
    assert!(racy.len() > 2, "only {} distinct results", racy.len());
    assert!(racy.iter().any(|r| *r != expected));
    // with the checks on, the missing barrier is a race (or a read of a slot no one wrote yet)
    let m = Module::parse(&kernel(false)).unwrap();
    let mut g = Global::new();
    let out = g.alloc_zeroed("out", 4 * 128 * 4);
    let launch = Launch {
        grid: [1, 1, 1],
        block: [128, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let f = run(
        &m,
        "k",
        &launch,
        &[Arg::Ptr(out)],
        &mut g,
        &Options::default(),
    )
    .unwrap_err();
    let text = f.to_string();
    assert!(
        text.contains("data race on shared memory") || text.contains("uninitialised shared"),
        "{text}"
    );
}

#[test]
fn the_canonical_schedule_does_not_depend_on_the_seed() {
    let canonical = |seed| Options {
        seed,
        schedule: Schedule::Canonical,
        racecheck: false,
        initcheck: false,
        ..Options::default()
    };
    let first = outputs(false, &canonical(0));
    for seed in 1..8 {
        assert_eq!(outputs(false, &canonical(seed)), first, "seed {seed}");
    }
    // warp 0 runs to the end before warp 1 writes: it reads zeros
    assert_eq!(first.0[0], 0);
    // instruction counts do not depend on the schedule either
    assert_eq!(
        outputs(true, &canonical(0)).1,
        outputs(true, &Options::default()).1
    );
}

/// Lanes 0-15 and 16-31 of one warp take the two sides of a branch, each writing its own
/// slot; after the join every lane reads the slot of lane ^ 16 with no __syncwarp(). Lowest
/// PC first always runs both sides before the read; the adversarial schedule may run one
/// side past the join first.
const DIVERGENT: &str = r"
.version 9.5
.target sm_90a
.address_size 64
.visible .entry k(.param .u64 out)
{
	.reg .pred %p<2>;
	.reg .b32 %r<10>;
	.reg .b64 %rd<4>;
	.shared .align 4 .b8 s[128];
	mov.u32 %r1, %tid.x;
	shl.b32 %r2, %r1, 2;
	mov.u32 %r3, s;
	add.s32 %r4, %r3, %r2;
	setp.lt.u32 %p1, %r1, 16;
	@%p1 bra $LOW;
	st.shared.u32 [%r4], 2;
	bra.uni $JOIN;
$LOW:
	st.shared.u32 [%r4], 1;
$JOIN:
	xor.b32 %r5, %r1, 16;
	shl.b32 %r6, %r5, 2;
	add.s32 %r7, %r3, %r6;
	ld.shared.u32 %r8, [%r7];
	ld.param.u64 %rd1, [out];
	mul.wide.u32 %rd2, %r1, 4;
	add.s64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r8;
	ret;
}
";

#[test]
fn divergent_paths_of_a_warp_run_in_a_seeded_order() {
    let m = Module::parse(DIVERGENT).unwrap();
    let launch = Launch {
        grid: [1, 1, 1],
        block: [32, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let go = |opts: &Options| {
        let mut g = Global::new();
        let out = g.alloc_zeroed("out", 32 * 4);
        run(&m, "k", &launch, &[Arg::Ptr(out)], &mut g, opts)
            .map(|_| g.read_u32(out, 32).unwrap())
            .map_err(|f| f.to_string())
    };
    let lockstep: Vec<u32> = (0..32).map(|t| if t < 16 { 2 } else { 1 }).collect();
    let canonical = Options {
        schedule: Schedule::Canonical,
        racecheck: false,
        initcheck: false,
        ..Options::default()
    };
    assert_eq!(go(&canonical).unwrap(), lockstep);
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..32 {
        let opts = Options {
            seed,
            racecheck: false,
            initcheck: false,
            ..Options::default()
        };
        seen.insert(go(&opts).unwrap());
    }
    assert!(seen.len() > 1, "{seen:?}");
    // with the checks on it is an intra-warp race, whatever the order
    for seed in 0..4 {
        let f = go(&Options {
            seed,
            ..Options::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            f.contains("lanes of one warp are not lock-step") || f.contains("uninitialised"),
            "{f}"
        );
    }
}
