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
fn run_and_bisect_refuse_the_emu_backend_which_does_not_time() {
    for args in [
        &["run", "--backend", "emu", "--no-save"][..],
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
fn every_emu_shape_fits_the_thread_instruction_budget() {
    use orac::backend::Workload;
    use orac::backend::emu::{BUDGET, EmuBackend};
    use orac::kernels::KernelTree;
    use orac::suite::{Filter, Profile, build_suite, generate_inputs};

    let mut backend = EmuBackend::new(&KernelTree::Embedded).unwrap();
    let kernels: Vec<&str> = SCALAR_ISA_KERNELS
        .iter()
        .chain(TENSOR_CORE_KERNELS)
        .chain(&["gemm/wgmma/"])
        .copied()
        .collect();
    let filter = Filter::new(Some(&format!("^({})", kernels.join("|")))).unwrap();
    let suite = build_suite(
        orac::backend::Backend::kernels(&backend),
        Profile::Emu,
        &filter,
    );
    assert!(suite.len() >= 2 * kernels.len());
    for bench in &suite {
        let inputs = generate_inputs(bench, 1);
        let mut workload = backend.prepare_emu(bench, &inputs).unwrap();
        workload.run_checked().unwrap();
        let cost = workload.thread_instructions();
        // The counts docs/EMULATOR.md tabulates (`-- --nocapture`).
        println!("{:<48} {cost:>12}", bench.id);
        assert!(cost > 0 && cost <= BUDGET, "{}: {cost}", bench.id);
    }
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn info_backend_emu_names_its_key_nvrtc_and_ptx_isa() {
    let out = orac(&repo(), &["info", "--backend", "emu"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(text.contains("hardware key:  emu-sm_90a"), "{text}");
    let ptx = text.lines().find(|l| l.starts_with("ptx:")).unwrap_or("");
    assert!(
        ptx.contains("NVRTC") && ptx.contains("sm_90a") && ptx.contains("PTX ISA"),
        "{text}"
    );
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn planted_ldmatrix_without_trans_for_b_in_gemm_mma_fails() {
    // B is stored K-major in shared memory, so the mma's column-major B fragments need the
    // transposing ldmatrix (PTX ISA 9.7.14, ldmatrix .trans); without it every B fragment
    // holds the transpose of what the mma expects.
    assert_every_shape_fails_with(
        "gemm_mma.cu",
        "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16",
        "ldmatrix.sync.aligned.m8n8.x4.shared.b16",
        "^gemm/mma/",
    );
}

/// Plants `old` → `new` in `file` of a copy of the kernels and asserts that every benchmark
/// `filter` matches (at least the 3 emu shapes) fails verification in emulation.
fn assert_every_shape_fails_with(file: &str, old: &str, new: &str, filter: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let kernels = copy_kernels(tmp.path());
    plant(&kernels, file, old, new);
    let out = verify_emu(Some(&kernels), filter);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    let rows = rows(&text);
    assert!(rows.len() >= 3, "{rows:?}");
    for (id, check) in &rows {
        assert!(check.starts_with("FAIL"), "{id}: {check}");
    }
}

/// The bring-up's cross-check (ci/emu_compare.py) on `orac verify --out-dir` directories.
fn emu_compare(emu: &Path, gpu: &Path) -> std::process::Output {
    std::process::Command::new("python3")
        .arg(repo().join("ci/emu_compare.py"))
        .args([emu, gpu])
        .output()
        .unwrap()
}

#[test]
fn the_cross_check_compares_outputs_element_by_element_within_the_dtypes_tolerance() {
    let tmp = tempfile::tempdir().unwrap();
    let (emu, gpu) = (tmp.path().join("emu"), tmp.path().join("gpu"));
    std::fs::create_dir_all(&emu).unwrap();
    std::fs::create_dir_all(&gpu).unwrap();
    let floats = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let write =
        |dir: &Path, name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).unwrap();
    write(&emu, "memcpy--copy-vec--u8--4B.u8", b"orac");
    write(&gpu, "memcpy--copy-vec--u8--4B.u8", b"orac");
    // bf16: within 1e-2 normwise.
    write(&emu, "gemm--mma--bf16--m1n2k3.f32", &floats(&[1.0, 2.0]));
    write(&gpu, "gemm--mma--bf16--m1n2k3.f32", &floats(&[1.001, 2.0]));
    let out = emu_compare(&emu, &gpu);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 of 2 outputs agree"),
        "{}",
        stdout(&out)
    );
    // f32 is held to 1e-5, bytes to identity, and a missing side is a difference.
    write(&emu, "gemm--tiled--f32--m1n2k3.f32", &floats(&[1.0, 2.0]));
    write(&gpu, "gemm--tiled--f32--m1n2k3.f32", &floats(&[1.001, 2.0]));
    write(&gpu, "memcpy--copy-vec--u8--4B.u8", b"orad");
    write(&emu, "attention--flash--bf16--b1.f32", &floats(&[1.0]));
    let out = emu_compare(&emu, &gpu);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("DIFF  gemm--tiled--f32--m1n2k3.f32"),
        "{text}"
    );
    assert!(
        text.contains("DIFF  memcpy--copy-vec--u8--4B.u8: 4 bytes, 1 differ"),
        "{text}"
    );
    assert!(text.contains("only on the emu side"), "{text}");
    assert!(text.contains("same  gemm--mma--bf16--m1n2k3.f32"), "{text}");
}

#[test]
fn verify_out_dir_writes_each_output_once_and_never_over_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("outputs");
    let args = [
        "verify",
        "--backend",
        "cpu",
        "--profile",
        "emu",
        "--filter",
        "^memcpy/copy-st/",
        "--out-dir",
        dir.to_str().unwrap(),
    ];
    let out = orac(&repo(), &args);
    assert!(out.status.success(), "{}", stderr(&out));
    // The emu profile's copy shapes: one block, then 2½ blocks and a tail.
    let copy = std::fs::read(dir.join("memcpy--copy-st--u8--4096B.u8")).unwrap();
    assert_eq!(copy.len(), 4096);
    assert!(dir.join("memcpy--copy-st--u8--10253B.u8").is_file());
    // A second run finds the files there: an error, the files untouched.
    let again = orac(&repo(), &args);
    assert_eq!(again.status.code(), Some(3), "{}", stdout(&again));
    assert!(
        stdout(&again).contains("cannot write"),
        "{}",
        stdout(&again)
    );
    assert_eq!(
        std::fs::read(dir.join("memcpy--copy-st--u8--4096B.u8")).unwrap(),
        copy
    );
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
    // B's descriptor with the leading and stride byte offsets swapped: wgmma then reads the
    // 64-column panels 1024 bytes apart and the 8-row K groups 8192 bytes apart.
    assert_every_shape_fails_with(
        "gemm_wgmma.cu",
        "sw128_desc(base + A_TILE_BYTES, B_PANEL_BYTES, 1024)",
        "sw128_desc(base + A_TILE_BYTES, 1024, B_PANEL_BYTES)",
        "^gemm/wgmma/",
    );
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

/// A git repository holding a copy of kernels/, committed, with `edit` applied to the copy
/// and committed on top when given: (repository, base commit, head commit).
fn kernel_repo(
    dir: &Path,
    edit: Option<(&str, &str, &str)>,
) -> (std::path::PathBuf, String, String) {
    let repo_dir = dir.join("repo");
    std::fs::create_dir_all(&repo_dir).unwrap();
    let kernels = copy_kernels(&repo_dir);
    git(&repo_dir, &["init", "-q", "-b", "main"]);
    git(&repo_dir, &["add", "."]);
    git(&repo_dir, &["commit", "-q", "-m", "kernels"]);
    let base = git(&repo_dir, &["rev-parse", "HEAD"]);
    if let Some((file, old, new)) = edit {
        plant(&kernels, file, old, new);
        git(&repo_dir, &["commit", "-q", "-am", "planted"]);
    }
    let head = git(&repo_dir, &["rev-parse", "HEAD"]);
    (repo_dir, base, head)
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn ab_backend_emu_fails_on_an_unpadded_shared_tile_and_says_which_counter() {
    let tmp = tempfile::tempdir().unwrap();
    // attention_unfused pads its Q and K tiles by a column: without it, reading a column
    // of a 32-wide tile of floats hits one bank
    let (repo_dir, base, head) = kernel_repo(
        tmp.path(),
        Some((
            "attention_unfused.cu",
            "float qs[T][TK + 1], ks[T][TK + 1];",
            "float qs[T][TK], ks[T][TK];",
        )),
    );
    let comment = tmp.path().join("counters.md");
    let out = orac(
        &repo_dir,
        &[
            "ab",
            "--backend",
            "emu",
            "--base",
            &base,
            "--head",
            &head,
            "--filter",
            "^attention/unfused/",
            "--markdown-out",
            comment.to_str().unwrap(),
        ],
    );
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    let worse: Vec<&str> = text.lines().filter(|l| l.contains("WORSE")).collect();
    assert_eq!(worse.len(), 3, "one per emu shape:\n{text}");
    for line in &worse {
        // conflict-free before (1.00 wavefront per ideal), conflicted after
        assert!(
            line.contains("shared.ld.ways") && line.contains("1.00"),
            "{line}"
        );
    }
    assert!(text.contains("3 gated metric(s) got worse"), "{text}");
    let md = std::fs::read_to_string(&comment).unwrap();
    assert!(md.contains("| `attention/unfused/bf16/b1h1sq32sk32d64` | `shared.ld.ways` | 1.00 | 3.00 | +200.0% | **worse** |"), "{md}");
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn counters_of_an_unchanged_tree_compare_exactly_equal() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo_dir, base, _) = kernel_repo(tmp.path(), None);
    // A/A in one process: no counter may differ
    let out = orac(
        &repo_dir,
        &[
            "ab",
            "--backend",
            "emu",
            "--base",
            &base,
            "--head",
            &base,
            "--filter",
            "^gemm/(tiled|mma)/",
        ],
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("no counter changed in 6 benchmarks"),
        "{}",
        stdout(&out)
    );
    // Two stored records of the same tree, compared by `orac compare`: equal too
    let results = tmp.path().join("results");
    for _ in 0..2 {
        let out = orac(
            &repo_dir,
            &[
                "counters",
                "--filter",
                "^gemm/tiled/",
                "--results-dir",
                results.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    }
    let files = run_files(&results);
    assert_eq!(files.len(), 2);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let bench = &record["benchmarks"][0];
    assert!(
        bench["counters"]["inst.executed"].as_u64().unwrap() > 0,
        "{bench}"
    );
    assert!(
        bench["samples"].as_array().unwrap().is_empty(),
        "counts never become samples"
    );
    assert!(
        record["hardware"]["compiler"]
            .as_str()
            .unwrap()
            .starts_with("NVRTC")
    );
    let out = orac(
        &repo_dir,
        &[
            "compare",
            files[0].to_str().unwrap(),
            files[1].to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("no counter changed in 3 benchmarks"),
        "{}",
        stdout(&out)
    );
    // other inputs are other counts: a record of another seed is not compared
    let seeded = tmp.path().join("seeded");
    let out = orac(
        &repo_dir,
        &[
            "counters",
            "--filter",
            "^gemm/tiled/",
            "--seed",
            "7",
            "--results-dir",
            seeded.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let other = &run_files(&seeded)[0];
    let out = orac(
        &repo_dir,
        &[
            "compare",
            files[0].to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("--seed 0") && stderr(&out).contains("--seed 7"),
        "{}",
        stderr(&out)
    );
}

#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn gemm_regblock_b_reads_are_two_way_and_gemm_mma_ldmatrix_is_conflict_free() {
    let out = orac(
        &repo(),
        &[
            "counters",
            "--no-save",
            "--all",
            "--filter",
            "^gemm/(regblock|mma)/.*/m128n128k64$",
        ],
    );
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let count = |bench: &str, name: &str| -> u64 {
        let block = text.split(&format!("\n{bench}\n")).nth(1).expect(bench);
        block
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)
                    .map(|v| v.trim().parse().unwrap())
            })
            .unwrap_or_else(|| panic!("{bench} has no {name}:\n{text}"))
    };
    // regblock: the float4 B reads conflict 2-way (columns tc*8 and tc*8 + 4 of a quarter
    // warp start at banks 0, 8, 16, 24, 0, ...), the A reads not at all
    assert_eq!(
        count("gemm/regblock/f32/m128n128k64", "shared.ld.max_ways"),
        2
    );
    // mma: its ldmatrix rows (80- and 272-byte strides) are conflict-free
    let mma = "gemm/mma/bf16/m128n128k64";
    assert_eq!(
        count(mma, "shared.ldmatrix.wavefronts"),
        count(mma, "shared.ldmatrix.ideal_wavefronts")
    );
    assert_eq!(count(mma, "shared.ldmatrix.max_ways"), 1);
}

/// The pull-request workflow's scripts end to end (ci/rehearse.sh --counters): the counters
/// job fails on the un-padded tile, and the one comment carries its section.
#[test]
#[ignore = "needs libnvrtc (pip install nvidia-cuda-nvrtc); .ci/run installs it and runs these"]
fn the_counters_rehearsal_fails_the_gate_and_the_comment_says_which_counter() {
    let out = std::process::Command::new(repo().join("ci/rehearse.sh"))
        .args(["--counters", env!("CARGO_BIN_EXE_orac")])
        .env(
            "ORAC_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("kernel-cache"),
        )
        .env("ORAC_CONTENTION", "ignore")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    let comment = text
        .split("----- comment")
        .nth(1)
        .expect("the comment is printed");
    assert!(comment.contains("<!-- orac:compare -->"), "{comment}");
    assert!(comment.contains("#### Emulator counters"), "{comment}");
    assert!(
        comment.contains("| `attention/unfused/bf16/b1h1sq32sk32d64` | `shared.ld.ways` | 1.00 | 3.00 | +200.0% | **worse** |"),
        "{comment}"
    );
    assert!(comment.contains("3 gated metric(s) got worse"), "{comment}");
    assert!(
        text.contains("gh api --method POST repos/example/orac/issues/1/comments"),
        "{text}"
    );
    assert!(text.contains("counters gate exit code: 1"), "{text}");
}

#[test]
fn without_nvrtc_verify_and_counters_say_how_to_install_it() {
    // Only meaningful where no toolkit is reachable; elsewhere it checks nothing.
    let empty = tempfile::tempdir().unwrap();
    let env = [
        ("ORAC_CUDA_HOME", empty.path().to_str().unwrap()),
        ("CUDA_HOME", empty.path().to_str().unwrap()),
        ("PATH", "/usr/bin:/bin"),
    ];
    for args in [
        &["verify", "--backend", "emu"][..],
        &["counters", "--no-save"][..],
    ] {
        let out = orac_with_env(&repo(), args, &env);
        if out.status.code() == Some(4) {
            assert!(
                stderr(&out).contains("pip install nvidia-cuda-nvrtc"),
                "{args:?}: {}",
                stderr(&out)
            );
            // said once, before any benchmark ran
            assert!(!stdout(&out).contains("ERROR"), "{}", stdout(&out));
        }
    }
}

/// The committed `orac counters` record, read by the commands that read runs: shown as
/// counts, refused by baselines with the reason, left out of the HTML report.
#[test]
fn the_committed_counters_record_reads_as_counts_everywhere() {
    let dir = repo().join("results/emu-sm_90a");
    let record = run_files(&repo().join("results"))
        .into_iter()
        .find(|p| p.starts_with(&dir))
        .expect("a committed counters record");
    let out = orac(&repo(), &["show", record.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("smem ways ld/st/ldmatrix"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("gemm/regblock/f32/m128n128k64"),
        "{}",
        stdout(&out)
    );

    let tmp = tempfile::tempdir().unwrap();
    let out = orac(
        &repo(),
        &[
            "baseline",
            "set",
            dir.to_str().unwrap(),
            "--baselines-dir",
            tmp.path().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`orac counters` records"),
        "{}",
        stderr(&out)
    );

    let out = orac(
        &repo(),
        &[
            "report",
            "--out-dir",
            tmp.path().join("report").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("emu-sm_90a left out: it holds emulator counters"),
        "{}",
        stderr(&out)
    );
    assert!(!tmp.path().join("report/emu-sm_90a.html").exists());

    // the same record against itself: no counter changed
    let out = orac(
        &repo(),
        &[
            "compare",
            record.to_str().unwrap(),
            record.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no counter changed in "),
        "{}",
        stdout(&out)
    );
}
