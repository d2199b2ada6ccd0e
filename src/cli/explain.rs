//! `migfit explain fit|twopart DATA ...`: the same options as `fit` / `twopart`; fits once and
//! prints every coefficient's and effect's SE under the stata, r and statsmodels conventions
//! side by side, the ratio to Stata's and the factors behind it
//! (`migfit::analysis::explain`). JSON with `--format json`.

use super::fit::FitArgs;
use super::twopart::TwoPartArgs;
use super::{check_binary, DataArgs};
use clap::{Args, Subcommand};
use migfit::analysis::explain::Explanation;
use migfit::error::Result;
use migfit::io::write_output;
use migfit::options::{Context, Options};
use migfit::report::Format;
use std::path::PathBuf;

/// Why standard errors differ between Stata, R and statsmodels, on your model.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit explain fit examples/mroz/mroz.csv -f \"wage ~ educ + exper + I(exper^2) + age + city\" \\\n      -m glm --family gamma --link log --margins\n  migfit explain fit apiclus1.csv -f \"sch_wide ~ ell + meals\" -m probit --psu dnum --fpc fpc \\\n      --weights pw --weight-type pweight --format json"
)]
pub struct ExplainArgs {
    #[command(subcommand)]
    pub command: ExplainCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum ExplainCommand {
    /// Explain a `fit` (the same options as `migfit fit`).
    Fit(FitArgs),
    /// Explain a `twopart` (the same options as `migfit twopart`; each part's own variance).
    Twopart(TwoPartArgs),
}

pub fn run(args: ExplainArgs) -> Result<()> {
    let (data, options, output): (&DataArgs, Options, Option<PathBuf>) = match &args.command {
        ExplainCommand::Fit(a) => (&a.data, a.options(), a.est.report.output.clone()),
        ExplainCommand::Twopart(a) => (&a.data, a.options(), a.est.report.output.clone()),
    };
    let mut source = data.source();
    source.subsample = None;
    source.if_expr = None;
    let cfg = source.config()?;
    let resolved =
        options.resolve(&Context { schema: cfg.schema.as_ref(), margins_default: false, output: output.as_deref() })?;
    let format = resolved.table.format.unwrap_or(Format::Text);
    check_binary(format, output.as_deref())?;
    if format == Format::Summary {
        return Err(migfit::error::usage("explain prints a table or JSON, not the summary listing"));
    }
    let ds = resolved.rows.apply(source.load_config(cfg, resolved.variables())?)?;
    let mut all: Option<Explanation> = None;
    for (i, job) in resolved.jobs.iter().enumerate() {
        let mut e = job.explain(&ds)?;
        if resolved.jobs.len() > 1 {
            for m in &mut e.models {
                m.name = format!("model{}", i + 1);
            }
        }
        match &mut all {
            None => all = Some(e),
            Some(a) => a.models.extend(e.models),
        }
    }
    let e = all.ok_or_else(|| migfit::error::usage("explain needs a fit or twopart model"))?;
    let bytes = match format {
        Format::Json => migfit::output::to_json(&e).into_bytes(),
        f => migfit::report::table_bytes(
            &migfit::report::table::build_explain(&e, &resolved.table.table),
            f,
            resolved.table.standalone,
        )?,
    };
    match &output {
        Some(p) => migfit::io::write_atomic(p, &bytes),
        None => write_output(&String::from_utf8(bytes).expect("text formats are UTF-8"), None),
    }
}
