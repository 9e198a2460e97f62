//! Parses the PTX of orac's CUDA kernels (generated with tests/nvrtc/compile.py into a
//! directory named by `PTX_EMU_ORAC_DIR`, not committed): every one must parse, the
//! scalar-ISA ones and those using cp.async, ldmatrix, mma.sync, wmma and wgmma.
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
        // wgmma.mma_async, wgmma.fence/commit_group/wait_group and cp.async (milestone 3)
        "gemm_wgmma",
    ];
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
}
