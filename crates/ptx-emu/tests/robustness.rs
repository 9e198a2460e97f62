//! Mutated PTX (truncated, bytes deleted, duplicated or replaced) is an error or runs to a
//! result or a fault, never a panic. Deterministic: a fixed xorshift seed; more with
//! `PTX_EMU_FUZZ_SEED=<u64> PTX_EMU_FUZZ_ROUNDS=<n> cargo test -p ptx-emu --test robustness`.
use ptx_emu::{Arg, Global, Launch, Module, Options, run};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn sources() -> Vec<String> {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut out = Vec::new();
    for dir in ["tests/pass", "tests/nvrtc"] {
        let mut files: Vec<_> = std::fs::read_dir(format!("{root}/{dir}"))
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "ptx"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
    }
    out
}

fn mutate(src: &str, rng: &mut Rng) -> String {
    let mut b: Vec<u8> = src.bytes().collect();
    let alphabet = b"%.,;{}[]()+-0123456789abcdefrxyzp@!$_ \n";
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            break;
        }
        let i = rng.below(b.len());
        match rng.below(4) {
            0 => b.truncate(i),
            1 => {
                let n = rng.below(8).min(b.len() - i);
                b.drain(i..i + n);
            }
            2 => {
                let n = rng.below(16).min(b.len() - i);
                let chunk: Vec<u8> = b[i..i + n].to_vec();
                let at = rng.below(b.len());
                b.splice(at..at, chunk);
            }
            _ => b[i] = alphabet[rng.below(alphabet.len())],
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn mutated_ptx_never_panics() {
    let seed =
        std::env::var("PTX_EMU_FUZZ_SEED").map_or(0x9e37_79b9_7f4a_7c15, |s| s.parse().unwrap());
    let rounds = std::env::var("PTX_EMU_FUZZ_ROUNDS").map_or(150, |s| s.parse().unwrap());
    let mut rng = Rng(seed);
    let (mut parsed, mut ran) = (0, 0);
    for src in sources() {
        for _ in 0..rounds {
            let text = mutate(&src, &mut rng);
            let Ok(m) = Module::parse(&text) else {
                continue;
            };
            parsed += 1;
            for k in m.kernels() {
                let mut g = Global::new();
                let args: Vec<Arg> = k
                    .params()
                    .iter()
                    .map(|p| match p.size {
                        8 => Arg::Ptr(g.alloc_zeroed("buf", 4096)),
                        _ if p.ty == ptx_emu::inst::Ty::F32 => Arg::F32(1.5),
                        _ => Arg::U32(7),
                    })
                    .collect();
                let launch = Launch {
                    grid: [2, 1, 1],
                    block: [64, 1, 1],
                    dynamic_shared_bytes: 256,
                };
                let opts = Options {
                    max_thread_instructions: 200_000,
                    threads: 1,
                    ..Options::default()
                };
                let _ = run(&m, k.name(), &launch, &args, &mut g, &opts);
                ran += 1;
            }
        }
    }
    assert!(parsed > 100 && ran > 100, "parsed {parsed}, ran {ran}");
}
