//! One function per subcommand. They print; the library they call does not.

use super::args::{
    BaselineCommand, Cli, Command, InfoArgs, KernelsArg, ListArgs, RunsArgs, ShowArgs, ShowFormat,
};
use crate::backend::{self, cpu, cuda};
use crate::error::{Error, Result};
use crate::kernels::{self, KernelTree};
use crate::report;
use crate::store::{self, SCHEMA_VERSION};
use crate::suite::{Filter, build_suite};

/// Where a command's kernels come from: its `--kernels DIR`, else those built in.
fn tree(arg: &KernelsArg) -> Result<KernelTree> {
    match &arg.kernels {
        Some(dir) if !dir.is_dir() => Err(Error::Usage(format!(
            "--kernels {}: not a directory",
            dir.display()
        ))),
        Some(dir) => Ok(KernelTree::Dir(dir.clone())),
        None => Ok(KernelTree::Embedded),
    }
}

/// Runs the command of a [`Cli::normalized`] command line.
pub fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(args) => list(&tree(&args.kernels)?, args),
        Command::Info(args) => info(&tree(&args.kernels)?, args),
        Command::Run(args) => super::run::run(&tree(&args.kernels)?, args),
        Command::Show(args) => show(args),
        Command::Runs(args) => runs(args),
        Command::Compare(args) => super::compare::compare(args),
        Command::Ab(args) => super::compare::ab(args),
        Command::Baseline(BaselineCommand::Set(args)) => super::baseline::set(args),
        Command::Baseline(BaselineCommand::Show(args)) => super::baseline::show(args),
        Command::Worker => crate::isolate::worker_main(),
        Command::Kernels(args) => super::kernels::kernels(&tree(&args.kernels)?, args),
        Command::Verify(args) => super::verify::verify(&tree(&args.kernels)?, args),
        Command::Counters(args) => super::counters::counters(&tree(&args.kernels)?, args),
        Command::Merge(args) => super::merge::merge(args),
        Command::History(args) => super::history::history(args),
        Command::Export(args) => super::export::export(args),
        Command::Report(args) => super::report::report(args),
        Command::Bisect(args) => super::bisect::bisect(args),
    }
}

fn list(tree: &KernelTree, args: ListArgs) -> Result<()> {
    let filter = Filter::new(args.filter.as_deref())?;
    let choice = match args.backend {
        backend::BackendChoice::Auto => {
            if matches!(cuda::detect(), cuda::CudaStatus::Available { .. }) {
                backend::BackendChoice::Cuda
            } else {
                backend::BackendChoice::Cpu
            }
        }
        explicit => explicit,
    };
    let profile = backend::suite_profile(choice, args.profile)?;
    let (manifest, name, status) = match choice {
        backend::BackendChoice::Cuda => (
            "cuda",
            "CUDA",
            "; the CUDA kernels are compiled in CI but not yet verified on a GPU",
        ),
        backend::BackendChoice::Emu => (
            "cuda",
            "emu",
            "; the CUDA kernels' PTX in the emulator (vendor calls are skipped)",
        ),
        _ => ("cpu", "CPU", ""),
    };
    let specs = kernels::load_manifest(tree, manifest)?;
    let suite = build_suite(&specs, profile, &filter);
    if suite.is_empty() {
        return Err(Error::NoMatch(filter.as_str().unwrap_or("").to_string()));
    }
    for bench in &suite {
        println!("{}", bench.id);
    }
    eprintln!(
        "{} benchmarks ({name} backend, {} profile){status}",
        suite.len(),
        profile.name(),
    );
    Ok(())
}

fn info(tree: &KernelTree, args: InfoArgs) -> Result<()> {
    let cuda_line = match cuda::detect() {
        cuda::CudaStatus::Available { devices } => format!("{devices} device(s) found"),
        cuda::CudaStatus::Unavailable(why) => format!("unavailable ({why})"),
    };
    let compiler = cpu::CCompiler::detect();
    let hw = cpu::host_hardware(compiler.as_ref().ok().map(|c| c.identity()));
    // The emu backend's results go under its own key, built by NVRTC for its PTX.
    let mut emu = None;
    let backend_line = match backend::open(args.backend, tree) {
        Ok((b, notes)) => {
            let mut line = b.name().to_string();
            for note in notes {
                line.push_str(&format!(" ({note})"));
            }
            if b.name() == "emu" {
                emu = Some(b.hardware().clone());
            }
            line
        }
        Err(e) => format!("none: {e}"),
    };
    println!("backend:       {backend_line}");
    match &emu {
        Some(emu) => {
            println!("hardware key:  {} (this host: {})", emu.key, hw.key);
            println!(
                "ptx:           {}",
                emu.compiler
                    .as_deref()
                    .unwrap_or("no NVRTC: nothing to emulate")
            );
        }
        None => println!("hardware key:  {}", hw.key),
    }
    println!(
        "cpu:           {} ({} logical cores)",
        hw.cpu_model, hw.cpu_cores
    );
    if let Some(mem) = hw.memory_bytes {
        println!("memory:        {:.1} GiB", mem as f64 / (1u64 << 30) as f64);
    }
    println!("os:            {} {}", hw.os, hw.arch);
    match &compiler {
        Ok(c) => println!("c compiler:    {}", c.identity()),
        Err(e) => println!("c compiler:    {e}"),
    }
    println!("cuda:          {cuda_line}");
    cuda_toolkit_lines();
    if let Ok((b, _)) = backend::open(args.backend, tree)
        && let Some(gpu) = &b.hardware().gpu
    {
        println!(
            "gpu:           {} (sm {}, {} SMs)",
            gpu.name, gpu.compute_capability, gpu.sms
        );
        println!(
            "gpu memory:    {:.1} GiB, L2 {:.0} MiB, peak {:.0} GB/s ({} kHz × {} bit)",
            gpu.memory_bytes as f64 / (1u64 << 30) as f64,
            gpu.l2_bytes as f64 / (1u64 << 20) as f64,
            gpu.peak_bandwidth_bytes_per_s / 1e9,
            gpu.memory_clock_khz,
            gpu.bus_width_bits
        );
        println!(
            "gpu driver:    API {}, NVRTC {}, ECC {}, SM clock {} MHz, key {}",
            gpu.driver_api_version,
            gpu.nvrtc_version.as_deref().unwrap_or("not found"),
            if gpu.ecc { "on" } else { "off" },
            gpu.sm_clock_khz / 1000,
            b.hardware().key
        );
        println!(
            "host link:     {}",
            gpu.host_link_bytes_per_s.map_or(
                "unknown (NVML did not say): transfers get no % of peak".to_string(),
                |l| format!("{:.1} GB/s per direction (PCIe, from NVML)", l / 1e9)
            )
        );
    }
    println!("kernels:       {}", tree.describe());
    println!("kernel cache:  {}", cpu::cache_dir().display());
    println!("schema:        v{SCHEMA_VERSION}");
    Ok(())
}

/// The driver, and the NVRTC, headers and cuBLAS chosen for it: where each came from, why.
fn cuda_toolkit_lines() {
    let driver = cuda::driver_version();
    let driver_line = match driver {
        None => "none (no libcuda): NVRTC chosen for an offline compile".to_string(),
        Some(v) => {
            let version = crate::toolchain::choose::Version::from_api(v);
            match crate::toolchain::choose::driver_gate(v) {
                Ok(()) => format!("CUDA {version} (driver API {v})"),
                Err(why) => format!("CUDA {version}: {why}"),
            }
        }
    };
    println!("cuda driver:   {driver_line}");
    let toolkit = crate::toolchain::toolkit::Toolkit::discover(driver);
    let describe = |c: &crate::toolchain::choose::Choice| match &c.chosen {
        Some(f) => format!("{}: {}", f.describe(), c.reason),
        None => format!("none: {}", c.reason),
    };
    println!("nvrtc:         {}", describe(&toolkit.nvrtc));
    println!(
        "cuda headers:  {}",
        super::kernels::describe_choice(toolkit.headers.as_ref())
    );
    if let Some(crt) = &toolkit.crt {
        println!("cuda crt/:     {}", describe(crt));
    }
    println!("cublas:        {}", describe(&toolkit.cublas));
}

fn show(args: ShowArgs) -> Result<()> {
    let path = match args.run {
        Some(path) => path,
        None => store::find_runs(&args.results_dir)?.pop().ok_or_else(|| {
            Error::Usage(format!(
                "no stored runs in {} (run `orac run` first, or pass a run file)",
                args.results_dir.display()
            ))
        })?,
    };
    let record = store::load_run(&path)?;
    if args.format == ShowFormat::Markdown {
        println!("{}\n", report::run_header(&record));
        println!("{}", report::run_table_markdown(&record));
        return Ok(());
    }
    println!("{}", path.display());
    println!("{}", report::run_header(&record));
    // an `orac counters` record: its counts, not empty timing columns
    if record.benchmarks.iter().any(|b| b.counters.is_some()) {
        println!("{}", report::counters_table(&record.benchmarks));
        return Ok(());
    }
    println!(
        "{}",
        super::style::Paint::stdout().checks(&report::run_table(&record))
    );
    Ok(())
}

fn runs(args: RunsArgs) -> Result<()> {
    let paths = store::find_runs(&args.results_dir)?;
    if paths.is_empty() {
        eprintln!("no stored runs in {}", args.results_dir.display());
        return Ok(());
    }
    let runs = paths
        .into_iter()
        .map(|p| store::load_run(&p).map(|r| (p, r)))
        .collect::<Result<Vec<_>>>()?;
    println!("{}", report::runs_table(&runs));
    Ok(())
}
