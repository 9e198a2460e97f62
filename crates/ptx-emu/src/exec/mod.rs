//! Running a kernel: launch checks, the parameter buffer, blocks on host threads, and the
//! per-block warp scheduler with barriers.

pub mod counters;
pub mod float;
pub mod memory;
mod ops;
pub mod order;
mod warp;
mod wgmma;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::check::race::Shadow;
use crate::fault::{Fault, FaultKind};
use crate::inst::Ty;
use crate::parse::{Kernel, Module};
use counters::{Counters, Tally};
use memory::Global;
pub use order::Schedule;
use warp::{Stop, Warp};

/// Grid and block shape of a launch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    pub grid: [u32; 3],
    pub block: [u32; 3],
    pub dynamic_shared_bytes: u32,
}

/// A kernel argument, checked against the parameter's type and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg {
    U32(u32),
    S32(i32),
    U64(u64),
    F32(f32),
    /// A device address (a `.u64` parameter).
    Ptr(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Fault with `StepLimit` once the launch has executed more thread-instructions.
    pub max_thread_instructions: u64,
    /// Host threads running blocks; 1 runs blocks in linear order. Results do not depend on
    /// it (each block is scheduled from its own seed), only the order of faults across blocks.
    pub threads: usize,
    /// Shared-memory racecheck (`SharedRace`) and async hazards (`AsyncHazard`).
    pub racecheck: bool,
    /// Reads of shared memory (`UninitializedShared`) or registers
    /// (`UninitializedRegister`) never written. Without it shared memory starts zeroed.
    pub initcheck: bool,
    /// Warp order between barriers (see [`Schedule`]).
    pub schedule: Schedule,
    /// Seed of [`Schedule::Adversarial`].
    pub seed: u64,
    /// Count what the launch does ([`Report::counters`]). Exact and repeatable under
    /// [`Schedule::Canonical`] with one host thread.
    pub counters: bool,
}

/// The seed of `Options::default()`.
pub const DEFAULT_SEED: u64 = 0x0ac0_5eed;

impl Default for Options {
    /// Every check on, adversarial scheduling with [`DEFAULT_SEED`], one host thread.
    fn default() -> Options {
        Options {
            max_thread_instructions: 10_000_000_000,
            threads: 1,
            racecheck: true,
            initcheck: true,
            schedule: Schedule::Adversarial,
            seed: DEFAULT_SEED,
            counters: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Instructions times the lanes that executed them (guard-false lanes included).
    pub thread_instructions: u64,
    pub warp_instructions: u64,
    pub blocks: u64,
    /// What the launch did, with [`Options::counters`].
    pub counters: Option<Counters>,
}

/// What every block of a launch shares.
pub(crate) struct LaunchCtx<'a> {
    pub module: &'a Module,
    pub kernel: &'a Kernel,
    pub launch: Launch,
    pub params: Vec<u8>,
    pub global: &'a Global,
    pub limit: u64,
    pub executed: AtomicU64,
    pub opts: Options,
}

impl LaunchCtx<'_> {
    pub(crate) fn fault(&self, kind: FaultKind, msg: String) -> Fault {
        Fault::new(kind, &self.kernel.name, msg)
    }
}

fn arg_mismatch(k: &Kernel, msg: String) -> Fault {
    Fault::new(FaultKind::ArgMismatch, &k.name, msg)
}

fn param_buffer(k: &Kernel, args: &[Arg]) -> Result<Vec<u8>, Fault> {
    if args.len() != k.params.len() {
        return Err(arg_mismatch(
            k,
            format!(
                "kernel takes {} parameters, {} arguments given",
                k.params.len(),
                args.len()
            ),
        ));
    }
    let mut buf = vec![0u8; k.param_bytes as usize];
    for (i, (p, a)) in k.params.iter().zip(args).enumerate() {
        let int32 = matches!(p.ty, Ty::U32 | Ty::S32 | Ty::B32) && p.size == 4;
        let int64 = matches!(p.ty, Ty::U64 | Ty::S64 | Ty::B64) && p.size == 8;
        let bytes: Vec<u8> = match a {
            Arg::U32(v) if int32 => v.to_le_bytes().to_vec(),
            Arg::S32(v) if int32 => v.to_le_bytes().to_vec(),
            Arg::U64(v) | Arg::Ptr(v) if int64 => v.to_le_bytes().to_vec(),
            Arg::F32(v) if matches!(p.ty, Ty::F32 | Ty::B32) && p.size == 4 => {
                v.to_le_bytes().to_vec()
            }
            _ => {
                return Err(arg_mismatch(
                    k,
                    format!(
                        "argument {i} is {a:?} but parameter `{}` is .{:?} ({} bytes)",
                        p.name, p.ty, p.size
                    ),
                ));
            }
        };
        buf[p.offset as usize..p.offset as usize + bytes.len()].copy_from_slice(&bytes);
    }
    Ok(buf)
}

/// Runs `kernel` of `module` over the grid.
pub fn run(
    module: &Module,
    kernel: &str,
    launch: &Launch,
    args: &[Arg],
    global: &mut Global,
    opts: &Options,
) -> Result<Report, Fault> {
    let k = module.kernel(kernel).ok_or_else(|| {
        Fault::new(
            FaultKind::UnknownKernel,
            kernel,
            format!("no kernel `{kernel}` in the module"),
        )
    })?;
    let params = param_buffer(k, args)?;
    let threads_per_block: u64 = launch.block.iter().map(|&x| x as u64).product();
    let nblocks: u64 = launch.grid.iter().map(|&x| x as u64).product();
    if threads_per_block == 0 || threads_per_block > 1024 || nblocks == 0 {
        return Err(arg_mismatch(
            k,
            format!(
                "bad launch shape grid {:?} block {:?}",
                launch.grid, launch.block
            ),
        ));
    }
    let ctx = LaunchCtx {
        module,
        kernel: k,
        launch: *launch,
        params,
        global,
        limit: opts.max_thread_instructions,
        executed: AtomicU64::new(0),
        opts: *opts,
    };
    let warp_insts = AtomicU64::new(0);
    let workers = opts.threads.max(1).min(nblocks as usize);
    let counted: Mutex<Option<Counters>> = Mutex::new(opts.counters.then(Counters::default));
    let workspace = || {
        let mut ws = Workspace::default();
        if opts.counters {
            let mut t = Box::<Tally>::default();
            t.begin(k.insts.len());
            ws.tally = Some(t);
        }
        ws
    };
    // a host thread's counts, added to the launch's when it has run its blocks
    let merge = |ws: &Workspace| {
        if let Some(t) = &ws.tally {
            let mut g = counted.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(c) = g.as_mut() {
                t.merge_into(k, module, c);
            }
        }
    };
    if workers == 1 {
        let mut ws = workspace();
        for b in 0..nblocks {
            let w = run_block(&ctx, b, &mut ws)?;
            warp_insts.fetch_add(w, Ordering::Relaxed);
        }
        merge(&ws);
    } else {
        let next = AtomicU64::new(0);
        let abort = AtomicBool::new(false);
        let first_fault: Mutex<Option<(u64, Fault)>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    let mut ws = workspace();
                    while !abort.load(Ordering::Relaxed) {
                        let b = next.fetch_add(1, Ordering::Relaxed);
                        if b >= nblocks {
                            break;
                        }
                        match run_block(&ctx, b, &mut ws) {
                            Ok(w) => {
                                warp_insts.fetch_add(w, Ordering::Relaxed);
                            }
                            Err(f) => {
                                let mut g = first_fault.lock().unwrap_or_else(|e| e.into_inner());
                                if g.as_ref().is_none_or(|(fb, _)| b < *fb) {
                                    *g = Some((b, f));
                                }
                                abort.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    merge(&ws);
                });
            }
        });
        if let Some((_, f)) = first_fault.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(f);
        }
    }
    Ok(Report {
        thread_instructions: ctx.executed.load(Ordering::Relaxed),
        warp_instructions: warp_insts.load(Ordering::Relaxed),
        blocks: nblocks,
        counters: counted.into_inner().unwrap_or_else(|e| e.into_inner()),
    })
}

/// Buffers a host thread reuses from block to block.
#[derive(Default)]
struct Workspace {
    warps: Vec<Warp>,
    shared: Vec<u8>,
    check: Shadow,
    /// This host thread's counts (`Options::counters`).
    tally: Option<Box<Tally>>,
}

/// Per-block state the warps share.
pub(crate) struct BlockState {
    pub ctaid: [u32; 3],
    pub shared: Vec<u8>,
    /// Thread-instructions executed by this block so far.
    pub executed: u64,
    /// Launch-wide count when this block started (for the step limit).
    pub executed_before: u64,
    pub warp_insts: u64,
    /// Threads that have exited, and the PTX line of the first `exit`/`ret`.
    pub exited: u32,
    pub exit_line: u32,
    /// Shadow state of the shared-memory checks.
    pub check: Shadow,
    /// Warp-instructions the running warp may still execute before it yields.
    pub budget: u64,
    /// State of the seeded choice among divergent paths (0: lowest PC first).
    pub lane_rng: u64,
    /// Counts of the host thread running the block (`Options::counters`).
    pub tally: Option<Box<Tally>>,
}

fn run_block(ctx: &LaunchCtx, linear: u64, ws: &mut Workspace) -> Result<u64, Fault> {
    let [gx, gy, _] = ctx.launch.grid;
    let ctaid = [
        (linear % gx as u64) as u32,
        ((linear / gx as u64) % gy as u64) as u32,
        (linear / (gx as u64 * gy as u64)) as u32,
    ];
    let k = ctx.kernel;
    let nthreads: u32 = ctx.launch.block.iter().product();
    let nwarps = nthreads.div_ceil(32) as usize;
    let shared_len = k.dyn_shared_offset as usize + ctx.launch.dynamic_shared_bytes as usize;
    let shared_len = if ctx.launch.dynamic_shared_bytes == 0 {
        k.static_shared as usize
    } else {
        shared_len
    };
    let mut shared = std::mem::take(&mut ws.shared);
    shared.clear();
    shared.resize(shared_len, 0);
    while ws.warps.len() < nwarps {
        ws.warps.push(Warp::default());
    }
    for (w, warp) in ws.warps.iter_mut().enumerate().take(nwarps) {
        warp.reset(w as u32, nthreads, ctx.launch.block, k.nregs, k.local_bytes);
        warp.initcheck = ctx.opts.initcheck;
    }
    let mut check = std::mem::take(&mut ws.check);
    let (race, init) = (ctx.opts.racecheck, ctx.opts.initcheck);
    check.begin_block(shared_len, nthreads, race, init);
    let mut blk = BlockState {
        ctaid,
        shared,
        executed: 0,
        executed_before: ctx.executed.load(Ordering::Relaxed),
        warp_insts: 0,
        exited: 0,
        exit_line: 0,
        check,
        budget: u64::MAX,
        lane_rng: 0,
        tally: ws.tally.take(),
    };
    let mut order = order::Order::new(ctx.opts.schedule, ctx.opts.seed, linear);
    blk.lane_rng = order.lane_seed();
    let result = schedule(ctx, &mut blk, &mut ws.warps[..nwarps], &mut order)
        .and_then(|()| check_warpgroups(ctx, &blk, &ws.warps[..nwarps]));
    ctx.executed.fetch_add(blk.executed, Ordering::Relaxed);
    ws.shared = blk.shared;
    ws.check = blk.check;
    ws.tally = blk.tally;
    result.map(|()| blk.warp_insts)
}

/// The four warps of a warpgroup execute the same `wgmma.mma_async`s (`.aligned`) with the
/// same descriptors (PTX ISA 9.7.15.5.2): checked when the block ends, by their counts and
/// the hash of their descriptors.
fn check_warpgroups(ctx: &LaunchCtx, blk: &BlockState, warps: &[Warp]) -> Result<(), Fault> {
    for (g, group) in warps.chunks(4).enumerate() {
        // the first warp with the most and the first with the fewest
        let most = group
            .iter()
            .rev()
            .max_by_key(|w| w.wgmma.issued)
            .expect("a warp");
        let least = group.iter().min_by_key(|w| w.wgmma.issued).expect("a warp");
        let (msg, note) = if most.wgmma.issued != least.wgmma.issued {
            (
                "wgmma.mma_async executed by a partial warpgroup",
                format!(
                    "in warpgroup {g}, warp {} executed {} wgmma.mma_async instructions and warp {} executed {}; all 128 threads of a warpgroup must execute each one together",
                    most.id, most.wgmma.issued, least.id, least.wgmma.issued
                ),
            )
        } else if let Some(other) = group
            .iter()
            .find(|w| w.wgmma.signature != group[0].wgmma.signature)
        {
            (
                "wgmma.mma_async matrix descriptors differ between the warps of a warpgroup",
                format!(
                    "in warpgroup {g}, warps {} and {} gave different a-desc or b-desc values to the same wgmma.mma_async instructions; the contents of a matrix descriptor must be the same across all the warps in the warpgroup (PTX ISA 9.7.15.5.2)",
                    group[0].id, other.id
                ),
            )
        } else {
            continue;
        };
        let mut f = ctx.fault(FaultKind::WarpgroupDivergence, msg.into());
        f.block = Some(blk.ctaid);
        f.ptx_line = Some(most.wgmma.first_line);
        f.note = Some(note);
        return Err(f);
    }
    Ok(())
}

/// Rounds over the warps in the order `order` gives: each runs until it reaches a barrier,
/// exits or spends its budget; a barrier completes when every warp that has not exited waits
/// at it (PTX ISA 9.7.13.1 bar: threads that exited count as arrived, per 9.7.8.x exit).
fn schedule(
    ctx: &LaunchCtx,
    blk: &mut BlockState,
    warps: &mut [Warp],
    order: &mut order::Order,
) -> Result<(), Fault> {
    loop {
        let mut any_ran = false;
        order.round(warps.len());
        for k in 0..order.idx.len() {
            let w = &mut warps[order.idx[k]];
            if w.live != 0 && w.wait.is_none() {
                any_ran = true;
                blk.budget = order.budget();
                let stop = if ctx.opts.counters {
                    w.run::<true>(ctx, blk)?
                } else {
                    w.run::<false>(ctx, blk)?
                };
                match stop {
                    Stop::Exited | Stop::Barrier | Stop::Yield => {}
                }
            }
        }
        let waiting: Vec<usize> = (0..warps.len())
            .filter(|&i| warps[i].live != 0 && warps[i].wait.is_some())
            .collect();
        if waiting.is_empty() {
            if warps.iter().all(|w| w.live == 0) {
                return Ok(());
            }
            if !any_ran {
                unreachable!("no warp waiting and none runnable");
            }
            continue;
        }
        let running = warps
            .iter()
            .filter(|w| w.live != 0 && w.wait.is_none())
            .count();
        if running > 0 {
            continue;
        }
        // every live warp waits: release the barrier ids that are complete
        let mut released = false;
        let ids: Vec<u32> = waiting
            .iter()
            .map(|&i| warps[i].wait.expect("waiting").0)
            .collect();
        let mut uniq = ids.clone();
        uniq.sort_unstable();
        uniq.dedup();
        for id in uniq {
            let at: Vec<usize> = waiting
                .iter()
                .copied()
                .filter(|&i| warps[i].wait.expect("waiting").0 == id)
                .collect();
            let count = at.iter().find_map(|&i| warps[i].wait.expect("waiting").1);
            if count.is_none() && blk.exited > 0 {
                let w = &warps[at[0]];
                let inst = &ctx.kernel.insts[w.wait_pc as usize];
                let mut f = warp::exited_fault(ctx, blk);
                w.locate(ctx, blk, inst, w.first_live(), &mut f);
                return Err(f);
            }
            let arrived: u32 = at.len() as u32 * 32;
            let complete = match count {
                Some(c) => arrived >= c,
                None => at.len() == waiting.len(),
            };
            if complete {
                for &i in &at {
                    warps[i].wait = None;
                }
                blk.check.barrier(&at, at.len() == warps.len());
                released = true;
            }
        }
        if !released {
            let w = &warps[waiting[0]];
            let inst = &ctx.kernel.insts[w.wait_pc as usize];
            let mut f = ctx.fault(
                FaultKind::BarrierDivergence,
                "barrier deadlock: every live warp waits, but not all at the same barrier".into(),
            );
            let desc: Vec<String> = waiting
                .iter()
                .map(|&i| {
                    let (id, _) = warps[i].wait.expect("waiting");
                    let line = ctx.kernel.insts[warps[i].wait_pc as usize].line;
                    format!("warp {i} at barrier {id} (PTX line {line})")
                })
                .collect();
            f.note = Some(desc.join(", "));
            w.locate(ctx, blk, inst, w.first_live(), &mut f);
            return Err(f);
        }
    }
}
