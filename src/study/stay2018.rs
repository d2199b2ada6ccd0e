//! The CMDS-2018 study of direct settlement and willingness to stay (no published numbers):
//! the logit of stay intention with coefficients, odds ratios and AMEs, on the total sample,
//! by migration scope and by scheme group.

use super::{fit_with_margins, logit_spec, rows_at_level, Fitted, ModelRequest};
use crate::cli::reproduce::{ReproduceArgs, ReproduceFormat};
use crate::data::load::ReadOptions;
use crate::data::schema::Schema;
use crate::data::Dataset;
use crate::error::Result;
use crate::output::{self, Report};
use crate::simulate::stay2018 as sim;
use crate::vce::VceKind;

pub const RHS: &str = "C(direct_settlement) + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + scheme + scope + duration + region";
pub const DEFAULT_SEED: u64 = 20180501;

/// The schema of a CMDS-2018 extract (embedded; `reproduce --schema` reads an edited copy).
pub const SCHEMA_TOML: &str = include_str!("../../data-schema/cmds2018.toml");
pub const SCHEMA_PATH: &str = "data-schema/cmds2018.toml";

/// The analysis dataset of a raw CMDS-2018 extract held in memory as CSV text, through the
/// embedded schema.
pub fn analysis_from_csv(bytes: &[u8], display: &str) -> Result<Dataset> {
    let schema = Schema::parse(SCHEMA_TOML, SCHEMA_PATH).expect("the embedded schema is valid");
    super::load_extract(super::Extract::Csv { bytes, display }, &ReadOptions::default(), &schema)
}

/// The logit on the total sample and the subgroups.
pub fn estimate(ds: &Dataset) -> Result<Vec<(String, Fitted)>> {
    let formula = format!("stay_intention ~ {RHS}");
    let mut groups: Vec<(String, Option<Vec<bool>>)> = vec![("total".into(), None)];
    for l in ["within_city", "across_cities", "across_provinces"] {
        groups.push((format!("scope={l}"), Some(rows_at_level(ds, "scope", l)?)));
    }
    for l in ["resident", "employee"] {
        groups.push((format!("scheme_group={l}"), Some(rows_at_level(ds, "scheme_group", l)?)));
    }
    groups
        .into_iter()
        .map(|(name, restrict)| {
            let f = fit_with_margins(
                ds,
                ModelRequest {
                    name: name.clone(),
                    formula: &formula,
                    spec: logit_spec(),
                    restrict,
                    aweights: None,
                    vce: VceKind::Oim,
                    level: 95.0,
                },
            )?;
            Ok((name, f))
        })
        .collect()
}

/// `migfit reproduce stay2018`.
pub fn run_cli(args: &ReproduceArgs) -> Result<()> {
    let (ds, source) = crate::cli::reproduce::load_study_data(args, (SCHEMA_TOML, SCHEMA_PATH), || {
        (
            sim::simulate(sim::DEFAULT_N, DEFAULT_SEED).to_csv(),
            format!(
                "synthetic extract (migfit simulate --study stay2018 --n {} --seed {DEFAULT_SEED})",
                sim::DEFAULT_N
            ),
        )
    })?;
    let fits = estimate(&ds)?;
    let out = match args.format {
        ReproduceFormat::Json => output::to_json(&Report {
            migfit_version: crate::VERSION.to_string(),
            command: "reproduce stay2018".into(),
            data: source.clone(),
            models: fits.into_iter().map(|(_, f)| f.report).collect(),
            combined: None,
            data_sha256: None,
            variables: Vec::new(),
        }),
        ReproduceFormat::Text => {
            let mut s = format!("Direct settlement and willingness to stay (CMDS 2018): logit of stay intention\nData: {source}\nNo published numbers. Synthetic DGP: direct settlement adds {:.2} to the log-odds directly and more through local utilisation, which this model does not hold fixed (docs/calibration.md).\n", sim::STAY_DIRECT);
            let (_, total) = &fits[0];
            s.push_str(&format!(
                "\nTotal sample (N = {}): coefficients, odds ratios, average marginal effects\n",
                total.report.n_obs
            ));
            s.push_str(&format!(
                "{:<28} {:>9} {:>8} {:>9} {:>19} {:>9} {:>8}\n",
                "term", "coef", "(SE)", "OR", "OR 95% CI", "AME", "(SE)"
            ));
            for c in total.report.coefficients.iter() {
                let ame = total.ame(&c.term);
                s.push_str(&format!(
                    "{:<28} {:>9.4} {:>8} {:>9.4} {:>19} {:>9} {:>8}\n",
                    c.term,
                    c.estimate,
                    format!("({:.4})", c.std_error),
                    c.estimate.exp(),
                    format!("[{:.3}, {:.3}]", c.conf_low.exp(), c.conf_high.exp()),
                    ame.map(|m| format!("{:.4}", m.estimate)).unwrap_or_default(),
                    ame.map(|m| format!("({:.4})", m.std_error)).unwrap_or_default(),
                ));
            }
            s.push_str("\nDirect settlement by subgroup\n");
            s.push_str(&format!(
                "{:<32} {:>7} {:>9} {:>8} {:>9} {:>9} {:>8}\n",
                "sample", "N", "coef", "(SE)", "OR", "AME", "(SE)"
            ));
            for (name, f) in &fits {
                let t = "C(direct_settlement)[1]";
                let c = f.report.coefficients.iter().find(|c| c.term == t);
                let m = f.ame(t);
                if let (Some(c), Some(m)) = (c, m) {
                    s.push_str(&format!(
                        "{:<32} {:>7} {:>9.4} {:>8} {:>9.4} {:>9.4} {:>8}\n",
                        name,
                        f.report.n_obs,
                        c.estimate,
                        format!("({:.4})", c.std_error),
                        c.estimate.exp(),
                        m.estimate,
                        format!("({:.4})", m.std_error)
                    ));
                }
            }
            s.push_str("\nMediation through local utilisation (KHB decomposition): not implemented yet.\n");
            s
        }
    };
    crate::cli::write_output(&out, args.output.as_deref())
}
