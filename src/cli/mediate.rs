//! `migfit mediate`: how much of a treatment's effect on a binary outcome runs through
//! mediators (KHB decomposition, or natural direct and indirect effects).

use super::fit::{fill_rows, EstimationArgs};
use super::{write_output, DataArgs, ReportConfig};
use clap::Args;
use migfit::error::Result;
use migfit::options::{Context, Options};

/// Mediation for a binary outcome: the KHB decomposition of a probit/logit coefficient into
/// the part carried by the mediators and the rest (Karlson, Holm & Breen 2012; Stata's khb),
/// or natural direct and indirect effects (Imai, Keele & Tingley 2010; Stata's mediate).
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Examples:\n  migfit mediate examples/mroz/mroz.csv --outcome \"inlf ~ age + kidslt6\" --treatment \"C(city)\" \\\n      --mediators educ,nwifeinc -m logit\n\n  # KHB on the average-partial-effect scale, cluster-robust:\n  migfit mediate data.csv --outcome \"stay ~ age + C(female)\" --treatment \"C(direct)\" \\\n      --mediators local_use --ape --cluster city\n\n  # Natural direct and indirect effects (one mediator; binary or continuous):\n  migfit mediate data.csv --outcome \"stay ~ age\" --treatment direct --mediators local_use \\\n      --method causal -m probit --interaction"
)]
pub struct MediateArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// The binary outcome and the controls, "y ~ x1 + x2" ("y ~ 1": no controls).
    #[arg(long, value_name = "FORMULA")]
    pub outcome: String,
    /// The treatment: one formula term, e.g. `direct` or `C(scheme, ref=NCMS)`.
    #[arg(long, value_name = "TERM")]
    pub treatment: String,
    /// The mediators, comma-separated formula terms (KHB: several, C() allowed; causal: one).
    #[arg(long, value_name = "M1,M2", value_delimiter = ',', required = true)]
    pub mediators: Vec<String>,
    /// Outcome model: logit (default) or probit.
    #[arg(long, short = 'm', value_name = "MODEL", default_value = "logit")]
    pub model: String,
    /// khb (decomposition of the coefficient, default) or causal (natural direct and
    /// indirect effects on the probability).
    #[arg(long, value_name = "METHOD", default_value = "khb", value_parser = ["khb", "causal"])]
    pub method: String,
    /// KHB: also decompose the average partial effect (R khb's APE option).
    #[arg(long)]
    pub ape: bool,
    /// Causal: a treatment-by-mediator interaction in the outcome model.
    #[arg(long)]
    pub interaction: bool,
    #[command(flatten)]
    pub est: EstimationArgs,
}

impl MediateArgs {
    /// The options model of this command line.
    pub fn options(&self) -> Options {
        let MediateArgs { data, outcome, treatment, mediators, model, method, ape, interaction, est } = self;
        let mut o = Options {
            command: Some("mediate".into()),
            outcome: Some(outcome.clone()),
            treatment: Some(treatment.clone()),
            mediators: mediators.clone(),
            model: vec![model.clone()],
            method: Some(method.clone()),
            ape: *ape,
            interaction: *interaction,
            ..Options::default()
        };
        fill_rows(data, &mut o);
        est.fill(&mut o);
        o
    }
}

pub fn run(args: MediateArgs) -> Result<()> {
    let output = args.est.report.output.clone();
    let options = args.options();
    let mut source = args.data.source();
    // The row filters belong to the options (parsed once, applied after the load).
    source.subsample = None;
    source.if_expr = None;
    let hash = source.spawn_hash();
    let cfg = source.config()?;
    let resolved =
        options.resolve(&Context { schema: cfg.schema.as_ref(), margins_default: false, output: output.as_deref() })?;
    let ds = resolved.rows.apply(source.load_config(cfg, resolved.variables())?)?;
    let mediation = resolved.run_mediation(&ds)?;
    let report = migfit::mediate::MediationReport {
        migfit_version: migfit::VERSION.to_string(),
        command: "mediate".into(),
        data: ds.source.clone(),
        data_sha256: hash.join().ok().flatten(),
        mediation,
    };
    for n in &report.mediation.notes {
        eprintln!("migfit: note: {n}");
    }
    let cfg = ReportConfig::new(resolved.table, output);
    super::check_binary(cfg.format, cfg.output.as_deref())?;
    let bytes = migfit::report::render_mediation(&report, &cfg.table, cfg.format, cfg.standalone)?;
    match cfg.output.as_deref() {
        Some(p) => migfit::io::write_atomic(p, &bytes),
        None => write_output(&String::from_utf8(bytes).expect("text formats are UTF-8"), None),
    }
}
