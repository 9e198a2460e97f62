//! Parses the PTX of orac's CUDA kernels (generated with tests/nvrtc/compile.py into a
//! directory named by `PTX_EMU_ORAC_DIR`, not committed): the scalar-ISA ones and the wgmma
//! one must parse, the other tensor-core ones must fail with an unsupported-instruction error
//! naming it.
use ptx_emu::Module;

#[test]
#[ignore = "needs PTX_EMU_ORAC_DIR with orac's kernels compiled by tests/nvrtc/compile.py"]
fn orac_kernels_parse() {
    let dir = std::env::var("PTX_EMU_ORAC_DIR").expect("PTX_EMU_ORAC_DIR");
    let scalar = [
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
        // wgmma.mma_async, wgmma.fence/commit_group/wait_group and cp.async (milestone 3)
        "gemm_wgmma",
    ];
    let tensor = ["gemm_mma", "gemm_wmma", "attention_flash"];
    let later = ["ldmatrix", "mma", "wmma", "cp.async"];
    for k in scalar {
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
    for k in tensor {
        let text = std::fs::read_to_string(format!("{dir}/{k}.ptx")).unwrap();
        let e = Module::parse(&text).expect_err(k);
        eprintln!("{k}: {e}");
        assert!(e.reason.contains("unsupported instruction"), "{k}: {e}");
        assert!(later.iter().any(|op| e.text.starts_with(op)), "{k}: {e}");
    }
}
