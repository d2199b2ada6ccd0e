//! `migfit table`: one publication table from the JSON results of earlier runs (Stata's
//! `esttab` / `etable`), in any table format.

use clap::Args;
use migfit::error::{usage, Result};
use migfit::report::combine::{combine, read_result, CombineOptions};
use migfit::report::{Format, Lang, Layout, Show, Stars, TableOptions};
use std::path::PathBuf;

/// Combine saved results (JSON of fit, twopart, mediate or a batch variant) into one table.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit fit data.csv --schema s.toml --subsample ncms --margins -f ... -o ncms.json\n  migfit fit data.csv --schema s.toml --subsample urban --margins -f ... -o urban.json\n  # The two subsamples side by side, only the migration-scope rows (a paper's Table 4):\n  migfit table ncms.json urban.json --columns \"NCMS,URBMI+UEBMI\" --keep scope --show margins -o table4.docx"
)]
pub struct TableArgs {
    /// Saved results: the JSON of `migfit fit`/`twopart`/`mediate` (`-o r.json`) or a batch run's
    /// `variants/NAME.json`.
    #[arg(required = true, value_name = "RESULT.json")]
    pub results: Vec<PathBuf>,
    /// Write to FILE (its extension chooses the format: .txt .md .tex .csv .html .docx .xlsx
    /// .typ); standard output otherwise.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Output format (text, md, latex, csv, html, docx, xlsx, typst); default from -o.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Keep only these rows: terms (`age`, `scope[across_provinces]`), variables (a factor
    /// keeps all its levels) or row labels; comma-separated or repeated.
    #[arg(long, value_name = "TERMS", value_delimiter = ',')]
    pub keep: Vec<String>,
    /// Drop these rows (same names as --keep).
    #[arg(long, value_name = "TERMS", value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Put these rows (or variables) first, in this order.
    #[arg(long, value_name = "TERMS", value_delimiter = ',')]
    pub order: Vec<String>,
    /// Relabel a row (a term or label) or a factor's header (its variable): "old=new";
    /// repeat for several.
    #[arg(long, value_name = "OLD=NEW")]
    pub rename: Vec<String>,
    /// Column titles: one per column, or one per result file (a title over its columns).
    #[arg(long, value_name = "T1,T2", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// What the cells hold: coef, margins or or (odds ratios of logit models).
    #[arg(long, value_name = "WHAT", default_value = "coef", value_parser = ["coef", "margins", "or"])]
    pub show: String,
    /// Summary rows, in order: n, ll, r2 (comma-separated); "none" for none. Default: all.
    #[arg(long, value_name = "STATS")]
    pub stats: Option<String>,
    /// Standard errors under the estimates (stacked) or beside them (side).
    #[arg(long, value_name = "LAYOUT", default_value = "stacked", value_parser = ["stacked", "side"])]
    pub layout: String,
    /// Language of labels and fixed words.
    #[arg(long, value_name = "LANG", default_value = "en", value_parser = ["en", "zh"])]
    pub lang: String,
    /// Star thresholds for p-values; "none" for no stars.
    #[arg(long, value_name = "P,...", default_value = "0.01,0.05")]
    pub stars: String,
    /// Decimals of estimates and standard errors.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub digits: usize,
    /// Table caption.
    #[arg(long, value_name = "TEXT")]
    pub caption: Option<String>,
}

pub fn run(args: TableArgs) -> Result<()> {
    let format = match (&args.format, &args.output) {
        (Some(f), _) => Format::parse(f)?,
        (None, Some(p)) => Format::from_path(p).ok_or_else(|| {
            usage(format!(
                "cannot tell the format from the name '{}': use .txt, .md, .tex, .csv, .html, .docx, .xlsx or .typ, or give --format",
                p.display()
            ))
        })?,
        (None, None) => Format::Text,
    };
    if matches!(format, Format::Json | Format::Summary) {
        return Err(usage(
            "migfit table writes tables (text, md, latex, csv, html, docx, xlsx, typst), not json or summary",
        ));
    }
    super::check_binary(format, args.output.as_deref())?;
    if args.digits > 12 {
        return Err(usage(format!("--digits must be at most 12, not {}", args.digits)));
    }
    let mut rename = Vec::new();
    for r in &args.rename {
        let (a, b) = r.split_once('=').ok_or_else(|| usage(format!("--rename takes \"old=new\", not '{r}'")))?;
        rename.push((a.trim().to_string(), b.trim().to_string()));
    }
    let stats = args.stats.as_deref().map(|s| {
        if s.trim() == "none" {
            Vec::new()
        } else {
            s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
        }
    });
    let opts = TableOptions {
        layout: Layout::parse(&args.layout)?,
        show: Show::parse(&args.show)?,
        stars: Stars::parse(&args.stars)?,
        digits: args.digits,
        lang: Lang::parse(&args.lang)?,
        titles: Vec::new(),
        caption: args.caption.clone(),
        stats: Vec::new(),
    };
    let copts = CombineOptions {
        columns: args.columns.iter().map(|c| c.trim().to_string()).collect(),
        keep: args.keep.clone(),
        drop: args.drop.clone(),
        order: args.order.clone(),
        rename,
        stats,
    };
    let mut results = Vec::new();
    for p in &args.results {
        let (report, variant) = read_result(p)?;
        results.push((p.display().to_string(), report, variant));
    }
    let table = combine(&results, &opts, &copts)?;
    let bytes = migfit::report::table_bytes(&table, format, false)?;
    match &args.output {
        Some(p) => migfit::io::write_atomic(p, &bytes),
        None => super::write_output(&String::from_utf8(bytes).expect("text formats are UTF-8"), None),
    }
}
