//! What a person reads: terminal tables of runs and unit formatting. Functions return
//! strings; only the CLI writes them out.

mod compare;
mod counters;
mod export;
mod history;
mod html;
mod peaks;
mod table;
mod units;

pub use compare::{
    CommentContext, MARKDOWN_LIMIT, MARKDOWN_MARKER, compare_markdown, compare_markdown_with,
    compare_table,
};
pub use counters::{
    counters_comparison_markdown, counters_comparison_table, counters_listing, counters_table,
    hotspots_listing, kernel_counters_table,
};
pub use export::{
    CSV_HEADER, GabTool, bencher_json, csv_rows, github_action_benchmark_json, tracker_left_out,
};
pub use history::history_text;
pub use html::{KeyReport, ReportFile, ReportMeta, report_files};
pub use peaks::{compute_peak, fraction_of_peak, fraction_of_reference, reference_for};
pub use table::{cell, cell_cut, run_header, run_table, run_table_markdown, runs_table};
pub use units::{format_bytes_per_s, format_flops, format_seconds};
