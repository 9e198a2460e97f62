//! A plan as text, one line per buffer and step (what tests/golden/launch_plans.txt holds):
//! stable, diffable, and readable when a launch changes.

use std::fmt;

use super::buffers::{Init, Place, Poison};
use super::plan::{Arg, LaunchPlan, Scalar, VendorCall, Work};

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::I32(v) => write!(f, "{v}_i32"),
            Scalar::U64(v) => write!(f, "{v}_u64"),
            // Debug: the shortest text that reads back as the same f32.
            Scalar::F32(v) => write!(f, "{v:?}_f32"),
        }
    }
}

impl fmt::Display for LaunchPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Work::Vendor(call) = &self.work {
            write!(f, "  vendor {}", call.name())?;
            if let VendorCall::CublasGemm { dtype, m, n, k } = call {
                write!(f, " dtype={dtype} m={m} n={n} k={k}")?;
            }
            writeln!(f)?;
        }
        for b in &self.buffers {
            let place = match b.place {
                Place::Device => "device",
                Place::PinnedHost => "pinned-host",
            };
            let init = match b.init {
                Init::Input(s) => format!("input {}", s.name()),
                Init::Zeroed => "zeroed".into(),
                Init::Output(Poison::Nan) => "output poison=nan".into(),
                Init::Output(Poison::ComplementOf(s)) => format!("output poison=!{}", s.name()),
            };
            writeln!(
                f,
                "  buffer {} {}[{}] {place} {init}",
                b.name,
                b.elem.name(),
                b.count
            )?;
        }
        if let Work::Kernels(steps) = &self.work {
            for s in steps {
                let [x, y, z] = s.grid;
                let [bx, by, bz] = s.block;
                let args: Vec<String> = s
                    .args
                    .iter()
                    .map(|a| match a {
                        Arg::Buffer(i) => self.buffers[*i].name.to_string(),
                        Arg::Scalar { name, value } => format!("{name}={value}"),
                    })
                    .collect();
                writeln!(
                    f,
                    "  step {} grid=[{x}, {y}, {z}] block=[{bx}, {by}, {bz}] dynamic_shared={} raise_limit={}",
                    s.entry, s.dynamic_shared_bytes, s.raise_dynamic_shared_limit
                )?;
                writeln!(f, "    args {}", args.join(", "))?;
            }
        }
        writeln!(f, "  device_bytes {}", self.device_bytes())
    }
}
