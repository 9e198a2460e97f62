//! Parses the PTX of orac's CUDA kernels (generated with tests/nvrtc/compile.py into a
//! directory named by `PTX_EMU_ORAC_DIR`, not committed): the scalar-ISA ones and those
//! using cp.async, ldmatrix, mma.sync and wmma must parse; gemm_wgmma must fail with an
//! unsupported-instruction error naming wgmma.
use ptx_emu::Module;

#[test]
#[ignore = "needs PTX_EMU_ORAC_DIR with orac's kernels compiled by tests/nvrtc/compile.py"]
fn orac_kernels_parse() {
    let dir = std::env::var("PTX_EMU_ORAC_DIR").expect("PTX_EMU_ORAC_DIR");
    let parse = [
        "copy_scalar",
        "copy_vec",
        "copy_vec_flat",
        "triad",
        "gemm_naive",
        "gemm_tiled",
        "gemm_regblock",
        "attention_rowwise",
        "attention_unfused",
        "attention_decode",
        "gemm_mma",
        "gemm_wmma",
        "attention_flash",
    ];
    let later = [("gemm_wgmma", "wgmma")];
    for k in parse {
        let text = std::fs::read_to_string(format!("{dir}/{k}.ptx")).unwrap();
        match Module::parse(&text) {
            Ok(m) => eprintln!(
                "{k}: {} kernels, {} instructions",
                m.kernels().len(),
                m.kernels()
                    .iter()
                    .map(|k| k.instruction_count())
                    .sum::<usize>()
            ),
            Err(e) => panic!("{k}: {e}"),
        }
    }
    for (k, op) in later {
        let text = std::fs::read_to_string(format!("{dir}/{k}.ptx")).unwrap();
        let e = Module::parse(&text).expect_err(k);
        eprintln!("{k}: {e}");
        assert!(e.reason.contains("unsupported instruction"), "{k}: {e}");
        assert!(e.text.starts_with(op), "{k}: {e}");
    }
}
