//! Decoding one PTX instruction's text into an [`Op`] with resolved operands.

use std::collections::HashMap;

use crate::inst::*;

/// Virtual registers a kernel may declare (the register file of a warp is 256 bytes each).
const MAX_REGS: u64 = 1 << 16;

/// Name resolution while decoding a kernel body.
pub struct Ctx {
    scopes: Vec<HashMap<String, u32>>,
    reg_bits: Vec<u32>,
    /// Declared name of each register slot (for initcheck reports).
    reg_names: Vec<String>,
    symbols: HashMap<String, (Space, u64)>,
}

#[derive(Debug)]
pub struct Decoded {
    pub op: Op,
    pub guard: Option<(u32, bool)>,
    /// A branch target to resolve once all labels are known.
    pub label: Option<String>,
}

/// Instruction families left for later milestones (tensor cores, async copies, ...).
const LATER: &[&str] = &[
    "stmatrix",
    "cp",
    "tcgen05",
    "mbarrier",
    "tex",
    "tld4",
    "suld",
    "sust",
    "sured",
    "call",
    "setmaxnreg",
    "griddepcontrol",
    "multimem",
    "elect",
    "redux",
    "match",
    "movmatrix",
    "tensormap",
    "getctarank",
    "barrier.cluster",
];

impl Ctx {
    pub fn new(symbols: HashMap<String, (Space, u64)>) -> Ctx {
        Ctx {
            scopes: vec![HashMap::new()],
            reg_bits: Vec::new(),
            reg_names: Vec::new(),
            symbols,
        }
    }

    pub fn nregs(&self) -> u32 {
        self.reg_bits.len() as u32
    }

    pub fn take_reg_names(&mut self) -> Vec<String> {
        std::mem::take(&mut self.reg_names)
    }

    pub fn push_scope(&mut self) {
        self.scopes.push(HashMap::new());
    }

    pub fn pop_scope(&mut self) {
        if self.scopes.len() > 1 {
            self.scopes.pop();
        }
    }

    /// `.reg .b32 %r<36>` (declares %r0..%r35), `.reg .u64 %tmp`, `.reg .f32 a, b`.
    pub fn declare_regs(&mut self, t: &str) -> Result<(), String> {
        let rest = t.strip_prefix(".reg").unwrap_or(t).trim();
        let (ty, names) = rest.split_once(' ').ok_or("`.reg` without names")?;
        if ty.starts_with(".v") {
            return Err("unsupported: vector registers".into());
        }
        let ty =
            Ty::parse(ty.trim_start_matches('.')).ok_or(format!("bad register type `{ty}`"))?;
        let bits = ty.bits();
        for n in names.split(',') {
            let n = n.trim();
            if let Some((base, count)) = n.split_once('<') {
                let count: u32 = count
                    .trim_end_matches('>')
                    .parse()
                    .map_err(|_| format!("bad register count in `{n}`"))?;
                if self.reg_bits.len() as u64 + count as u64 > MAX_REGS {
                    return Err(format!("more than {MAX_REGS} registers per thread"));
                }
                for k in 0..count {
                    self.add_reg(format!("{base}{k}"), bits);
                }
            } else if !n.is_empty() {
                self.add_reg(n.to_string(), bits);
            }
        }
        Ok(())
    }

    fn add_reg(&mut self, name: String, bits: u32) {
        let idx = self.reg_bits.len() as u32;
        self.reg_bits.push(bits);
        self.reg_names.push(name.clone());
        self.scopes.last_mut().expect("scope").insert(name, idx);
    }

    fn reg(&self, name: &str) -> Result<u32, String> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.get(name).copied())
            .ok_or_else(|| format!("undeclared register `{name}`"))
    }

    fn reg_mask(&self, r: u32) -> u64 {
        match self.reg_bits[r as usize] {
            64 => u64::MAX,
            1 => 1,
            b => (1 << b) - 1,
        }
    }

    fn dst(&self, tok: &str) -> Result<u32, String> {
        self.reg(tok.trim())
    }

    /// A source operand of type `ty`: register, special register, immediate or symbol address.
    fn src(&self, tok: &str, ty: Ty) -> Result<Src, String> {
        let tok = tok.trim();
        if tok.starts_with('%') {
            if let Some(s) = special(tok) {
                return Ok(Src::Special(s));
            }
            return Ok(Src::Reg(self.reg(tok)?));
        }
        if let Some(&(_, a)) = self.symbols.get(tok) {
            return Ok(Src::Imm(a));
        }
        Ok(Src::Imm(imm(tok, ty)?))
    }

    /// `[%rd1+16]`, `[sym]`, `[sym+4]`, `[%r2+-8]`, `[0x100]`.
    fn addr(&self, tok: &str) -> Result<(Addr, Option<Space>), String> {
        let inner = tok
            .trim()
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or_else(|| format!("expected an address `[...]`, found `{tok}`"))?
            .replace(' ', "");
        let (head, off) = match inner.find(['+', '-']).filter(|&p| p > 0) {
            Some(p) => {
                let (h, o) = inner.split_at(p);
                let o = o.strip_prefix('+').unwrap_or(o);
                (h.to_string(), imm(o, Ty::S64)? as i64)
            }
            None => (inner.clone(), 0),
        };
        if head.starts_with('%') {
            return Ok((
                Addr {
                    base: Some(self.reg(&head)?),
                    offset: off,
                },
                None,
            ));
        }
        if let Some(&(sp, a)) = self.symbols.get(&head) {
            return Ok((
                Addr {
                    base: None,
                    offset: a as i64 + off,
                },
                Some(sp),
            ));
        }
        Ok((
            Addr {
                base: None,
                offset: imm(&head, Ty::S64)? as i64 + off,
            },
            None,
        ))
    }
}

fn special(tok: &str) -> Option<Sreg> {
    let (name, comp) = tok.split_once('.').unwrap_or((tok, ""));
    let c = match comp {
        "x" => 0,
        "y" => 1,
        "z" => 2,
        "" => 255,
        _ => return None,
    };
    let xyz = |f: fn(u8) -> Sreg| (c < 3).then(|| f(c));
    match name {
        "%tid" => xyz(Sreg::Tid),
        "%ntid" => xyz(Sreg::Ntid),
        "%ctaid" => xyz(Sreg::Ctaid),
        "%nctaid" => xyz(Sreg::Nctaid),
        "%laneid" => Some(Sreg::LaneId),
        "%warpid" => Some(Sreg::WarpId),
        "%nwarpid" => Some(Sreg::NWarpId),
        "%smid" => Some(Sreg::SmId),
        "%nsmid" => Some(Sreg::NSmId),
        "%gridid" => Some(Sreg::GridId),
        "%clock" => Some(Sreg::Clock),
        "%clock64" | "%globaltimer" => Some(Sreg::Clock64),
        "%lanemask_eq" => Some(Sreg::LaneMaskEq),
        "%lanemask_lt" => Some(Sreg::LaneMaskLt),
        "%lanemask_le" => Some(Sreg::LaneMaskLe),
        "%lanemask_gt" => Some(Sreg::LaneMaskGt),
        "%lanemask_ge" => Some(Sreg::LaneMaskGe),
        "%dynamic_smem_size" => Some(Sreg::DynSmem),
        "%total_smem_size" => Some(Sreg::TotalSmem),
        _ => None,
    }
}

/// An immediate converted to the bits of type `ty` (PTX ISA 4.5 constants): decimal, hex,
/// octal, binary integers (optional `U`), `0fXXXXXXXX` / `0dXXXXXXXXXXXXXXXX` float bits,
/// decimal floats for float types.
pub fn imm(tok: &str, ty: Ty) -> Result<u64, String> {
    let t = tok.trim();
    let bad = || format!("bad immediate `{t}`");
    if let Some(h) = t.strip_prefix("0f").or_else(|| t.strip_prefix("0F")) {
        let bits = u32::from_str_radix(h, 16).map_err(|_| bad())?;
        return Ok(match ty {
            Ty::F64 => (f32::from_bits(bits) as f64).to_bits(),
            _ => bits as u64,
        });
    }
    if let Some(h) = t.strip_prefix("0d").or_else(|| t.strip_prefix("0D")) {
        let bits = u64::from_str_radix(h, 16).map_err(|_| bad())?;
        return Ok(match ty {
            Ty::F32 => (f64::from_bits(bits) as f32).to_bits() as u64,
            _ => bits,
        });
    }
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let body = body.trim_end_matches(['U', 'u']);
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        u64::from_str_radix(b, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        u64::from_str_radix(&body[1..], 8).ok()
    } else {
        body.parse::<u64>().ok()
    };
    if ty.is_float() {
        let v: f64 = match int {
            Some(i) => i as f64,
            None => body.parse().map_err(|_| bad())?,
        };
        let v = if neg { -v } else { v };
        return Ok(match ty {
            Ty::F64 => v.to_bits(),
            Ty::F32 => (v as f32).to_bits() as u64,
            Ty::F16 => crate::exec::float::f32_to_f16(v as f32) as u64,
            _ => crate::exec::float::f32_to_bf16(v as f32) as u64,
        });
    }
    let v = int.ok_or_else(bad)?;
    let v = if neg { v.wrapping_neg() } else { v };
    Ok(v & ty.mask())
}

/// Splits operands at top-level commas (not inside `{}` or `[]`).
fn operands(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !s[start..].trim().is_empty() {
        out.push(s[start..].trim());
    }
    out
}

fn vector(tok: &str) -> Option<Vec<&str>> {
    let inner = tok.trim().strip_prefix('{')?.strip_suffix('}')?;
    Some(inner.split(',').map(str::trim).collect())
}

/// The modifiers of an opcode, with helpers to take the ones an instruction understands.
struct Mods<'a> {
    list: Vec<&'a str>,
}

impl<'a> Mods<'a> {
    fn has(&mut self, m: &str) -> bool {
        if let Some(p) = self.list.iter().position(|&x| x == m) {
            self.list.remove(p);
            true
        } else {
            false
        }
    }
    fn take_types(&mut self) -> Result<Vec<Ty>, String> {
        let mut tys = Vec::new();
        let mut rest = Vec::new();
        for m in &self.list {
            match Ty::parse(m) {
                Some(t) => tys.push(t),
                None => rest.push(*m),
            }
        }
        self.list = rest;
        if tys.is_empty() {
            return Err("missing type".into());
        }
        Ok(tys)
    }
    fn ty(&mut self) -> Result<Ty, String> {
        let t = self.take_types()?;
        if t.len() != 1 {
            return Err("expected one type".into());
        }
        Ok(t[0])
    }
    fn rnd(&mut self) -> Rnd {
        for (m, r) in [
            ("rn", Rnd::Rn),
            ("rz", Rnd::Rz),
            ("rm", Rnd::Rm),
            ("rp", Rnd::Rp),
            ("approx", Rnd::Approx),
            ("full", Rnd::Approx),
        ] {
            if self.has(m) {
                return r;
            }
        }
        Rnd::Rn
    }
    fn fmods(&mut self) -> FMods {
        FMods {
            rnd: self.rnd(),
            ftz: self.has("ftz"),
            sat: self.has("sat"),
        }
    }
    /// Drops memory-ordering, scope, cache and eviction qualifiers (no functional effect here).
    fn drop_hints(&mut self) {
        self.list.retain(|m| {
            !matches!(
                *m,
                "nc" | "ca"
                    | "cg"
                    | "cs"
                    | "lu"
                    | "cv"
                    | "wb"
                    | "wt"
                    | "weak"
                    | "volatile"
                    | "relaxed"
                    | "acquire"
                    | "release"
                    | "acq_rel"
                    | "sc"
                    | "cta"
                    | "gpu"
                    | "sys"
                    | "cluster"
                    | "mmio"
                    | "aligned"
                    | "sync"
                    | "uni"
            ) && !m.starts_with("L1::")
                && !m.starts_with("L2::")
        });
    }
    fn space(&mut self) -> Space {
        for (m, s) in [
            ("global", Space::Global),
            ("shared", Space::Shared),
            ("local", Space::Local),
            ("param", Space::Param),
            ("const", Space::Const),
        ] {
            if self.has(m) {
                return s;
            }
        }
        // `.shared::cta`
        if self.has("shared::cta") {
            return Space::Shared;
        }
        Space::Generic
    }
    fn vec(&mut self) -> u8 {
        if self.has("v2") {
            2
        } else if self.has("v4") {
            4
        } else {
            1
        }
    }
    fn done(&self) -> Result<(), String> {
        match self.list.first() {
            None => Ok(()),
            Some(m) => Err(format!("unsupported modifier `.{m}`")),
        }
    }
}

fn want(ops: &[&str], n: usize) -> Result<(), String> {
    if ops.len() == n {
        Ok(())
    } else {
        Err(format!("expected {n} operands, found {}", ops.len()))
    }
}

pub fn decode(text: &str, ctx: &mut Ctx) -> Result<Decoded, String> {
    let mut t = text.trim();
    let mut guard = None;
    if let Some(g) = t.strip_prefix('@') {
        let (p, rest) = g.split_once(' ').ok_or("guard without an instruction")?;
        let (neg, p) = match p.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, p),
        };
        guard = Some((ctx.reg(p)?, neg));
        t = rest.trim();
    }
    let (opcode, rest) = t.split_once(' ').unwrap_or((t, ""));
    let ops = operands(rest);
    let mut parts = opcode.split('.');
    let base = parts.next().unwrap_or("");
    let mut m = Mods {
        list: parts.collect(),
    };
    let two = if m.list.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{}", m.list[0])
    };
    let cp_async = base == "cp"
        && m.list.first() == Some(&"async")
        && !matches!(m.list.get(1), Some(&("bulk" | "mbarrier")));
    if cp_async {
        let op = decode_cp_async(&mut m, &ops, ctx)?;
        return Ok(Decoded {
            op,
            guard,
            label: None,
        });
    }
    if matches!(base, "ldmatrix" | "mma" | "wmma") {
        let op = decode_matrix(base, &mut m, &ops, ctx)?;
        return Ok(Decoded {
            op,
            guard,
            label: None,
        });
    }
    if LATER.contains(&base) || LATER.contains(&two.as_str()) {
        return Err(format!(
            "unsupported instruction `{opcode}` (tensor-core, async and call instructions are a later milestone)"
        ));
    }
    let mut label = None;
    let op = match base {
        "add" | "sub" | "mul" | "div" | "rem" | "min" | "max" | "and" | "or" | "xor" | "shl"
        | "shr" | "copysign" => {
            want(&ops, 3)?;
            let ty = m.ty()?;
            let d = ctx.dst(ops[0])?;
            if ty.is_float() {
                if !matches!(ty, Ty::F32 | Ty::F64) {
                    return Err(format!("unsupported float type `.{ty:?}` for `{base}`"));
                }
                let nan = m.has("NaN");
                let fm = m.fmods();
                m.done()?;
                let op = match (base, nan) {
                    ("add", _) => FBinOp::Add,
                    ("sub", _) => FBinOp::Sub,
                    ("mul", _) => FBinOp::Mul,
                    ("div", _) => FBinOp::Div,
                    ("min", false) => FBinOp::Min,
                    ("max", false) => FBinOp::Max,
                    ("min", true) => FBinOp::MinNan,
                    ("max", true) => FBinOp::MaxNan,
                    ("copysign", _) => FBinOp::Copysign,
                    _ => return Err(format!("`{base}` has no float form")),
                };
                Op::FBin {
                    op,
                    ty,
                    m: fm,
                    d,
                    a: ctx.src(ops[1], ty)?,
                    b: ctx.src(ops[2], ty)?,
                }
            } else {
                let sat = m.has("sat");
                if sat && (ty != Ty::S32 || !matches!(base, "add" | "sub")) {
                    return Err("`.sat` integer arithmetic is add/sub .s32 only".into());
                }
                let op = match base {
                    "add" if sat => IBinOp::AddSat,
                    "sub" if sat => IBinOp::SubSat,
                    "add" => IBinOp::Add,
                    "sub" => IBinOp::Sub,
                    "mul" if m.has("hi") => IBinOp::MulHi,
                    "mul" if m.has("wide") => IBinOp::MulWide,
                    "mul" => {
                        m.has("lo");
                        IBinOp::MulLo
                    }
                    "div" => IBinOp::Div,
                    "rem" => IBinOp::Rem,
                    "min" => IBinOp::Min,
                    "max" => IBinOp::Max,
                    "and" => IBinOp::And,
                    "or" => IBinOp::Or,
                    "xor" => IBinOp::Xor,
                    "shl" => IBinOp::Shl,
                    "shr" => IBinOp::Shr,
                    _ => return Err(format!("`{base}` has no integer form")),
                };
                m.done()?;
                // shift amounts are always .u32 (PTX ISA 9.7.1.x shl/shr)
                let bty = if matches!(op, IBinOp::Shl | IBinOp::Shr) {
                    Ty::U32
                } else {
                    ty
                };
                Op::IBin {
                    op,
                    ty,
                    d,
                    a: ctx.src(ops[1], ty)?,
                    b: ctx.src(ops[2], bty)?,
                }
            }
        }
        "mad" | "fma" => {
            want(&ops, 4)?;
            let ty = m.ty()?;
            let d = ctx.dst(ops[0])?;
            let (a, b, c) = (
                ctx.src(ops[1], ty)?,
                ctx.src(ops[2], ty)?,
                ctx.src(ops[3], ty)?,
            );
            if ty.is_float() {
                if !matches!(ty, Ty::F32 | Ty::F64) {
                    return Err(format!("unsupported float type for `{base}`"));
                }
                let fm = m.fmods();
                m.done()?;
                Op::Fma {
                    ty,
                    m: fm,
                    d,
                    a,
                    b,
                    c,
                }
            } else {
                let mode = if m.has("hi") {
                    MadMode::Hi
                } else if m.has("wide") {
                    MadMode::Wide
                } else {
                    m.has("lo");
                    MadMode::Lo
                };
                m.done()?;
                let c = if mode == MadMode::Wide {
                    let wide = if ty.is_signed() { Ty::S64 } else { Ty::U64 };
                    ctx.src(ops[3], wide)?
                } else {
                    c
                };
                Op::Mad {
                    mode,
                    ty,
                    d,
                    a,
                    b,
                    c,
                }
            }
        }
        "neg" | "abs" | "not" | "cnot" | "popc" | "clz" | "brev" | "rcp" | "sqrt" | "rsqrt"
        | "ex2" | "lg2" | "sin" | "cos" | "tanh" => {
            want(&ops, 2)?;
            let ty = m.ty()?;
            let d = ctx.dst(ops[0])?;
            let a = ctx.src(ops[1], ty)?;
            if ty.is_float() {
                if !matches!(ty, Ty::F32 | Ty::F64) {
                    return Err(format!("unsupported float type for `{base}`"));
                }
                let fm = m.fmods();
                m.done()?;
                let op = match base {
                    "neg" => FUnOp::Neg,
                    "abs" => FUnOp::Abs,
                    "rcp" => FUnOp::Rcp,
                    "sqrt" => FUnOp::Sqrt,
                    "rsqrt" => FUnOp::Rsqrt,
                    "ex2" => FUnOp::Ex2,
                    "lg2" => FUnOp::Lg2,
                    "sin" => FUnOp::Sin,
                    "cos" => FUnOp::Cos,
                    "tanh" => FUnOp::Tanh,
                    _ => return Err(format!("`{base}` has no float form")),
                };
                Op::FUn {
                    op,
                    ty,
                    m: fm,
                    d,
                    a,
                }
            } else {
                m.done()?;
                let op = match base {
                    "neg" => IUnOp::Neg,
                    "abs" => IUnOp::Abs,
                    "not" => IUnOp::Not,
                    "cnot" => IUnOp::Cnot,
                    "popc" => IUnOp::Popc,
                    "clz" => IUnOp::Clz,
                    "brev" => IUnOp::Brev,
                    _ => return Err(format!("`{base}` has no integer form")),
                };
                Op::IUn { op, ty, d, a }
            }
        }
        "testp" => {
            want(&ops, 2)?;
            let ty = m.ty()?;
            let mut f = [false; 6];
            for (i, name) in [
                "notanumber",
                "finite",
                "infinite",
                "number",
                "normal",
                "subnormal",
            ]
            .iter()
            .enumerate()
            {
                f[i] = m.has(name);
            }
            m.done()?;
            Op::Testp {
                nan: f[0],
                finite: f[1],
                infinite: f[2],
                number: f[3],
                normal: f[4],
                subnormal: f[5],
                ty,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], ty)?,
            }
        }
        "bfe" => {
            want(&ops, 4)?;
            let ty = m.ty()?;
            m.done()?;
            Op::Bfe {
                ty,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], ty)?,
                b: ctx.src(ops[2], Ty::U32)?,
                c: ctx.src(ops[3], Ty::U32)?,
            }
        }
        "bfi" => {
            want(&ops, 5)?;
            let ty = m.ty()?;
            m.done()?;
            Op::Bfi {
                ty,
                d: ctx.dst(ops[0])?,
                f: ctx.src(ops[1], ty)?,
                a: ctx.src(ops[2], ty)?,
                b: ctx.src(ops[3], Ty::U32)?,
                c: ctx.src(ops[4], Ty::U32)?,
            }
        }
        "prmt" => {
            want(&ops, 4)?;
            m.ty()?;
            m.done()?;
            Op::Prmt {
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], Ty::B32)?,
                b: ctx.src(ops[2], Ty::B32)?,
                c: ctx.src(ops[3], Ty::B32)?,
            }
        }
        "lop3" => {
            want(&ops, 5)?;
            m.ty()?;
            m.done()?;
            Op::Lop3 {
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], Ty::B32)?,
                b: ctx.src(ops[2], Ty::B32)?,
                c: ctx.src(ops[3], Ty::B32)?,
                lut: imm(ops[4], Ty::B8)? as u8,
            }
        }
        "cvt" if m.list.iter().any(|x| *x == "f16x2" || *x == "bf16x2") => {
            want(&ops, 3)?;
            let bf16 = m.has("bf16x2");
            m.has("f16x2");
            let rz = m.has("rz");
            m.has("rn");
            if !m.has("f32") {
                return Err("packed cvt converts from .f32".into());
            }
            m.done()?;
            Op::CvtPack {
                bf16,
                rz,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], Ty::F32)?,
                b: ctx.src(ops[2], Ty::F32)?,
            }
        }
        "mul24" | "mad24" => {
            want(&ops, if base == "mad24" { 4 } else { 3 })?;
            let hi = m.has("hi");
            m.has("lo");
            let ty = m.ty()?;
            m.done()?;
            if !matches!(ty, Ty::U32 | Ty::S32) {
                return Err(format!("`{base}` is for .u32/.s32"));
            }
            Op::Mul24 {
                hi,
                signed: ty == Ty::S32,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], ty)?,
                b: ctx.src(ops[2], ty)?,
                c: ops.get(3).map(|c| ctx.src(c, ty)).transpose()?,
            }
        }
        "cvt" => {
            want(&ops, 2)?;
            let tys = m.take_types()?;
            if tys.len() != 2 {
                return Err("cvt needs a destination and a source type".into());
            }
            let rnd = [
                ("rn", CvtRnd::Rn),
                ("rz", CvtRnd::Rz),
                ("rm", CvtRnd::Rm),
                ("rp", CvtRnd::Rp),
                ("rni", CvtRnd::Rni),
                ("rzi", CvtRnd::Rzi),
                ("rmi", CvtRnd::Rmi),
                ("rpi", CvtRnd::Rpi),
            ]
            .into_iter()
            .find(|(n, _)| m.has(n))
            .map_or(CvtRnd::None, |(_, r)| r);
            let ftz = m.has("ftz");
            let sat = m.has("sat");
            m.done()?;
            let d = ctx.dst(ops[0])?;
            Op::Cvt {
                dty: tys[0],
                sty: tys[1],
                rnd,
                ftz,
                sat,
                dmask: ctx.reg_mask(d),
                d,
                a: ctx.src(ops[1], tys[1])?,
            }
        }
        "setp" => {
            if ops.len() != 3 && ops.len() != 4 {
                return Err("setp takes 3 or 4 operands".into());
            }
            let ty = m.ty()?;
            let cmp = take_cmp(&mut m, ty)?;
            let bop = [
                ("and", BoolOp::And),
                ("or", BoolOp::Or),
                ("xor", BoolOp::Xor),
            ]
            .into_iter()
            .find(|(n, _)| m.has(n))
            .map(|(_, b)| b);
            m.has("ftz");
            m.done()?;
            let (p, q) = match ops[0].split_once('|') {
                Some((p, q)) => (ctx.dst(p)?, Some(ctx.dst(q)?)),
                None => (ctx.dst(ops[0])?, None),
            };
            let comb = match (bop, ops.get(3)) {
                (Some(b), Some(c)) => {
                    let (neg, c) = match c.strip_prefix('!') {
                        Some(c) => (true, c),
                        None => (false, *c),
                    };
                    Some((b, ctx.src(c, Ty::Pred)?, neg))
                }
                (None, None) => None,
                _ => return Err("setp: boolean operator and fourth operand go together".into()),
            };
            Op::Setp {
                cmp,
                ty,
                comb,
                p,
                q,
                a: ctx.src(ops[1], ty)?,
                b: ctx.src(ops[2], ty)?,
            }
        }
        "selp" => {
            want(&ops, 4)?;
            let ty = m.ty()?;
            m.done()?;
            Op::Selp {
                ty,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], ty)?,
                b: ctx.src(ops[2], ty)?,
                c: ctx.src(ops[3], Ty::Pred)?,
            }
        }
        "slct" => {
            want(&ops, 4)?;
            m.has("ftz");
            let tys = m.take_types()?;
            m.done()?;
            if tys.len() != 2 {
                return Err("slct needs two types".into());
            }
            Op::Slct {
                ty: tys[0],
                cf32: tys[1] == Ty::F32,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], tys[0])?,
                b: ctx.src(ops[2], tys[0])?,
                c: ctx.src(ops[3], tys[1])?,
            }
        }
        "mov" => {
            want(&ops, 2)?;
            let ty = m.ty()?;
            m.done()?;
            if let Some(parts) = vector(ops[1]) {
                let part_bits = ty.bits() / parts.len() as u32;
                let pty = int_ty(part_bits);
                Op::Pack {
                    d: ctx.dst(ops[0])?,
                    parts: parts
                        .iter()
                        .map(|p| ctx.src(p, pty))
                        .collect::<Result<_, _>>()?,
                    part_bits,
                }
            } else if let Some(parts) = vector(ops[0]) {
                Op::Unpack {
                    part_bits: ty.bits() / parts.len() as u32,
                    ds: parts
                        .iter()
                        .map(|p| {
                            if *p == "_" {
                                Ok(None)
                            } else {
                                ctx.dst(p).map(Some)
                            }
                        })
                        .collect::<Result<_, _>>()?,
                    a: ctx.src(ops[1], ty)?,
                }
            } else {
                Op::IUn {
                    op: IUnOp::Mov,
                    ty,
                    d: ctx.dst(ops[0])?,
                    a: ctx.src(ops[1], ty)?,
                }
            }
        }
        "ld" | "ldu" | "st" => {
            want(&ops, 2)?;
            m.drop_hints();
            let mut space = m.space();
            let n = m.vec();
            let ty = m.ty()?;
            m.done()?;
            if ty == Ty::Pred {
                return Err("ld/st of .pred".into());
            }
            let (aop, vop) = if base == "st" {
                (ops[0], ops[1])
            } else {
                (ops[1], ops[0])
            };
            let (addr, sym_space) = ctx.addr(aop)?;
            if space == Space::Generic
                && let Some(s) = sym_space
            {
                // a generic access to a variable by name
                space = s;
            }
            let names = match vector(vop) {
                Some(v) => v,
                None => vec![vop],
            };
            if names.len() != n as usize {
                return Err(format!("vector of {} operands for .v{n}", names.len()));
            }
            if base == "st" {
                let mut a = [Src::Imm(0); 4];
                for (k, s) in names.iter().enumerate() {
                    a[k] = ctx.src(s, ty)?;
                }
                Op::St {
                    space,
                    ty,
                    a,
                    n,
                    addr,
                }
            } else {
                let mut d = [None; 4];
                let mut dmask = ty.mask();
                for (k, s) in names.iter().enumerate() {
                    if *s != "_" {
                        let r = ctx.dst(s)?;
                        dmask = ctx.reg_mask(r).max(ty.mask());
                        d[k] = Some(r);
                    }
                }
                Op::Ld {
                    space,
                    ty,
                    d,
                    n,
                    dmask,
                    addr,
                }
            }
        }
        "atom" | "red" => {
            m.drop_hints();
            let space = m.space();
            let ty = m.ty()?;
            let op = [
                ("add", AtomOp::Add),
                ("min", AtomOp::Min),
                ("max", AtomOp::Max),
                ("inc", AtomOp::Inc),
                ("dec", AtomOp::Dec),
                ("and", AtomOp::And),
                ("or", AtomOp::Or),
                ("xor", AtomOp::Xor),
                ("exch", AtomOp::Exch),
                ("cas", AtomOp::Cas),
            ]
            .into_iter()
            .find(|(n, _)| m.has(n))
            .map(|(_, o)| o)
            .ok_or("atom without an operation")?;
            m.has("noftz");
            m.done()?;
            if !matches!(ty.bits(), 32 | 64) || matches!(ty, Ty::F16 | Ty::Bf16) {
                return Err(format!("unsupported atom type `.{ty:?}`"));
            }
            let (d, rest) = if base == "atom" {
                (
                    Some(ctx.dst(ops.first().ok_or("atom without operands")?)?),
                    &ops[1..],
                )
            } else {
                (None, &ops[..])
            };
            let nops = if op == AtomOp::Cas { 3 } else { 2 };
            want(rest, nops)?;
            let (addr, sym_space) = ctx.addr(rest[0])?;
            let space = if space == Space::Generic {
                sym_space.unwrap_or(space)
            } else {
                space
            };
            Op::Atom {
                space,
                op,
                ty,
                d,
                addr,
                b: ctx.src(rest[1], ty)?,
                c: if nops == 3 {
                    ctx.src(rest[2], ty)?
                } else {
                    Src::Imm(0)
                },
            }
        }
        "cvta" => {
            want(&ops, 2)?;
            let to = m.has("to");
            let space = m.space();
            let ty = m.ty()?;
            m.done()?;
            if space == Space::Generic {
                return Err("cvta needs a state space".into());
            }
            Op::Cvta {
                to,
                space,
                d: ctx.dst(ops[0])?,
                a: ctx.src(ops[1], ty)?,
                mask: ty.mask(),
            }
        }
        "bra" | "brx" => {
            if base == "brx" {
                return Err("unsupported instruction `brx.idx`".into());
            }
            want(&ops, 1)?;
            m.has("uni");
            m.done()?;
            label = Some(ops[0].to_string());
            Op::Bra { target: u32::MAX }
        }
        "bar" | "barrier" => {
            m.has("cta");
            if base == "bar" && m.has("warp") {
                m.has("sync");
                m.done()?;
                want(&ops, 1)?;
                Op::BarWarpSync {
                    mask: ctx.src(ops[0], Ty::B32)?,
                }
            } else {
                if !m.has("sync") {
                    return Err(format!(
                        "unsupported instruction `{opcode}` (only bar.sync/barrier.sync)"
                    ));
                }
                m.has("aligned");
                m.done()?;
                if ops.is_empty() || ops.len() > 2 {
                    return Err("bar.sync takes 1 or 2 operands".into());
                }
                Op::Bar {
                    id: ctx.src(ops[0], Ty::U32)?,
                    count: ops.get(1).map(|c| ctx.src(c, Ty::U32)).transpose()?,
                }
            }
        }
        "membar" | "fence" => Op::Membar,
        "ret" | "exit" => {
            m.has("uni");
            m.done()?;
            Op::Exit
        }
        "nanosleep" | "prefetch" | "prefetchu" | "pmevent" => Op::Nop,
        "shfl" => {
            if !m.has("sync") {
                return Err("unsupported: shfl without .sync (removed in PTX 6.4+ targets)".into());
            }
            let mode = [
                ("up", ShflMode::Up),
                ("down", ShflMode::Down),
                ("bfly", ShflMode::Bfly),
                ("idx", ShflMode::Idx),
            ]
            .into_iter()
            .find(|(n, _)| m.has(n))
            .map(|(_, o)| o)
            .ok_or("shfl without a mode")?;
            m.ty()?;
            m.done()?;
            want(&ops, 5)?;
            let (d, p) = match ops[0].split_once('|') {
                Some((d, p)) => (ctx.dst(d)?, Some(ctx.dst(p)?)),
                None => (ctx.dst(ops[0])?, None),
            };
            Op::Shfl {
                mode,
                d,
                p,
                a: ctx.src(ops[1], Ty::B32)?,
                b: ctx.src(ops[2], Ty::B32)?,
                c: ctx.src(ops[3], Ty::B32)?,
                mask: ctx.src(ops[4], Ty::B32)?,
            }
        }
        "vote" => {
            m.has("sync");
            let mode = [
                ("all", VoteMode::All),
                ("any", VoteMode::Any),
                ("uni", VoteMode::Uni),
                ("ballot", VoteMode::Ballot),
            ]
            .into_iter()
            .find(|(n, _)| m.has(n))
            .map(|(_, o)| o)
            .ok_or("vote without a mode")?;
            m.ty()?;
            m.done()?;
            want(&ops, 3)?;
            let (neg, a) = match ops[1].strip_prefix('!') {
                Some(a) => (true, a),
                None => (false, ops[1]),
            };
            Op::Vote {
                mode,
                d: ctx.dst(ops[0])?,
                a: ctx.src(a, Ty::Pred)?,
                neg,
                mask: ctx.src(ops[2], Ty::B32)?,
            }
        }
        "wgmma" => wgmma(&ops, &mut m, ctx)?,
        "activemask" => {
            want(&ops, 1)?;
            Op::Activemask {
                d: ctx.dst(ops[0])?,
            }
        }
        _ => return Err(format!("unknown or unsupported instruction `{opcode}`")),
    };
    Ok(Decoded { op, guard, label })
}

/// `{%r1, %r2, ...}` of exactly `n` registers.
fn reg_list(ctx: &Ctx, tok: &str, n: usize, what: &str) -> Result<Vec<u32>, String> {
    let v = vector(tok).ok_or_else(|| format!("{what}: expected a register vector `{{...}}`"))?;
    if v.len() != n {
        return Err(format!("{what}: expected {n} registers, found {}", v.len()));
    }
    v.iter().map(|r| ctx.dst(r)).collect()
}

/// The warp-level matrix instructions (PTX ISA 9.7.14): ldmatrix, mma.sync, wmma.
fn decode_matrix(base: &str, m: &mut Mods, ops: &[&str], ctx: &Ctx) -> Result<Op, String> {
    let unsupported = |what: &str| format!("unsupported {base} form: {what}");
    if !(m.has("sync") && m.has("aligned")) {
        return Err(format!("`{base}` needs .sync.aligned"));
    }
    match base {
        "ldmatrix" => {
            if !m.has("m8n8") {
                return Err(unsupported("only .m8n8 shapes"));
            }
            let num = if m.has("x1") {
                1
            } else if m.has("x2") {
                2
            } else if m.has("x4") {
                4
            } else {
                return Err("ldmatrix needs .x1, .x2 or .x4".into());
            };
            let trans = m.has("trans");
            let space = m.space();
            if !matches!(space, Space::Shared | Space::Generic) {
                return Err("ldmatrix reads shared memory".into());
            }
            if !m.has("b16") {
                return Err(unsupported("only .b16 elements"));
            }
            m.done()?;
            want(ops, 2)?;
            let regs = reg_list(ctx, ops[0], num as usize, "ldmatrix")?;
            let mut d = [regs[0]; 4];
            d[..num as usize].copy_from_slice(&regs);
            let (addr, _) = ctx.addr(ops[1])?;
            Ok(Op::Ldmatrix {
                num,
                trans,
                space,
                d,
                addr,
            })
        }
        "mma" => {
            let k = if m.has("m16n8k16") {
                16
            } else if m.has("m16n8k8") {
                8
            } else {
                return Err(unsupported("shapes other than m16n8k16 and m16n8k8"));
            };
            if !(m.has("row") && m.has("col")) {
                return Err(unsupported("layouts other than .row.col"));
            }
            let tys = m.take_types()?;
            m.done()?;
            let f16 = match tys[..] {
                [Ty::F32, Ty::Bf16, Ty::Bf16, Ty::F32] => false,
                [Ty::F32, Ty::F16, Ty::F16, Ty::F32] => true,
                _ => {
                    return Err(unsupported(
                        "types other than .f32.{bf16,f16}.{bf16,f16}.f32",
                    ));
                }
            };
            want(ops, 4)?;
            let (na, nb) = if k == 16 { (4, 2) } else { (2, 1) };
            let d = reg_list(ctx, ops[0], 4, "mma d")?;
            let a = reg_list(ctx, ops[1], na, "mma a")?;
            let b = reg_list(ctx, ops[2], nb, "mma b")?;
            let c = reg_list(ctx, ops[3], 4, "mma c")?;
            let mut op = MmaOp {
                k,
                f16,
                d: [d[0], d[1], d[2], d[3]],
                a: [a[0]; 4],
                b: [b[0]; 2],
                c: [c[0], c[1], c[2], c[3]],
            };
            op.a[..na].copy_from_slice(&a);
            op.b[..nb].copy_from_slice(&b);
            Ok(Op::Mma(Box::new(op)))
        }
        _ => {
            let kind = if m.has("load") {
                "load"
            } else if m.has("store") {
                "store"
            } else if m.has("mma") {
                "mma"
            } else {
                return Err(unsupported("only load, store and mma"));
            };
            if kind == "mma" {
                let lay = |m: &mut Mods| m.has("row") || m.has("col");
                if !(lay(m) && lay(m)) {
                    return Err("wmma.mma needs the layouts of a and b".into());
                }
                if !m.has("m16n16k16") {
                    return Err(unsupported("shapes other than m16n16k16"));
                }
                let tys = m.take_types()?;
                m.done()?;
                // f16: `.dtype.ctype`; bf16 (alternate floating point): `.f32.bf16.bf16.f32`
                let f16 = match tys[..] {
                    [Ty::F32, Ty::F32] | [Ty::F32, Ty::F16, Ty::F16, Ty::F32] => true,
                    [Ty::F32, Ty::Bf16, Ty::Bf16, Ty::F32] => false,
                    _ => return Err(unsupported("accumulators other than f32")),
                };
                want(ops, 4)?;
                let nab = if f16 { 8 } else { 4 };
                let d = reg_list(ctx, ops[0], 8, "wmma.mma d")?;
                let c = reg_list(ctx, ops[3], 8, "wmma.mma c")?;
                return Ok(Op::WmmaMma(Box::new(WmmaMmaOp {
                    f16,
                    d: d.try_into().expect("8"),
                    a: reg_list(ctx, ops[1], nab, "wmma.mma a")?,
                    b: reg_list(ctx, ops[2], nab, "wmma.mma b")?,
                    c: c.try_into().expect("8"),
                })));
            }
            let frag = if kind == "store" {
                if !m.has("d") {
                    return Err("wmma.store stores .d".into());
                }
                Frag::C
            } else if m.has("a") {
                Frag::A
            } else if m.has("b") {
                Frag::B
            } else if m.has("c") {
                Frag::C
            } else {
                return Err("wmma.load needs .a, .b or .c".into());
            };
            let col = if m.has("col") {
                true
            } else if m.has("row") {
                false
            } else {
                return Err("wmma.load/store needs .row or .col".into());
            };
            if !m.has("m16n16k16") {
                return Err(unsupported("shapes other than m16n16k16"));
            }
            let space = m.space();
            if !matches!(space, Space::Global | Space::Shared | Space::Generic) {
                return Err(format!("wmma.{kind} of .{}", space.name()));
            }
            let ty = m.ty()?;
            m.done()?;
            let nregs = match (frag, ty) {
                (Frag::A | Frag::B, Ty::Bf16) => 4,
                (Frag::A | Frag::B, Ty::F16) => 8,
                (Frag::C, Ty::F32) => 8,
                _ => {
                    return Err(unsupported(
                        "element types other than bf16/f16 for a and b, f32 for c and d",
                    ));
                }
            };
            if !(2..=3).contains(&ops.len()) {
                return Err(format!("wmma.{kind} takes 2 or 3 operands"));
            }
            let (rtok, atok) = if kind == "store" {
                (ops[1], ops[0])
            } else {
                (ops[0], ops[1])
            };
            let (addr, sym_space) = ctx.addr(atok)?;
            let space = match (space, sym_space) {
                (Space::Generic, Some(s)) => s,
                (s, _) => s,
            };
            Ok(Op::WmmaLoad(Box::new(WmmaLoadOp {
                frag,
                col,
                space,
                ty,
                regs: reg_list(ctx, rtok, nregs, "wmma fragment")?,
                addr,
                stride: match ops.get(2) {
                    Some(t) => ctx.src(t, Ty::U32)?,
                    None => Src::Imm(16),
                },
            })))
            .map(|op| match (kind, op) {
                ("store", Op::WmmaLoad(b)) => Op::WmmaStore(b),
                (_, op) => op,
            })
        }
    }
}

/// `cp.async` and its group instructions (PTX ISA 9.7.9.25).
fn decode_cp_async(m: &mut Mods, ops: &[&str], ctx: &Ctx) -> Result<Op, String> {
    m.has("async");
    if m.has("commit_group") {
        m.done()?;
        want(ops, 0)?;
        return Ok(Op::CpAsyncCommit);
    }
    if m.has("wait_all") {
        m.done()?;
        want(ops, 0)?;
        return Ok(Op::CpAsyncWait { n: 0, all: true });
    }
    if m.has("wait_group") {
        m.done()?;
        want(ops, 1)?;
        let n =
            imm(ops[0], Ty::U32).map_err(|_| "cp.async.wait_group takes an integer constant")?;
        return Ok(Op::CpAsyncWait {
            n: n as u32,
            all: false,
        });
    }
    // cp.async.cop.shared{::cta}.global{.level::cache_hint}{.level::prefetch_size}
    let cg = m.has("cg");
    let ca = m.has("ca");
    if cg == ca {
        return Err("cp.async needs exactly one of `.ca` and `.cg`".into());
    }
    if !(m.has("shared") || m.has("shared::cta")) || !m.has("global") {
        return Err("cp.async copies from .global to .shared{::cta}".into());
    }
    let hint = m.has("L2::cache_hint");
    m.drop_hints();
    m.done()?;
    // the cache-policy operand of `.L2::cache_hint` comes last and has no effect here
    let ops = if hint {
        ops.split_last().ok_or("cp.async without operands")?.1
    } else {
        ops
    };
    if !(3..=4).contains(&ops.len()) {
        return Err(format!(
            "cp.async takes 3 or 4 operands, found {}",
            ops.len()
        ));
    }
    let (dst, _) = ctx.addr(ops[0])?;
    let (src, _) = ctx.addr(ops[1])?;
    let cp_size = imm(ops[2], Ty::U32).map_err(|_| "cp.async cp-size must be a constant")?;
    // 9.7.9.25, cp.async: cp-size is 4, 8 or 16; `.cg` only 16
    if !matches!(cp_size, 4 | 8 | 16) || (cg && cp_size != 16) {
        return Err(format!(
            "cp.async{} cp-size {cp_size} (must be 4, 8 or 16; 16 for .cg)",
            if cg { ".cg" } else { ".ca" }
        ));
    }
    let src_size = match ops.get(3) {
        None => CpSrcSize::Full,
        Some(t) => {
            let (neg, name) = match t.strip_prefix('!') {
                Some(n) => (true, n),
                None => (false, *t),
            };
            match ctx.src(name, Ty::U32)? {
                Src::Reg(r) if ctx.reg_bits[r as usize] == 1 => CpSrcSize::Ignore(r, neg),
                _ if neg => return Err("`!` on a cp.async src-size".into()),
                s => {
                    if let Src::Imm(v) = s
                        && v > cp_size
                    {
                        return Err(format!("cp.async src-size {v} exceeds cp-size {cp_size}"));
                    }
                    CpSrcSize::Bytes(s)
                }
            }
        }
    };
    Ok(Op::CpAsync {
        dst,
        src,
        cp_size: cp_size as u8,
        src_size,
    })
}

/// `wgmma.fence`, `wgmma.commit_group`, `wgmma.wait_group N` (PTX ISA 9.7.15.7) and
/// `wgmma.mma_async` (9.7.15.5.2): `d, a-desc, b-desc, scale-d, imm-scale-a, imm-scale-b,
/// imm-trans-a, imm-trans-b` or, with A in registers, `d, {a0..a3}, b-desc, scale-d,
/// imm-scale-a, imm-scale-b, imm-trans-b`.
fn wgmma(ops: &[&str], m: &mut Mods, ctx: &Ctx) -> Result<Op, String> {
    // `.sync.aligned` are mandatory on every wgmma instruction
    if !(m.has("sync") && m.has("aligned")) {
        return Err("wgmma instructions need `.sync.aligned`".into());
    }
    if m.has("fence") {
        m.done()?;
        want(ops, 0)?;
        return Ok(Op::WgmmaFence);
    }
    if m.has("commit_group") {
        m.done()?;
        want(ops, 0)?;
        return Ok(Op::WgmmaCommit);
    }
    if m.has("wait_group") {
        m.done()?;
        want(ops, 1)?;
        let n = imm(ops[0], Ty::U32).map_err(|_| "wgmma.wait_group takes an integer constant")?;
        return Ok(Op::WgmmaWait { n: n as u32 });
    }
    if !m.has("mma_async") {
        return Err("unsupported wgmma form (fence, commit_group, wait_group, mma_async)".into());
    }
    if m.has("sp") {
        return Err("unsupported: sparse `wgmma.mma_async.sp`".into());
    }
    let shape = m
        .list
        .iter()
        .position(|x| x.starts_with('m') && x.contains('n') && x.contains('k'))
        .map(|p| m.list.remove(p))
        .ok_or("wgmma.mma_async without a shape")?;
    let n = shape
        .strip_prefix("m64n")
        .and_then(|s| s.strip_suffix("k16"))
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|n| n % 8 == 0 && (8..=256).contains(n))
        .ok_or_else(|| {
            format!("unsupported wgmma shape `.{shape}` (only .m64nNk16, N = 8..256 step 8)")
        })?;
    let tys = m.take_types()?;
    m.done()?;
    let f16 = match tys[..] {
        [Ty::F32, Ty::Bf16, Ty::Bf16] => false,
        [Ty::F32, Ty::F16, Ty::F16] => true,
        _ => {
            return Err(format!(
                "unsupported wgmma types {tys:?} (only .f32 accumulators with .bf16 or .f16 inputs)"
            ));
        }
    };
    let regs_a = vector(ops.get(1).ok_or("wgmma.mma_async without operands")?);
    want(ops, if regs_a.is_some() { 7 } else { 8 })?;
    let d = vector(ops[0])
        .ok_or("wgmma.mma_async: D must be a vector of registers")?
        .iter()
        .map(|r| ctx.dst(r))
        .collect::<Result<Vec<_>, _>>()?;
    if d.len() != n as usize / 2 {
        return Err(format!(
            "wgmma.mma_async .m64n{n}k16.f32 needs {} accumulator registers, found {}",
            n / 2,
            d.len()
        ));
    }
    let a = match &regs_a {
        Some(r) => {
            if r.len() != 4 {
                return Err("wgmma.mma_async: A in registers is four .b32 registers".into());
            }
            let mut a = [0; 4];
            for (k, x) in r.iter().enumerate() {
                a[k] = ctx.dst(x)?;
            }
            WgmmaA::Regs(a)
        }
        None => WgmmaA::Desc(ctx.src(ops[1], Ty::B64)?),
    };
    let scale = |tok: &str, what: &str| -> Result<bool, String> {
        match imm(tok, Ty::S32).map(|v| v as u32 as i32) {
            Ok(1) => Ok(false),
            Ok(-1) => Ok(true),
            _ => Err(format!(
                "wgmma.mma_async: {what} must be 1 or -1, found `{tok}`"
            )),
        }
    };
    let trans = |tok: &str, what: &str| -> Result<bool, String> {
        match imm(tok, Ty::S32) {
            Ok(0) => Ok(false),
            Ok(1) => Ok(true),
            _ => Err(format!(
                "wgmma.mma_async: {what} must be 0 or 1, found `{tok}`"
            )),
        }
    };
    let (trans_a, tb) = if regs_a.is_some() {
        (false, ops[6])
    } else {
        (trans(ops[6], "imm-trans-a")?, ops[7])
    };
    Ok(Op::Wgmma(Box::new(Wgmma {
        n,
        f16,
        d,
        a,
        b: ctx.src(ops[2], Ty::B64)?,
        scale_d: ctx.src(ops[3], Ty::Pred)?,
        neg_a: scale(ops[4], "imm-scale-a")?,
        neg_b: scale(ops[5], "imm-scale-b")?,
        trans_a,
        trans_b: trans(tb, "imm-trans-b")?,
    })))
}

fn int_ty(bits: u32) -> Ty {
    match bits {
        8 => Ty::B8,
        16 => Ty::B16,
        32 => Ty::B32,
        _ => Ty::B64,
    }
}

fn take_cmp(m: &mut Mods, ty: Ty) -> Result<Cmp, String> {
    let unsigned = !ty.is_signed() && !ty.is_float();
    for (n, c) in [
        ("eq", Cmp::Eq),
        ("ne", Cmp::Ne),
        ("lt", Cmp::Lt),
        ("le", Cmp::Le),
        ("gt", Cmp::Gt),
        ("ge", Cmp::Ge),
        ("lo", Cmp::Lt),
        ("ls", Cmp::Le),
        ("hi", Cmp::Gt),
        ("hs", Cmp::Ge),
        ("equ", Cmp::Equ),
        ("neu", Cmp::Neu),
        ("ltu", Cmp::Ltu),
        ("leu", Cmp::Leu),
        ("gtu", Cmp::Gtu),
        ("geu", Cmp::Geu),
        ("num", Cmp::Num),
        ("nan", Cmp::Nan),
    ] {
        if m.has(n) {
            if matches!(n, "lo" | "ls" | "hi" | "hs") && !unsigned {
                return Err(format!("`.{n}` is for unsigned types"));
            }
            if !ty.is_float()
                && matches!(
                    c,
                    Cmp::Equ
                        | Cmp::Neu
                        | Cmp::Ltu
                        | Cmp::Leu
                        | Cmp::Gtu
                        | Cmp::Geu
                        | Cmp::Num
                        | Cmp::Nan
                )
            {
                return Err(format!("`.{n}` is for float types"));
            }
            return Ok(c);
        }
    }
    Err("setp without a comparison".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Ctx {
        let mut c = Ctx::new(HashMap::from([("smem".to_string(), (Space::Shared, 128))]));
        c.declare_regs(".reg .b32 %r<4>").unwrap();
        c.declare_regs(".reg .b64 %rd<4>").unwrap();
        c.declare_regs(".reg .pred %p<2>").unwrap();
        c.declare_regs(".reg .b16 %rs<2>").unwrap();
        c
    }

    #[test]
    fn immediates() {
        assert_eq!(imm("0f3F800000", Ty::F32), Ok(0x3f80_0000));
        assert_eq!(
            imm("0d3FF0000000000000", Ty::F64),
            Ok(0x3ff0_0000_0000_0000)
        );
        assert_eq!(imm("0f3F800000", Ty::F64), Ok(1.0f64.to_bits()));
        assert_eq!(imm("-1", Ty::U32), Ok(0xffff_ffff));
        assert_eq!(imm("0x10", Ty::U64), Ok(16));
        assert_eq!(imm("010", Ty::U32), Ok(8));
        assert_eq!(imm("5U", Ty::U32), Ok(5));
        assert_eq!(imm("1.5", Ty::F32), Ok(1.5f32.to_bits() as u64));
        assert!(imm("zz", Ty::U32).is_err());
    }

    #[test]
    fn operands_resolve() {
        let mut c = ctx();
        let d = decode("@!%p1 ld.shared.v2.u32 {%r1, %r2}, [smem+8]", &mut c).unwrap();
        assert_eq!(d.guard, Some((9, true)));
        match d.op {
            Op::Ld {
                space, n, d, addr, ..
            } => {
                assert_eq!(space, Space::Shared);
                assert_eq!(n, 2);
                assert_eq!(d[..2], [Some(1), Some(2)]);
                assert_eq!(
                    addr,
                    Addr {
                        base: None,
                        offset: 136
                    }
                );
            }
            op => panic!("{op:?}"),
        }
        let d = decode("bra.uni $L__BB0_2", &mut c).unwrap();
        assert_eq!(d.label.as_deref(), Some("$L__BB0_2"));
        let d = decode("mov.u32 %r0, %tid.y", &mut c).unwrap();
        assert!(matches!(
            d.op,
            Op::IUn {
                a: Src::Special(Sreg::Tid(1)),
                ..
            }
        ));
    }

    #[test]
    fn unknown_modifiers_and_registers_are_errors() {
        let mut c = ctx();
        assert!(
            decode("add.cc.u32 %r1, %r2, %r3", &mut c)
                .unwrap_err()
                .contains("`.cc`")
        );
        assert!(
            decode("add.u32 %r9, %r2, %r3", &mut c)
                .unwrap_err()
                .contains("%r9")
        );
        assert!(decode("add.f16x2 %r1, %r2, %r3", &mut c).is_err());
        assert!(matches!(
            decode(
                "ldmatrix.sync.aligned.m8n8.x4.trans.shared::cta.b16 {%r0, %r1, %r2, %r3}, [%r0]",
                &mut c
            )
            .unwrap()
            .op,
            Op::Ldmatrix {
                num: 4,
                trans: true,
                space: Space::Shared,
                ..
            }
        ));
        assert!(
            decode(
                "ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%r0, %r1}, [%r0]",
                &mut c
            )
            .unwrap_err()
            .contains("expected 4 registers")
        );
        assert!(
            decode(
                "stmatrix.sync.aligned.m8n8.x1.shared.b16 [%r0], {%r1}",
                &mut c
            )
            .unwrap_err()
            .contains("unsupported instruction `stmatrix")
        );
        assert!(
            decode("cp.async.bulk.wait_group 0", &mut c)
                .unwrap_err()
                .contains("later milestone")
        );
        assert!(matches!(
            decode("cp.async.wait_group 1", &mut c).unwrap().op,
            Op::CpAsyncWait { n: 1, all: false }
        ));
        assert!(matches!(
            decode(
                "cp.async.cg.shared.global.L2::128B [%r1], [%rd1], 16, %r2",
                &mut c
            )
            .unwrap()
            .op,
            Op::CpAsync {
                cp_size: 16,
                src_size: CpSrcSize::Bytes(Src::Reg(2)),
                ..
            }
        ));
        assert!(decode("cp.async.cg.shared.global [%r1], [%rd1], 8", &mut c).is_err());
    }

    #[test]
    fn wgmma_forms() {
        let mut c = ctx();
        let w = "wgmma.mma_async.sync.aligned";
        let d = decode(
            &format!(
                "{w}.m64n8k16.f32.bf16.bf16 {{%r0, %r1, %r2, %r3}}, %rd0, %rd1, %p0, 1, -1, 0, 1"
            ),
            &mut c,
        )
        .unwrap();
        match d.op {
            Op::Wgmma(x) => {
                assert_eq!((x.n, x.f16, x.d.len()), (8, false, 4));
                assert_eq!(x.a, WgmmaA::Desc(Src::Reg(4)));
                assert_eq!(x.scale_d, Src::Reg(8));
                assert_eq!(
                    (x.neg_a, x.neg_b, x.trans_a, x.trans_b),
                    (false, true, false, true)
                );
            }
            op => panic!("{op:?}"),
        }
        // A in registers: no imm-trans-a
        let d = decode(
            &format!("{w}.m64n8k16.f32.f16.f16 {{%r0, %r1, %r2, %r3}}, {{%r0, %r1, %r2, %r3}}, %rd1, 1, -1, 1, 1"),
            &mut c,
        )
        .unwrap();
        assert!(
            matches!(&d.op, Op::Wgmma(x) if x.f16 && x.neg_a && x.trans_b && matches!(x.a, WgmmaA::Regs(_)))
        );
        let err = |t: String, c: &mut Ctx| decode(&t, c).unwrap_err();
        assert!(
            err(
                format!(
                    "{w}.m64n16k16.f32.bf16.bf16 {{%r0, %r1, %r2, %r3}}, %rd0, %rd1, 1, 1, 1, 0, 0"
                ),
                &mut c
            )
            .contains("needs 8 accumulator registers")
        );
        assert!(
            err(
                format!("{w}.m64n12k16.f32.bf16.bf16 {{%r0}}, %rd0, %rd1, 1, 1, 1, 0, 0"),
                &mut c
            )
            .contains("unsupported wgmma shape")
        );
        assert!(
            err(
                format!(
                    "{w}.m64n8k16.f32.bf16.bf16 {{%r0, %r1, %r2, %r3}}, %rd0, %rd1, 1, 2, 1, 0, 0"
                ),
                &mut c
            )
            .contains("imm-scale-a must be 1 or -1")
        );
        assert!(
            err(
                format!("{w}.m64n8k16.f16.f16.f16 {{%r0, %r1}}, %rd0, %rd1, 1, 1, 1, 0, 0"),
                &mut c
            )
            .contains("unsupported wgmma types")
        );
        assert!(err("wgmma.fence;".replace(';', ""), &mut c).contains(".sync.aligned"));
        assert!(matches!(
            decode("wgmma.wait_group.sync.aligned 1", &mut c)
                .unwrap()
                .op,
            Op::WgmmaWait { n: 1 }
        ));
        assert!(matches!(
            decode("wgmma.commit_group.sync.aligned", &mut c)
                .unwrap()
                .op,
            Op::WgmmaCommit
        ));
    }
}
