//! Turning variants into estimation jobs, running them, and reading tracked effects and
//! assertions off the results.

use super::spec::{AssertSpec, Options, Source, SpecFile, TrackSpec, Variant};
use crate::analysis::{Estimation, FitJob, Job, TwoPartJob};
use crate::data::{ColumnData, Dataset};
use crate::design::{SampleOptions, WeightType};
use crate::error::Result;
use crate::formula::Formula;
use crate::margins::At;
use crate::model::{ModelKind, ModelSpec, Scale};
use crate::output::Report;
use crate::inference::vce::VceKind;
use serde::Serialize;

/// Row filters of a variant, applied to the shared dataset before estimation.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// A subsample named in the schema (`--subsample`).
    pub subsample: Option<String>,
    /// A row condition in the schema expression language (`--if`), as typed.
    pub condition: Option<String>,
    /// Drop rows whose variable exceeds this quantile.
    pub trim: Option<(String, f64)>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.subsample.is_none() && self.condition.is_none() && self.trim.is_none()
    }

    /// Applies the filters exactly as `--subsample` and `--if` do on the command line (rows
    /// where the condition is false or missing are dropped, as Stata's `if`), then the trim.
    pub fn apply(&self, ds: &Dataset, data: &crate::data::source::DataSource) -> Result<Dataset> {
        let mut args = data.clone();
        args.subsample = self.subsample.clone();
        args.if_expr = self.condition.clone();
        let mut ds = args.config()?.filter(ds.clone())?;
        if let Some((var, q)) = &self.trim {
            let col = match ds.column(var).map(|c| &c.data) {
                Some(ColumnData::Numeric(v)) => v,
                _ => return Err(crate::error::usage(format!("trim: '{var}' is not a numeric column"))),
            };
            let mut vals: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
            vals.sort_by(f64::total_cmp);
            if !vals.is_empty() {
                let cut = crate::stats::pctile_sorted(&vals, *q);
                let keep: Vec<bool> = col.iter().map(|x| x.is_nan() || *x <= cut).collect();
                ds = ds.filter_rows(&keep);
            }
        }
        Ok(ds)
    }
}

fn get_str<'a>(o: &'a Options, k: &str) -> Option<(&'a str, usize)> {
    o.get(k).and_then(|v| v.get_ref().as_str().map(|s| (s, v.span().start)))
}

fn get_bool(o: &Options, k: &str) -> Option<bool> {
    o.get(k).and_then(|v| v.get_ref().as_bool())
}

/// Builds the job and filters of a variant, reporting bad values at their line in the spec.
pub fn job_of(v: &Variant, src: &Source) -> Result<(Job, Filters)> {
    let o = &v.options;
    let at = |k: &str| o.get(k).map_or(0, |x| x.span().start);
    let wrap = |k: &str, e: crate::Error| src.error(at(k), format!("variant '{}': {e}", v.name));
    let command = get_str(o, "command").map_or("fit", |s| s.0);
    let formula_text = get_str(o, "formula")
        .ok_or_else(|| src.error(0, format!("variant '{}': no formula in [base] or its axes", v.name)))?;
    let formula = Formula::parse(formula_text.0).map_err(|e| wrap("formula", e.into()))?;
    let weights = match (get_str(o, "weights"), get_str(o, "weight_type")) {
        (Some((w, _)), Some((t, _))) => {
            Some((w.to_string(), WeightType::parse(t).map_err(|e| wrap("weight_type", e))?))
        }
        (Some(_), None) => return Err(wrap("weights", crate::error::usage("weights need weight_type"))),
        _ => None,
    };
    let margins = match (get_bool(o, "margins").unwrap_or(true), get_str(o, "margins_at")) {
        (_, Some((s, _))) => Some(At::parse(Some(s)).map_err(|e| wrap("margins_at", e))?),
        (true, None) => Some(At::Average),
        (false, None) => None,
    };
    let level = o
        .get("level")
        .and_then(|x| x.get_ref().as_float().or(x.get_ref().as_integer().map(|i| i as f64)))
        .unwrap_or(95.0);
    // A survey design: any of strata, psu, fpc (the design's weight goes in weights, as pweight).
    let survey = crate::inference::survey::SurveySpec {
        strata: get_str(o, "strata").map(|s| s.0.to_string()),
        psu: get_str(o, "psu").map(|s| s.0.to_string()),
        fpc: get_str(o, "fpc").map(|s| s.0.to_string()),
        subpop: get_str(o, "subpop").map(|s| s.0.to_string()),
        singleunit: get_str(o, "singleunit")
            .map(|s| crate::inference::survey::SingleUnit::parse(s.0))
            .transpose()
            .map_err(|e| wrap("singleunit", e))?
            .unwrap_or_default(),
    };
    let survey = survey.defines_design().then_some(survey);
    let est = Estimation {
        vce: get_str(o, "vce").map(|s| VceKind::parse(s.0)).transpose().map_err(|e| wrap("vce", e))?,
        sample: SampleOptions {
            weights,
            cluster: get_str(o, "cluster").map(|s| s.0.to_string()),
            also_require: survey.as_ref().map(|s| s.columns()).unwrap_or_default(),
            ..Default::default()
        },
        level,
        margins,
        survey,
    };
    let scale = match o.get("scale").map(|x| x.get_ref()) {
        Some(toml::Value::String(s)) => Some(Scale::parse(s).map_err(|e| wrap("scale", e))?),
        Some(x) => Some(Scale::Fixed(x.as_float().or(x.as_integer().map(|i| i as f64)).unwrap_or(1.0))),
        None => None,
    };
    let max_iter = o.get("max_iter").and_then(|x| x.get_ref().as_integer()).map_or(100, |i| i as usize);
    let controls = |mut s: ModelSpec| {
        s.scale = scale;
        s.max_iter = max_iter;
        s
    };
    let job = match command {
        "fit" => {
            let kind = ModelKind::parse(get_str(o, "model").map_or("glm", |s| s.0)).map_err(|e| wrap("model", e))?;
            let spec = ModelSpec::new(kind, get_str(o, "family").map(|s| s.0), get_str(o, "link").map(|s| s.0))
                .map_err(|e| wrap("family", e))?;
            Job::Fit(
                FitJob::new(formula, controls(spec), get_bool(o, "odds_ratios").unwrap_or(false), est)
                    .map_err(|e| wrap("vce", e))?,
            )
        }
        "twopart" => {
            let first = match get_str(o, "first").map_or("probit", |s| s.0) {
                "probit" => ModelKind::Probit,
                "logit" => ModelKind::Logit,
                other => {
                    return Err(wrap(
                        "first",
                        crate::error::usage(format!("unknown first part '{other}' (expected probit or logit)")),
                    ))
                }
            };
            let mut first = controls(ModelSpec::new(first, None, None).map_err(|e| wrap("first", e))?);
            first.scale = None;
            let second = ModelSpec::new(
                ModelKind::Glm,
                Some(get_str(o, "family").map_or("gamma", |s| s.0)),
                Some(get_str(o, "link").map_or("log", |s| s.0)),
            )
            .map_err(|e| wrap("family", e))?;
            let formula2 = get_str(o, "formula2")
                .map(|s| Formula::parse_rhs(s.0))
                .transpose()
                .map_err(|e| wrap("formula2", e.into()))?;
            if let Some((r, _)) = get_str(o, "response2") {
                crate::formula::parse_expr(r).map_err(|e| wrap("response2", e.into()))?;
            }
            Job::TwoPart(
                TwoPartJob::new(
                    formula,
                    formula2,
                    get_str(o, "response2").map(|s| s.0.to_string()),
                    first,
                    controls(second),
                    get_bool(o, "joint_vce").unwrap_or(false),
                    est,
                )
                .map_err(|e| wrap("vce", e))?,
            )
        }
        other => {
            return Err(wrap(
                "command",
                crate::error::usage(format!("unknown command '{other}' (expected fit or twopart)")),
            ))
        }
    };
    let condition = match get_str(o, "if") {
        Some((s, _)) => {
            crate::data::expr::parse(s).map_err(|e| wrap("if", crate::error::usage(format!("if = \"{s}\": {e}"))))?;
            Some(s.to_string())
        }
        None => None,
    };
    let trim = match get_str(o, "trim") {
        Some((s, _)) => {
            let bad =
                || wrap("trim", crate::error::usage(format!("trim takes VAR:QUANTILE (e.g. amount:0.99), not '{s}'")));
            let (var, q) = s.split_once(':').ok_or_else(bad)?;
            let q: f64 = q.trim().parse().map_err(|_| bad())?;
            if !(0.0 < q && q < 1.0) {
                return Err(bad());
            }
            Some((var.trim().to_string(), q))
        }
        None => None,
    };
    Ok((job, Filters { subsample: get_str(o, "subsample").map(|s| s.0.to_string()), condition, trim }))
}

/// The outcome of one variant.
#[derive(Debug, Clone)]
pub struct VariantResult {
    pub variant: Variant,
    pub outcome: std::result::Result<Report, String>,
    /// Wall-clock seconds (only for run.log: not part of the reproducible output).
    pub seconds: f64,
}

/// One tracked effect in one variant: a row of `effects.csv`.
#[derive(Debug, Clone, Serialize)]
pub struct EffectRow {
    pub variant: String,
    pub values: indexmap::IndexMap<String, String>,
    pub track: String,
    pub term: String,
    pub part: String,
    pub statistic: String,
    /// `ok`, `missing` (the effect is not in this variant's results) or `failed`.
    pub status: String,
    pub estimate: Option<f64>,
    pub std_error: Option<f64>,
    pub p_value: Option<f64>,
    pub conf_low: Option<f64>,
    pub conf_high: Option<f64>,
}

/// The id of a track (its `id`, else its term).
pub fn track_id(t: &TrackSpec) -> String {
    t.id.clone().unwrap_or_else(|| t.term.get_ref().clone())
}

/// Checks the tracks and assertions of a spec against each other.
pub fn check_tracks(spec: &SpecFile, src: &Source) -> Result<()> {
    let mut ids: Vec<String> = Vec::new();
    for t in &spec.track {
        let id = track_id(t);
        if ids.contains(&id) {
            return Err(src.error(t.term.span().start, format!("track '{id}' is defined twice; give it an id")));
        }
        ids.push(id);
        if let Some(p) = &t.part {
            if !["model", "first", "second", "combined"].contains(&p.get_ref().as_str()) {
                return Err(src.error(
                    p.span().start,
                    format!("part '{}' (expected model, first, second or combined)", p.get_ref()),
                ));
            }
        }
        if let Some(s) = &t.statistic {
            if !["margin", "coef"].contains(&s.get_ref().as_str()) {
                return Err(src.error(s.span().start, format!("statistic '{}' (expected margin or coef)", s.get_ref())));
            }
        }
    }
    for a in &spec.asserts {
        if !ids.contains(a.track.get_ref()) {
            return Err(src.error(
                a.track.span().start,
                format!("assertion on unknown track '{}' (tracks: {})", a.track.get_ref(), ids.join(", ")),
            ));
        }
        match a.rule.get_ref().as_str() {
            "sign_stable" => {}
            "significant" => {
                if a.level.is_some_and(|l| !(0.0 < l && l < 1.0)) || a.share.is_some_and(|s| !(0.0..=1.0).contains(&s))
                {
                    return Err(
                        src.error(a.rule.span().start, "significant: level must be in (0, 1) and share in [0, 1]")
                    );
                }
            }
            "within" => match &a.interval {
                Some(iv) if iv.get_ref().len() == 2 && iv.get_ref()[0] <= iv.get_ref()[1] => {}
                Some(iv) => {
                    return Err(src.error(iv.span().start, "within: interval must be [low, high] with low <= high"))
                }
                None => return Err(src.error(a.rule.span().start, "within needs interval = [low, high]")),
            },
            "close_to" => {
                if a.reference.is_none() || a.tolerance.is_none_or(|t| !(t >= 0.0)) {
                    return Err(
                        src.error(a.rule.span().start, "close_to needs reference = \"variant\" and tolerance >= 0")
                    );
                }
            }
            other => {
                return Err(src.error(
                    a.rule.span().start,
                    format!("unknown rule '{other}' (expected sign_stable, significant, within or close_to)"),
                ))
            }
        }
    }
    Ok(())
}

/// Reads every tracked effect off every variant.
pub fn effect_rows(results: &[VariantResult], tracks: &[TrackSpec]) -> Vec<EffectRow> {
    let mut rows = Vec::new();
    for r in results {
        for t in tracks {
            let statistic = t.statistic.as_ref().map_or("margin", |s| s.get_ref().as_str()).to_string();
            let mut row = EffectRow {
                variant: r.variant.name.clone(),
                values: r.variant.values.iter().cloned().collect(),
                track: track_id(t),
                term: t.term.get_ref().clone(),
                part: String::new(),
                statistic: statistic.clone(),
                status: "failed".into(),
                estimate: None,
                std_error: None,
                p_value: None,
                conf_low: None,
                conf_high: None,
            };
            if let Ok(rep) = &r.outcome {
                let default_part = if rep.command == "twopart" { "combined" } else { "model" };
                let part = t.part.as_ref().map_or(default_part, |p| p.get_ref().as_str()).to_string();
                row.part = part.clone();
                let found = if part == "combined" {
                    rep.combined
                        .as_ref()
                        .and_then(|c| c.margins.iter().find(|m| &m.term == t.term.get_ref()))
                        .map(|m| (m.estimate, m.std_error, m.p_value, m.conf_low, m.conf_high))
                } else {
                    rep.models.iter().find(|m| m.name == part).and_then(|m| {
                        if statistic == "coef" {
                            m.coefficients
                                .iter()
                                .find(|c| &c.term == t.term.get_ref())
                                .map(|c| (c.estimate, c.std_error, c.p_value, c.conf_low, c.conf_high))
                        } else {
                            m.margins
                                .iter()
                                .find(|c| &c.term == t.term.get_ref())
                                .map(|c| (c.estimate, c.std_error, c.p_value, c.conf_low, c.conf_high))
                        }
                    })
                };
                match found {
                    Some((e, s, p, lo, hi)) => {
                        row.status = "ok".into();
                        row.estimate = Some(e);
                        row.std_error = Some(s);
                        row.p_value = Some(p);
                        row.conf_low = Some(lo);
                        row.conf_high = Some(hi);
                    }
                    None => row.status = "missing".into(),
                }
            }
            rows.push(row);
        }
    }
    rows
}

/// The outcome of one assertion.
#[derive(Debug, Clone, Serialize)]
pub struct AssertOutcome {
    pub name: String,
    pub track: String,
    pub rule: String,
    pub passed: bool,
    /// One sentence with the numbers.
    pub detail: String,
    /// The variants that break the rule, with their numbers.
    pub offending: Vec<String>,
}

fn fmt(v: f64) -> String {
    format!("{v:.6}")
}

/// Evaluates the assertions over the successful variants.
pub fn evaluate(asserts: &[AssertSpec], rows: &[EffectRow]) -> Vec<AssertOutcome> {
    asserts
        .iter()
        .map(|a| {
            let track = a.track.get_ref();
            let rule = a.rule.get_ref().as_str();
            let vals: Vec<&EffectRow> = rows
                .iter()
                .filter(|r| &r.track == track)
                .filter(|r| a.variants.as_deref().is_none_or(|p| super::spec::glob_match(p, &r.variant)))
                .collect();
            let ok: Vec<&EffectRow> = vals.iter().copied().filter(|r| r.status == "ok").collect();
            let not_ok: Vec<String> =
                vals.iter().filter(|r| r.status != "ok").map(|r| format!("{} ({})", r.variant, r.status)).collect();
            let name = a.name.clone().unwrap_or_else(|| match &a.variants {
                Some(p) => format!("{track}: {rule} ({p})"),
                None => format!("{track}: {rule}"),
            });
            let (passed, detail, mut offending) = match rule {
                "sign_stable" => {
                    let pos = ok.iter().filter(|r| r.estimate.unwrap() > 0.0).count();
                    let neg = ok.iter().filter(|r| r.estimate.unwrap() < 0.0).count();
                    let minority_positive = pos <= neg;
                    let off: Vec<String> = ok
                        .iter()
                        .filter(|r| {
                            let e = r.estimate.unwrap();
                            e == 0.0 || (minority_positive && e > 0.0) || (!minority_positive && e < 0.0)
                        })
                        .map(|r| format!("{} = {}", r.variant, fmt(r.estimate.unwrap())))
                        .collect();
                    (
                        off.is_empty() && !ok.is_empty(),
                        format!("{pos} positive and {neg} negative estimates in {} variants", ok.len()),
                        off,
                    )
                }
                "significant" => {
                    let level = a.level.unwrap_or(0.05);
                    let share = a.share.unwrap_or(1.0);
                    let sig = ok.iter().filter(|r| r.p_value.unwrap() < level).count();
                    let got = if ok.is_empty() { 0.0 } else { sig as f64 / ok.len() as f64 };
                    let off = ok
                        .iter()
                        .filter(|r| r.p_value.unwrap() >= level)
                        .map(|r| format!("{}: p = {}", r.variant, fmt(r.p_value.unwrap())))
                        .collect();
                    (
                        !ok.is_empty() && got + 1e-12 >= share,
                        format!(
                            "{sig} of {} variants significant at {level} (share {:.3}, required {share})",
                            ok.len(),
                            got
                        ),
                        off,
                    )
                }
                "within" => {
                    let iv = a.interval.as_ref().expect("checked").get_ref();
                    let (lo, hi) = (iv[0], iv[1]);
                    let off: Vec<String> = ok
                        .iter()
                        .filter(|r| !(lo..=hi).contains(&r.estimate.unwrap()))
                        .map(|r| format!("{} = {}", r.variant, fmt(r.estimate.unwrap())))
                        .collect();
                    (
                        off.is_empty() && !ok.is_empty(),
                        format!("{} of {} estimates within [{lo}, {hi}]", ok.len() - off.len(), ok.len()),
                        off,
                    )
                }
                _ => {
                    let reference = a.reference.as_ref().expect("checked").get_ref();
                    let tol = a.tolerance.expect("checked");
                    match ok.iter().find(|r| &r.variant == reference) {
                        None => (false, format!("the reference variant '{reference}' has no estimate"), vec![]),
                        Some(rf) => {
                            let e0 = rf.estimate.unwrap();
                            let off: Vec<String> = ok
                                .iter()
                                .filter(|r| (r.estimate.unwrap() - e0).abs() > tol)
                                .map(|r| {
                                    format!(
                                        "{} = {} (difference {})",
                                        r.variant,
                                        fmt(r.estimate.unwrap()),
                                        fmt(r.estimate.unwrap() - e0)
                                    )
                                })
                                .collect();
                            (
                                off.is_empty(),
                                format!(
                                    "{} of {} estimates within {tol} of {reference} ({})",
                                    ok.len() - off.len(),
                                    ok.len(),
                                    fmt(e0)
                                ),
                                off,
                            )
                        }
                    }
                }
            };
            offending.extend(not_ok.iter().map(|s| format!("{s}: not evaluated")));
            AssertOutcome { name, track: track.clone(), rule: rule.to_string(), passed, detail, offending }
        })
        .collect()
}
