//! The CMDS-2018 study of direct settlement and willingness to stay (no published numbers):
//! the logit of stay intention with coefficients, odds ratios and AMEs, on the total sample,
//! by migration scope and by scheme group.

use super::{fit_with_margins, logit_spec, rows_at_level, Fitted, ModelRequest};
use crate::cli::reproduce::{ReproduceArgs, ReproduceFormat};
use crate::data::{Column, ColumnData, Dataset, Factor, Level, MISSING_CODE};
use crate::error::{usage, Result};
use crate::output::{self, Report};
use crate::simulate::{stay2018 as sim, xtile, RawTable};
use crate::vce::VceKind;

pub const RHS: &str = "C(direct_settlement) + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + scheme + scope + duration + region";
pub const DEFAULT_SEED: u64 = 20180501;

fn parse_field(s: &str, missing: &[f64]) -> f64 {
    let t = s.trim();
    if t.is_empty() || t == "." || t == "NA" || t == "不适用" {
        return f64::NAN;
    }
    match t.parse::<f64>() {
        Ok(v) if missing.contains(&v) => f64::NAN,
        Ok(v) => v,
        Err(_) => f64::NAN,
    }
}

fn code(v: f64, table: &[(&[i64], u32)]) -> u32 {
    if v.is_nan() {
        return MISSING_CODE;
    }
    table.iter().find(|(c, _)| c.contains(&(v as i64))).map_or(MISSING_CODE, |t| t.1)
}

/// Raw CMDS-2018 extract -> analysis dataset, mirroring `data-schema/cmds2018.toml`
/// (INTERIM until the schema loader is merged).
pub fn analysis_from_raw(raw: &RawTable, source: &str) -> Result<Dataset> {
    let col = |name: &str, missing: &[f64]| -> Result<Vec<f64>> {
        let j = raw.col(name).ok_or_else(|| usage(format!("{source}: no column '{name}' (cmds2018 layout)")))?;
        Ok(raw.rows.iter().map(|r| parse_field(&r[j], missing)).collect())
    };
    let scheme = col("q501", &[-1.0, 5.0, 6.0, 99.0])?;
    let keep: Vec<usize> = (0..raw.rows.len()).filter(|&i| !scheme[i].is_nan()).collect();
    let pick = |v: Vec<f64>| -> Vec<f64> { keep.iter().map(|&i| v[i]).collect() };
    let mut ds = Dataset::new(source, keep.iter().map(|&i| i as u64 + 2).collect());
    let mut push = |name: &str, data: ColumnData| ds.push(Column { name: name.into(), data, label: None });
    let fac = |codes: Vec<u32>, names: &[&str]| {
        ColumnData::Categorical(Factor { codes, levels: names.iter().map(|n| Level::new(*n)).collect(), reference: 0 })
    };
    let bin = |v: Vec<f64>, one: &[i64], zero: &[i64]| -> ColumnData {
        ColumnData::Numeric(
            v.into_iter()
                .map(|x| match code(x, &[(one, 1), (zero, 0)]) {
                    MISSING_CODE => f64::NAN,
                    c => c as f64,
                })
                .collect(),
        )
    };
    let sch = pick(scheme);
    push(
        "scheme",
        fac(
            sch.iter().map(|&v| code(v, &[(&[1], 0), (&[2], 1), (&[3], 2), (&[4], 3)])).collect(),
            &["NCMS", "URBMI", "URRBMI", "UEBMI"],
        ),
    );
    push(
        "scheme_group",
        fac(sch.iter().map(|&v| code(v, &[(&[1, 2, 3], 0), (&[4], 1)])).collect(), &["resident", "employee"]),
    );
    let prov = pick(col("prov", &[])?);
    let east: &[i64] = &[11, 12, 13, 21, 31, 32, 33, 35, 37, 44, 46];
    let central: &[i64] = &[14, 22, 23, 34, 36, 41, 42, 43];
    let west: &[i64] = &[15, 45, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 66];
    push(
        "region",
        fac(
            prov.iter().map(|&v| code(v, &[(east, 0), (central, 1), (west, 2)])).collect(),
            &["east", "central", "west"],
        ),
    );
    push("female", bin(pick(col("q101b", &[])?), &[2], &[1]));
    let age: Vec<f64> = pick(col("q101c", &[-1.0])?).iter().map(|b| 2018.0 - b).collect();
    push("age2", ColumnData::Numeric(age.iter().map(|a| a * a).collect()));
    push("age", ColumnData::Numeric(age));
    let edu = pick(col("q101e", &[-1.0, 99.0])?);
    push(
        "education",
        fac(
            edu.iter().map(|&v| code(v, &[(&[1, 2], 0), (&[3], 1), (&[4, 5], 2), (&[6, 7, 8], 3)])).collect(),
            &["primary_or_below", "junior_high", "senior_high", "college_plus"],
        ),
    );
    push("rural_hukou", bin(pick(col("q101f", &[-1.0, 99.0])?), &[1, 3], &[2, 4]));
    push("married", bin(pick(col("q101g", &[-1.0])?), &[2, 3], &[1, 4, 5, 6]));
    push("has_job", bin(pick(col("q201", &[-1.0])?), &[1], &[2]));
    let size = pick(col("q100", &[-1.0])?);
    let inc = pick(col("q214", &[-1.0])?);
    let pc: Vec<f64> = inc.iter().zip(&size).map(|(i, s)| i / s).collect();
    push(
        "income_q",
        fac(
            xtile(&pc, 5).iter().map(|g| g.map_or(MISSING_CODE, |g| g as u32)).collect(),
            &["Q1", "Q2", "Q3", "Q4", "Q5"],
        ),
    );
    let scope = pick(col("q301", &[-1.0])?);
    push(
        "scope",
        fac(
            scope.iter().map(|&v| code(v, &[(&[3], 0), (&[2], 1), (&[1], 2)])).collect(),
            &["within_city", "across_cities", "across_provinces"],
        ),
    );
    let ay = pick(col("q302a", &[-1.0])?);
    let am = pick(col("q302b", &[-1.0])?);
    push(
        "duration",
        fac(
            ay.iter()
                .zip(&am)
                .map(|(y, m)| {
                    let d = ((2018.0 - y) * 12.0 + (5.0 - m)) / 12.0;
                    if d.is_nan() {
                        MISSING_CODE
                    } else if d < 1.0 {
                        0
                    } else if d < 5.0 {
                        1
                    } else if d < 10.0 {
                        2
                    } else {
                        3
                    }
                })
                .collect(),
            &["lt1", "y1_4", "y5_9", "y10plus"],
        ),
    );
    let plan = pick(col("q401", &[-1.0])?);
    let len = pick(col("q402", &[-1.0])?);
    push(
        "stay_intention",
        ColumnData::Numeric(
            plan.iter()
                .zip(&len)
                .map(|(p, l)| {
                    if p.is_nan() {
                        f64::NAN
                    } else if *p == 1.0 {
                        if l.is_nan() {
                            f64::NAN
                        } else if [3.0, 4.0, 5.0].contains(l) {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        0.0
                    }
                })
                .collect(),
        ),
    );
    let place = pick(col("q502", &[-1.0, 99.0])?);
    let item = pick(col("q503", &[-1.0])?);
    push(
        "direct_settlement",
        ColumnData::Numeric(
            place
                .iter()
                .zip(&item)
                .map(|(p, i)| {
                    if *p == 1.0 {
                        1.0
                    } else if i.is_nan() {
                        f64::NAN
                    } else if *i == 1.0 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect(),
        ),
    );
    let ill = pick(col("q601", &[-1.0])?);
    let care = pick(col("q602", &[-1.0])?);
    push(
        "local_utilization",
        ColumnData::Numeric(
            ill.iter()
                .zip(&care)
                .map(|(i, c)| {
                    if *i == 1.0 {
                        if c.is_nan() {
                            f64::NAN
                        } else if *c == 1.0 {
                            1.0
                        } else {
                            0.0
                        }
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
        ),
    );
    Ok(ds)
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
    let (text, source) = match &args.data {
        Some(p) => (crate::cli::reproduce::read_text(p)?, p.display().to_string()),
        None => (
            sim::simulate(sim::DEFAULT_N, DEFAULT_SEED).to_csv(),
            format!(
                "synthetic extract (migfit simulate --study stay2018 --n {} --seed {DEFAULT_SEED})",
                sim::DEFAULT_N
            ),
        ),
    };
    let raw = RawTable::from_csv(&text, &source)?;
    let ds = analysis_from_raw(&raw, &source)?;
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
