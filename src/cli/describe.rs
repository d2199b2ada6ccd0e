//! `migfit describe DATA [--schema FILE] [--by VAR] [--subsample NAME]`: Table 1 and Table 2
//! of a study (n (%) and mean (SD), overall and by group, with chi-square and ANOVA p-values).

use super::DataArgs;
use clap::{Args, ValueEnum};
use migfit::data::describe::{describe, Options};
use migfit::data::schema::VarType;
use migfit::error::Result;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DescribeFormat {
    Text,
    Markdown,
    Csv,
    Json,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  # Table 1: sample characteristics by insurance group\n  migfit describe examples/wang2022/extract.csv --schema data-schema/cmds2014.toml --by scheme_group\n\n  # Table 2: outcomes by migration scope, with chi-square and ANOVA p-values, as Markdown\n  migfit describe examples/wang2022/extract.csv --schema data-schema/cmds2014.toml --by scope \\\n      --vars received,amount,ratio --format markdown -o table2.md"
)]
pub struct DescribeArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Group the columns by this (categorical or binary) variable and add p-values.
    #[arg(long, value_name = "VAR")]
    pub by: Option<String>,
    /// Variables to describe, in order (comma-separated); default: every numeric and
    /// categorical variable except identifiers and survey-design fields.
    #[arg(long, value_name = "VARS", value_delimiter = ',')]
    pub vars: Option<Vec<String>>,
    /// Leave out the p-values of a grouped table.
    #[arg(long)]
    pub no_tests: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DescribeFormat,
    /// Language of labels (variable and level labels from the schema, `label_zh` for zh;
    /// fixed words). JSON keeps the English labels.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "zh"])]
    pub lang: String,
    /// Write the table to a file (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

pub fn run(args: DescribeArgs) -> Result<()> {
    let cfg = args.data.source().config()?;
    // Column projection when the variables are named (by default every variable is described).
    let columns = args.vars.as_ref().map(|v| {
        let mut c = v.clone();
        c.extend(args.by.iter().filter(|b| !v.contains(b)).cloned());
        c
    });
    let ds = args.data.source().load_columns(columns)?;
    let mut exclude = Vec::new();
    if let Some(s) = &cfg.schema {
        for v in &s.variables {
            if v.var_type == VarType::Identifier {
                exclude.push(v.name.get_ref().clone());
            }
        }
        for f in [&s.design.weight, &s.design.strata, &s.design.psu, &s.design.fpc].into_iter().flatten() {
            exclude.push(f.clone());
        }
    }
    let opts = Options { vars: args.vars.clone(), by: args.by.clone(), tests: !args.no_tests, exclude };
    let table = describe(&ds, &opts).map_err(migfit::error::usage)?;
    let lang = migfit::report::Lang::parse(&args.lang)?;
    let text = match args.format {
        DescribeFormat::Text => migfit::report::describe::text(&table, lang),
        DescribeFormat::Markdown => migfit::report::describe::markdown(&table, lang),
        DescribeFormat::Csv => migfit::report::describe::csv(&table, lang),
        DescribeFormat::Json => migfit::report::describe::json(&table),
    };
    super::write_output(&text, args.output.as_deref())
}
