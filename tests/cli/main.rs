//! The command-line, input and output suites in one test binary (one link instead of one per
//! file: issue #16, item 9). Each module is one former tests/<name>.rs.

mod snapshot;

mod batch_html;
mod by_groups;
mod cli_batch;
mod cli_deep_nesting;
mod cli_explain;
mod cli_fit;
mod cli_help;
mod cli_margins;
mod cli_mediate;
mod cli_report;
mod cli_survey;
mod cli_table3;
mod cli_twopart;
mod describe;
mod elasticities;
mod fuzz_loader;
mod hostile;
mod margins_vce;
mod office;
mod parquet_input;
mod postestimation;
mod predict;
mod report_html;
mod report_latex;
mod report_plot;
mod report_schema_labels;
mod report_snapshots;
mod reproduce_user_files;
mod schema_load;
mod studies;
mod table_snapshots;
mod validate_cli;
mod wild;
