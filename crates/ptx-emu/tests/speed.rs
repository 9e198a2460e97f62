//! Emulation speed on a simple loop kernel (ALU ops, a compare and a branch per iteration,
//! plus a global store). Run in release, on an otherwise idle machine:
//! `cargo test --release -p ptx-emu --test speed -- --ignored --nocapture`
use ptx_emu::{Arg, Global, Launch, Module, Options, Schedule, run};

const LOOP: &str = r"
.version 9.5
.target sm_90a
.address_size 64
.visible .entry spin(.param .u64 out, .param .u32 n)
{
	.reg .pred %p<2>;
	.reg .b32 %r<8>;
	.reg .f32 %f<4>;
	.reg .b64 %rd<4>;
	ld.param.u64 %rd1, [out];
	ld.param.u32 %r1, [n];
	mov.u32 %r2, %tid.x;
	mov.u32 %r3, 0;
	mov.f32 %f1, 0f00000000;
$L:
	add.s32 %r3, %r3, 1;
	xor.b32 %r2, %r2, %r3;
	fma.rn.f32 %f1, %f1, 0f3F000000, 0f3F800000;
	setp.lt.u32 %p1, %r3, %r1;
	@%p1 bra $L;
	mov.u32 %r4, %tid.x;
	mul.wide.u32 %rd2, %r4, 4;
	add.s64 %rd3, %rd1, %rd2;
	st.global.u32 [%rd3], %r2;
	ret;
}
";

#[test]
#[ignore = "timing: run alone, in release"]
fn thread_instructions_per_second() {
    let m = Module::parse(LOOP).unwrap();
    for (threads, checks) in [(1, true), (2, true), (1, false)] {
        let mut g = Global::new();
        let out = g.alloc_zeroed("out", 256 * 4);
        let launch = Launch {
            grid: [16, 1, 1],
            block: [256, 1, 1],
            dynamic_shared_bytes: 0,
        };
        let opts = Options {
            threads,
            ..configs(checks)
        };
        let t = std::time::Instant::now();
        let r = run(
            &m,
            "spin",
            &launch,
            &[Arg::Ptr(out), Arg::U32(2000)],
            &mut g,
            &opts,
        )
        .unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "{threads} host thread(s), {}: {} thread-instructions in {s:.3} s = {:.1} M/s",
            label(checks),
            r.thread_instructions,
            r.thread_instructions as f64 / s / 1e6
        );
    }
}

#[test]
#[ignore = "timing: run alone, in release"]
fn nvrtc_reduction_speed() {
    let path = format!("{}/tests/nvrtc/reduce.ptx", env!("CARGO_MANIFEST_DIR"));
    let m = Module::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let n: usize = 1 << 20;
    let input: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
    let mut g = Global::new();
    let pi = g.alloc_f32("in", &input);
    let po = g.alloc_zeroed("out", 64 * 4);
    let launch = Launch {
        grid: [64, 1, 1],
        block: [256, 1, 1],
        dynamic_shared_bytes: 0,
    };
    let args = [Arg::Ptr(pi), Arg::Ptr(po), Arg::S32(n as i32)];
    // the third: what `orac counters` runs (checks on, canonical order, counting)
    let counted = Options {
        schedule: Schedule::Canonical,
        counters: true,
        ..Options::default()
    };
    for (opts, what) in [
        (configs(true), label(true)),
        (configs(false), label(false)),
        (counted, "checks on, canonical, counters"),
    ] {
        let t = std::time::Instant::now();
        let r = run(&m, "reduce", &launch, &args, &mut g, &opts).unwrap();
        let s = t.elapsed().as_secs_f64();
        println!(
            "NVRTC reduce (global loads, shared memory, bar.sync, shfl), 1 host thread, {what}: {} thread-instructions in {s:.3} s = {:.1} M/s",
            r.thread_instructions,
            r.thread_instructions as f64 / s / 1e6
        );
    }
}

/// The default options (every check on, adversarial schedule), or every check off and the
/// canonical schedule.
fn configs(checks: bool) -> Options {
    if checks {
        Options::default()
    } else {
        Options {
            racecheck: false,
            initcheck: false,
            schedule: Schedule::Canonical,
            ..Options::default()
        }
    }
}

fn label(checks: bool) -> &'static str {
    if checks {
        "checks on"
    } else {
        "checks off, canonical"
    }
}
