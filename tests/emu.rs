//! `--backend emu`: every CUDA kernel's PTX run in the emulator (crates/ptx-emu) on the
//! launch plan the GPU path uses, checked against the f64 references. The tests that
//! compile kernels need libnvrtc (no GPU): `.ci/run` installs NVRTC 13 from PyPI and runs
//! them with `--include-ignored`.

mod common;

use std::path::Path;

use common::*;

/// The kernels milestone 1 of the emulator (decoder, scalar ISA, launch plan) verifies:
/// everything in kernels/cuda without tensor-core or asynchronous-copy instructions.
const SCALAR_ISA_KERNELS: &[&str] = &[
    "memcpy/copy-vec/",
    "memcpy/copy-vec-flat/",
    "memcpy/copy-scalar/",
    "memcpy/triad/",
    "gemm/naive/",
    "gemm/tiled/",
    "gemm/regblock/",
    "attention/unfused/",
    "attention/rowwise/",
    "attention/decode/",
];

/// The kernels milestone 2 (cp.async, ldmatrix, mma.sync, wmma) verifies.
const TENSOR_CORE_KERNELS: &[&str] = &["gemm/mma/", "gemm/wmma/", "attention/flash/"];

/// The table rows of `orac verify`'s output: (benchmark id, check text).
fn rows(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('│').map(str::trim).collect();
            (cells.len() == 4 && cells[1].contains('/')).then(|| (cells[1].into(), cells[2].into()))
        })
        .collect()
}

/// `orac verify --backend emu` over the benchmarks `filter` matches, with `kernels` as the
/// kernel tree if given.
fn verify_emu(kernels: Option<&Path>, filter: &str) -> std::process::Output {
    let mut args = vec!["verify"];
    if let Some(dir) = kernels {
        args.extend(["--kernels", dir.to_str().unwrap()]);
    }
    args.extend(["--backend", "emu", "--filter", filter]);
    orac(&repo(), &args)
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn every_scalar_isa_kernel_matches_the_reference_in_emulation() {
    let filter = format!("^({})", SCALAR_ISA_KERNELS.join("|"));
    let out = verify_emu(None, &filter);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    for kernel in SCALAR_ISA_KERNELS {
        let mine: Vec<_> = rows
            .iter()
            .filter(|(id, _)| id.starts_with(kernel))
            .collect();
        // Each kernel's emu shapes: one tile, off the grid (and for attention and decode a
        // third).
        assert!(mine.len() >= 2, "{kernel}: {rows:?}");
        for (id, check) in mine {
            assert!(check.starts_with("ok"), "{id}: {check}");
        }
    }
    assert!(text.contains("verify on emu-sm_90a"), "{text}");
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn mma_wmma_and_flash_kernels_match_the_reference_in_emulation() {
    let filter = format!("^({})", TENSOR_CORE_KERNELS.join("|"));
    let out = verify_emu(None, &filter);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    for kernel in TENSOR_CORE_KERNELS {
        let mine: Vec<_> = rows
            .iter()
            .filter(|(id, _)| id.starts_with(kernel))
            .collect();
        // one tile, off the grid, and a third shape (attention: causal with Sq != Sk)
        assert!(mine.len() >= 3, "{kernel}: {rows:?}");
        for (id, check) in mine {
            assert!(check.starts_with("ok"), "{id}: {check}");
        }
    }
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn vendor_calls_are_skipped_with_the_reason() {
    let out = verify_emu(None, "^(memcpy/dtod|gemm/cublas)/");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(!rows.is_empty());
    for (id, check) in &rows {
        assert!(
            check.starts_with("skipped:") && check.contains("vendor call"),
            "{id}: {check}"
        );
    }
}

/// Replaces `old` (which must be there) by `new` in `file` of the kernel tree `kernels`.
fn plant(kernels: &Path, file: &str, old: &str, new: &str) {
    let path = kernels.join("cuda").join(file);
    let source = std::fs::read_to_string(&path).unwrap();
    assert!(source.contains(old), "{file} no longer has {old:?}");
    std::fs::write(&path, source.replacen(old, new, 1)).unwrap();
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn planted_bugs_fail_verification_in_emulation() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    // A barrier removed: warps read tiles the others have not written yet.
    plant(&kernels, "gemm_tiled.cu", "__syncthreads();", "");
    // An edge guard removed: the last tile reads past the end of A.
    plant(
        &kernels,
        "gemm_regblock.cu",
        "(gm < M && gk < K) ? A[(long long)gm * K + gk] : 0.0f",
        "A[(long long)gm * K + gk]",
    );
    // The ticket never reset: the next launch's last block is never found.
    plant(
        &kernels,
        "attention_decode.cu",
        "if (threadIdx.x == 0) tickets[bkv] = 0u;",
        "",
    );
    let out = verify_emu(
        Some(&kernels),
        "^(gemm/tiled|gemm/regblock|attention/decode)/",
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    let check = |id: &str| {
        rows.iter()
            .find(|(i, _)| i == id)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| panic!("no row {id}: {rows:?}"))
    };
    // With the racecheck and initcheck on (the emu backend's default) the missing barrier
    // is reported where it happens, not only as a wrong result.
    for (id, _) in rows.iter().filter(|(id, _)| id.starts_with("gemm/tiled/")) {
        let c = check(id);
        assert!(
            c.starts_with("FAIL") || (c.starts_with("ERROR") && c.contains("shared memory")),
            "{id}: {c}"
        );
    }
    // Within one tile the guard is never needed; off the grid the fault names A.
    assert!(check("gemm/regblock/f32/m128n128k64").starts_with("ok"));
    let fault = check("gemm/regblock/f32/m193n200k104");
    assert!(fault.contains("out-of-bounds global load"), "{fault}");
    assert!(
        text.contains("past the end of allocation `A`") && text.contains("gemm_regblock.cu:"),
        "{text}"
    );
    // One split never takes a ticket; several do, and the second launch goes wrong.
    assert!(check("attention/decode/bf16/b1h8kv1s256d128").starts_with("ok"));
    let stale = check("attention/decode/bf16/b2h6kv2s805d64");
    assert!(stale.contains("state a launch leaves behind"), "{stale}");
}

#[test]
fn run_ab_and_bisect_refuse_the_emu_backend_which_does_not_time() {
    for args in [
        &["run", "--backend", "emu", "--no-save"][..],
        &["ab", "--backend", "emu", "--base", "HEAD", "--head", "HEAD"][..],
        &[
            "bisect",
            "--backend",
            "emu",
            "--filter",
            "x",
            "--good",
            "HEAD",
            "--bad",
            "HEAD",
        ][..],
    ] {
        let out = orac(&repo(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("does not time them")
                && stderr(&out).contains("orac verify --backend emu"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn list_backend_emu_lists_the_cuda_kernels_on_emu_shapes() {
    let out = orac(&repo(), &["list", "--backend", "emu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids = stdout(&out);
    assert!(ids.contains("gemm/regblock/f32/m128n128k64"), "{ids}");
    assert!(
        ids.contains("attention/decode/bf16/b2h6kv2s805d64"),
        "{ids}"
    );
    assert!(
        stderr(&out).contains("emu backend, emu profile"),
        "{}",
        stderr(&out)
    );
    // Device shapes would take hours in the emulator.
    let full = orac(&repo(), &["list", "--backend", "emu", "--profile", "full"]);
    assert_eq!(full.status.code(), Some(2));
    assert!(
        stderr(&full).contains("only the emu profile"),
        "{}",
        stderr(&full)
    );
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn planted_ldmatrix_without_trans_for_b_in_gemm_mma_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    // B is stored K-major in shared memory, so the mma's column-major B fragments need the
    // transposing ldmatrix (PTX ISA 9.7.14, ldmatrix .trans); without it every B fragment
    // holds the transpose of what the mma expects.
    plant(
        &kernels,
        "gemm_mma.cu",
        "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
    );
    let out = verify_emu(Some(&kernels), "^gemm/mma/");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(rows.len() >= 3, "{rows:?}");
    for (id, check) in &rows {
        assert!(check.starts_with("FAIL"), "{id}: {check}");
    }
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn gemm_wgmma_matches_the_reference_in_emulation() {
    // Milestone 3: wgmma.mma_async from 128B-swizzled descriptors (A K-major, B N-major).
    let out = verify_emu(None, "^gemm/wgmma/");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(rows.len() >= 3, "{rows:?}");
    for (id, check) in &rows {
        assert!(check.starts_with("ok"), "{id}: {check}");
    }
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn planted_lbo_sbo_swap_in_gemm_wgmma_b_descriptor_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    // B's descriptor with the leading and stride byte offsets swapped: wgmma then reads the
    // 64-column panels 1024 bytes apart and the 8-row K groups 8192 bytes apart.
    plant(
        &kernels,
        "gemm_wgmma.cu",
        "sw128_desc(base + A_TILE_BYTES, B_PANEL_BYTES, 1024)",
        "sw128_desc(base + A_TILE_BYTES, 1024, B_PANEL_BYTES)",
    );
    let out = verify_emu(Some(&kernels), "^gemm/wgmma/");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(rows.len() >= 3, "{rows:?}");
    for (id, check) in &rows {
        assert!(check.starts_with("FAIL"), "{id}: {check}");
    }
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn planted_missing_barrier_in_gemm_tiled_is_a_shared_race() {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    // The barrier after the inner product removed: the next iteration's tile stores
    // overwrite As/Bs while other warps still read the current tile.
    plant(
        &kernels,
        "gemm_tiled.cu",
        "        __syncthreads();\n    }\n",
        "    }\n",
    );
    let out = verify_emu(Some(&kernels), "^gemm/tiled/");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(!rows.is_empty(), "{text}");
    // K = 64 and 104 have a second tile of K; K = 37 too (two tiles of 32)
    for (id, check) in &rows {
        assert!(
            check.starts_with("ERROR: data race on shared memory"),
            "{id}: {check}"
        );
    }
    let all = format!("{text}\n{}", stderr(&out));
    assert!(all.contains("data race on shared memory"), "{all}");
    assert!(all.contains("gemm_tiled.cu:"), "{all}");
    assert!(
        all.contains("(`As` + ") || all.contains("(`Bs` + "),
        "{all}"
    );
}
