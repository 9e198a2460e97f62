//! PTX text to [`Module`]: directives, kernels, register files, shared/local layouts and the
//! decoded instruction stream of each kernel.

pub mod lex;

use std::collections::HashMap;
use std::fmt;

use crate::decode::{self, Ctx, Decoded};
use crate::inst::{Inst, Op, Space, Ty};
use lex::Stmt;

/// Why PTX text was rejected: the statement, its line and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based PTX line.
    pub line: u32,
    /// The statement text (whitespace collapsed, without `;`).
    pub text: String,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}\n  --> PTX line {}: `{}`",
            self.reason, self.line, self.text
        )
    }
}

impl std::error::Error for ParseError {}

/// A kernel parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    /// Element type (`.b8` for byte arrays passed by value).
    pub ty: Ty,
    /// Size in bytes.
    pub size: u32,
    /// Offset in the parameter buffer.
    pub offset: u32,
}

/// One `.entry` with its decoded body.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub name: String,
    pub(crate) params: Vec<Param>,
    pub(crate) param_bytes: u32,
    pub(crate) insts: Vec<Inst>,
    /// Register slots per thread.
    pub(crate) nregs: u32,
    /// Static shared bytes; the dynamic (`.extern`) array starts at `dyn_shared_offset`.
    pub(crate) static_shared: u32,
    pub(crate) dyn_shared_offset: u32,
    pub(crate) local_bytes: u32,
    /// Shared variables: (name, offset, size; `u32::MAX` for the dynamic array), by offset.
    pub(crate) shared_vars: Vec<(String, u32, u32)>,
    /// Declared name of each register slot.
    pub(crate) reg_names: Vec<String>,
}

impl Kernel {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn params(&self) -> &[Param] {
        &self.params
    }
    /// Number of decoded instructions.
    pub fn instruction_count(&self) -> usize {
        self.insts.len()
    }
    /// Static shared memory in bytes.
    pub fn static_shared_bytes(&self) -> u32 {
        self.static_shared
    }
}

/// A parsed PTX module.
#[derive(Debug, Clone)]
pub struct Module {
    version: (u32, u32),
    target: String,
    address_size: u32,
    pub(crate) files: HashMap<u32, String>,
    kernels: Vec<Kernel>,
}

struct VarDecl {
    name: String,
    size: u32,
    align: u32,
    /// `name[]`
    unsized_array: bool,
}

impl Module {
    pub fn parse(text: &str) -> Result<Module, ParseError> {
        let stmts = lex::statements(text);
        let mut m = Module {
            version: (0, 0),
            target: String::new(),
            address_size: 64,
            files: HashMap::new(),
            kernels: Vec::new(),
        };
        // module-level shared variables, in order: (decl, is extern)
        let mut mod_shared: Vec<VarDecl> = Vec::new();
        let mut i = 0;
        while i < stmts.len() {
            let (line, st) = &stmts[i];
            let err = |reason: String| ParseError {
                line: *line,
                text: stmt_text(st),
                reason,
            };
            match st {
                Stmt::Text(t) => {
                    let first = t.split_whitespace().next().unwrap_or("");
                    match first {
                        ".version" => {
                            let v = t[8..].trim();
                            let (a, b) = v.split_once('.').unwrap_or((v, "0"));
                            m.version = (
                                a.parse().map_err(|_| err("bad .version".into()))?,
                                b.parse().map_err(|_| err("bad .version".into()))?,
                            );
                        }
                        ".target" => m.target = t[7..].trim().to_string(),
                        ".address_size" => {
                            m.address_size = t[13..]
                                .trim()
                                .parse()
                                .map_err(|_| err("bad .address_size".into()))?
                        }
                        ".file" => {
                            let rest = t[5..].trim();
                            let (n, path) = rest.split_once(' ').unwrap_or((rest, ""));
                            let path = path.split('"').nth(1).unwrap_or(path).to_string();
                            m.files
                                .insert(n.parse().map_err(|_| err("bad .file".into()))?, path);
                        }
                        ".pragma" | ".loc" | ".maxntid" | ".reqntid" | ".minnctapersm" => {}
                        _ if t.contains(".entry") => {
                            let (k, next) = parse_entry(&stmts, i, &mod_shared)?;
                            m.kernels.push(k);
                            i = next;
                            continue;
                        }
                        _ if t.contains(".func") => {
                            if matches!(stmts.get(i + 1), Some((_, Stmt::Open))) {
                                return Err(err(
                                    "unsupported: .func with a body (device function calls are not emulated yet)"
                                        .into(),
                                ));
                            }
                        }
                        _ if t.contains(".shared") => {
                            mod_shared.push(parse_var(t).map_err(err)?);
                        }
                        _ if t.starts_with(".global") || t.starts_with(".const") => {
                            return Err(err(
                                "unsupported: module-level .global/.const variables".into()
                            ));
                        }
                        _ => return Err(err(format!("unknown module-level directive `{first}`"))),
                    }
                }
                Stmt::Open | Stmt::Close | Stmt::Label(_) => {
                    return Err(err("unexpected statement at module level".into()));
                }
            }
            i += 1;
        }
        Ok(m)
    }

    pub fn ptx_version(&self) -> (u32, u32) {
        self.version
    }
    pub fn target(&self) -> &str {
        &self.target
    }
    pub fn address_size(&self) -> u32 {
        self.address_size
    }
    pub fn kernels(&self) -> &[Kernel] {
        &self.kernels
    }
    pub fn kernel(&self, name: &str) -> Option<&Kernel> {
        self.kernels.iter().find(|k| k.name == name)
    }
    /// The source path of `.file N`.
    pub fn file(&self, n: u32) -> Option<&str> {
        self.files.get(&n).map(String::as_str)
    }
}

fn stmt_text(s: &Stmt) -> String {
    match s {
        Stmt::Open => "{".into(),
        Stmt::Close => "}".into(),
        Stmt::Label(l) => format!("{l}:"),
        Stmt::Text(t) => t.clone(),
    }
}

/// Largest shared or local variable accepted (the hardware has at most 228 KiB of shared
/// memory per block and 512 KiB of local memory per thread).
const MAX_VAR_BYTES: u32 = 1 << 20;

fn align_up(x: u32, a: u32) -> u32 {
    x.div_ceil(a.max(1)) * a.max(1)
}

/// `.shared .align 4 .b8 name[4096]`, `.extern .shared .align 16 .b8 smem[]`, `.local .u32 x`.
fn parse_var(t: &str) -> Result<VarDecl, String> {
    let t = t.split('=').next().unwrap_or(t);
    let mut align: u32 = 0;
    let mut ty = None;
    let mut name = None;
    let mut toks = t.split_whitespace();
    while let Some(tok) = toks.next() {
        match tok {
            ".extern" | ".visible" | ".shared" | ".local" | ".weak" => {}
            ".align" => {
                align = toks
                    .next()
                    .and_then(|a| a.parse().ok())
                    .ok_or("bad .align")?
            }
            _ if tok.starts_with('.') => {
                ty = Some(Ty::parse(&tok[1..]).ok_or(format!("unsupported variable type `{tok}`"))?)
            }
            _ => {
                name = Some(t[t.find(tok).unwrap_or(0)..].replace(' ', ""));
                break;
            }
        }
    }
    let ty = ty.ok_or("variable without a type")?;
    let full = name.ok_or("variable without a name")?;
    let (base, dims) = full.split_once('[').unwrap_or((&full, ""));
    let mut count: u32 = 1;
    let mut unsized_array = false;
    if !dims.is_empty() {
        for d in format!("[{dims}").split('[').skip(1) {
            let d = d.trim_end_matches(']');
            if d.is_empty() {
                unsized_array = true;
                count = 0;
            } else {
                count = d
                    .parse::<u32>()
                    .ok()
                    .and_then(|n| count.checked_mul(n))
                    .ok_or_else(|| format!("bad array size `{d}`"))?;
            }
        }
    }
    let esize = ty.bytes();
    let size = esize
        .checked_mul(count)
        .filter(|&s| s <= MAX_VAR_BYTES)
        .ok_or_else(|| format!("variable `{base}` is larger than {MAX_VAR_BYTES} bytes"))?;
    if align > 4096 || (align != 0 && !align.is_power_of_two()) {
        return Err(format!("bad alignment {align}"));
    }
    Ok(VarDecl {
        name: base.to_string(),
        size,
        align: if align == 0 { esize } else { align },
        unsized_array,
    })
}

/// Parses `.visible .entry name(params)` and its body starting at statement `i`; returns the
/// kernel and the index after its closing brace.
fn parse_entry(
    stmts: &[(u32, Stmt)],
    i: usize,
    mod_shared: &[VarDecl],
) -> Result<(Kernel, usize), ParseError> {
    let (hline, hst) = &stmts[i];
    let header = stmt_text(hst);
    let herr = |reason: String| ParseError {
        line: *hline,
        text: header.clone(),
        reason,
    };
    let open = header.find('(');
    let name_part = &header[..open.unwrap_or(header.len())];
    let name = name_part
        .split_whitespace()
        .last()
        .ok_or_else(|| herr("entry without a name".into()))?
        .to_string();
    let mut params = Vec::new();
    let mut offset = 0u32;
    if let Some(o) = open {
        let close = header[o..]
            .rfind(')')
            .map(|c| o + c)
            .ok_or_else(|| herr("unclosed parameter list".into()))?;
        for p in header[o + 1..close].split(',') {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let v = parse_var(&p.replace(".param", "")).map_err(herr)?;
            let ty = p
                .split_whitespace()
                .filter_map(|t| t.strip_prefix('.'))
                .find_map(Ty::parse)
                .ok_or_else(|| herr(format!("parameter `{p}` without a type")))?;
            offset = align_up(offset, v.align);
            params.push(Param {
                name: v.name,
                ty,
                size: v.size,
                offset,
            });
            offset += v.size;
        }
    }
    let mut j = i + 1;
    if !matches!(stmts.get(j), Some((_, Stmt::Open))) {
        return Err(herr("entry without a body".into()));
    }
    // find the matching close brace and pre-scan shared/local declarations
    let body_start = j + 1;
    let mut depth = 0;
    let mut body_end = None;
    let mut shared: Vec<(VarDecl, u32)> = Vec::new();
    let mut locals: Vec<(VarDecl, u32)> = Vec::new();
    while j < stmts.len() {
        let (line, st) = &stmts[j];
        match st {
            Stmt::Open => depth += 1,
            Stmt::Close => {
                depth -= 1;
                if depth == 0 {
                    body_end = Some(j);
                    break;
                }
            }
            Stmt::Text(t) if t.starts_with(".shared") || t.starts_with(".extern") => {
                shared.push((parse_var(t).map_err(|r| perr(*line, t, r))?, *line))
            }
            Stmt::Text(t) if t.starts_with(".local") => {
                locals.push((parse_var(t).map_err(|r| perr(*line, t, r))?, *line))
            }
            _ => {}
        }
        j += 1;
    }
    let body_end = body_end.ok_or_else(|| herr("unclosed entry body".into()))?;

    let mut symbols: HashMap<String, (Space, u64)> = HashMap::new();
    for p in &params {
        symbols.insert(p.name.clone(), (Space::Param, p.offset as u64));
    }
    // static shared: module-level then kernel-level, each at its alignment; dynamic last
    let mut soff = 0u32;
    let mut dyn_align = 16u32;
    let mut dyn_names = Vec::new();
    let mut shared_vars = Vec::new();
    for v in mod_shared.iter().chain(shared.iter().map(|(v, _)| v)) {
        if v.unsized_array {
            dyn_align = dyn_align.max(v.align);
            dyn_names.push(v.name.clone());
        } else {
            soff = align_up(soff, v.align);
            symbols.insert(v.name.clone(), (Space::Shared, soff as u64));
            shared_vars.push((v.name.clone(), soff, v.size));
            soff += v.size;
            if soff > MAX_VAR_BYTES {
                return Err(herr(format!(
                    "more than {MAX_VAR_BYTES} bytes of static shared memory"
                )));
            }
        }
    }
    let dyn_off = align_up(soff, dyn_align);
    for n in dyn_names {
        shared_vars.push((n.clone(), dyn_off, u32::MAX));
        symbols.insert(n, (Space::Shared, dyn_off as u64));
    }
    let mut loff = 0u32;
    for (v, _) in &locals {
        loff = align_up(loff, v.align);
        symbols.insert(v.name.clone(), (Space::Local, loff as u64));
        loff += v.size;
        if loff > MAX_VAR_BYTES / 4 {
            return Err(herr(format!(
                "more than {} bytes of local memory per thread",
                MAX_VAR_BYTES / 4
            )));
        }
    }

    let mut ctx = Ctx::new(symbols);
    let mut insts: Vec<Inst> = Vec::new();
    let mut labels: HashMap<String, u32> = HashMap::new();
    let mut fixups: Vec<(usize, String, u32, String)> = Vec::new();
    let mut loc = None;
    for (line, st) in &stmts[body_start..body_end] {
        match st {
            Stmt::Open => ctx.push_scope(),
            Stmt::Close => ctx.pop_scope(),
            Stmt::Label(l) => {
                labels.insert(l.clone(), insts.len() as u32);
            }
            Stmt::Text(t) => {
                let first = t.split_whitespace().next().unwrap_or("");
                match first {
                    ".reg" => ctx.declare_regs(t).map_err(|r| perr(*line, t, r))?,
                    ".loc" => {
                        let mut w = t.split_whitespace().skip(1);
                        let f = w.next().and_then(|x| x.parse().ok());
                        let l = w.next().and_then(|x| x.trim_end_matches(',').parse().ok());
                        loc = match (f, l) {
                            (Some(f), Some(l)) if l > 0 => Some((f, l)),
                            _ => loc,
                        };
                    }
                    ".shared" | ".extern" | ".local" | ".pragma" | ".maxntid" | ".reqntid"
                    | ".minnctapersm" | ".maxnreg" => {}
                    _ if first.starts_with('.') => {
                        return Err(perr(*line, t, format!("unknown directive `{first}`")));
                    }
                    _ => {
                        let d = decode::decode(t, &mut ctx).map_err(|r| perr(*line, t, r))?;
                        let Decoded { op, guard, label } = d;
                        if let Some(l) = label {
                            fixups.push((insts.len(), l, *line, t.clone()));
                        }
                        insts.push(Inst {
                            op,
                            guard,
                            line: *line,
                            loc,
                        });
                    }
                }
            }
        }
    }
    for (idx, l, line, text) in fixups {
        let target = *labels
            .get(&l)
            .ok_or_else(|| perr(line, &text, format!("unknown label `{l}`")))?;
        if let Op::Bra { target: t } = &mut insts[idx].op {
            *t = target;
        }
    }
    // falling off the end exits
    insts.push(Inst {
        op: Op::Exit,
        guard: None,
        line: stmts[body_end].0,
        loc,
    });
    Ok((
        Kernel {
            name,
            params,
            param_bytes: offset,
            insts,
            nregs: ctx.nregs(),
            static_shared: soff,
            dyn_shared_offset: dyn_off,
            local_bytes: loff,
            shared_vars,
            reg_names: ctx.take_reg_names(),
        },
        body_end + 1,
    ))
}

fn perr(line: u32, t: &str, reason: String) -> ParseError {
    ParseError {
        line,
        text: t.to_string(),
        reason,
    }
}
