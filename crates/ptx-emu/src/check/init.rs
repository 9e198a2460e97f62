//! Register initcheck. Each warp keeps, per register, a bitmask of the lanes that have
//! written it since the block started (`Warp::written`, set by every register write). A
//! read of a register whose bit is clear for the reading lane — no instruction that thread
//! executed wrote it, on any path it took — is noted by `Warp::r` and reported once the
//! instruction is done. A write under a false guard predicate is not a write; a write on
//! any path the thread did take is. Predicates are registers too.

use super::{coords, locate};
use crate::exec::{BlockState, LaunchCtx};
use crate::fault::{Fault, FaultKind};

/// The fault for lane `lane` of warp `warp` reading register slot `reg` at instruction `pc`.
pub(crate) fn register_fault(
    ctx: &LaunchCtx,
    blk: &BlockState,
    warp: u32,
    lane: u32,
    reg: u32,
    pc: u32,
) -> Fault {
    let name = ctx
        .kernel
        .reg_names
        .get(reg as usize)
        .map_or_else(|| format!("register slot {reg}"), |n| format!("`{n}`"));
    let tid = warp * 32 + lane;
    let [x, y, z] = coords(ctx.launch.block, tid);
    let mut f = ctx.fault(
        FaultKind::UninitializedRegister,
        format!(
            "read of uninitialised register {name}: thread ({x},{y},{z}) executed no instruction that wrote it"
        ),
    );
    locate(ctx, blk, tid, pc, &mut f);
    f.note = Some(format!(
        "registers start undefined on a GPU; the read is at {}",
        super::where_(ctx, pc)
    ));
    f
}
