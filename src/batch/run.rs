//! Turning variants into estimation jobs, running them, and reading tracked effects and
//! assertions off the results.

use super::spec::{AssertSpec, Source, SpecFile, TrackSpec, Variant};
use crate::data::schema::Schema;
use crate::error::Result;
use crate::mediate::{Estimate, Mediation};
use crate::options::{Context, Options, Resolved};
use crate::report::combine::Saved;
use serde::{Deserialize, Serialize};

/// Builds the jobs and row filters of a variant through the options model (the same as the
/// command line's), reporting a bad value at its line in the spec. `schema` is the `[data]`
/// schema, read once for the whole run.
pub fn job_of(v: &Variant, src: &Source, schema: Option<&Schema>) -> Result<Resolved> {
    let o = &v.options;
    let at = |k: &str| o.get(k).map_or(0, |x| x.span().start);
    let mediate = o.get("command").is_some_and(|c| c.get_ref().as_str() == Some("mediate"));
    let model_key = if mediate { "outcome" } else { "formula" };
    if !o.contains_key(model_key) {
        return Err(src.error(0, format!("variant '{}': no {model_key} in [base] or its axes", v.name)));
    }
    if schema.is_none() && o.contains_key("subsample") {
        return Err(
            src.error(at("subsample"), format!("variant '{}' uses a subsample, but [data] declares no schema", v.name))
        );
    }
    let mut table: toml::Table = o.iter().map(|(k, x)| (k.clone(), x.get_ref().clone())).collect();
    // `{variant}` in a file name stands for the variant's (file-name-safe) name, so that one
    // `save_reps` in `[base]` gives every variant its own file.
    for key in ["save_reps", "save_weights"] {
        if let Some(toml::Value::String(f)) = table.get_mut(key) {
            *f = f.replace("{variant}", &super::render::slug(&v.name));
        }
    }
    // Each value's type was checked at its line (`spec::expand`); what is left is rare.
    let options = Options::deserialize(toml::Value::Table(table)).map_err(|e| {
        src.error(0, format!("variant '{}': {}", v.name, crate::error::plain_toml_message(&e.to_string())))
    })?;
    options
        .resolve(&Context { schema, margins_default: true, output: None })
        .map_err(|e| src.error(at(e.key), format!("variant '{}': {}", v.name, e.error)))
}

/// Refuses two variants that would write their bootstrap replicates to one file (the last
/// to finish would replace the others'), at the line that sets the file.
pub fn distinct_save_reps(variants: &[Variant], jobs: &[Resolved], src: &Source) -> Result<()> {
    let mut seen: Vec<(&std::path::Path, &str)> = Vec::new();
    for (v, job) in variants.iter().zip(jobs) {
        for j in &job.jobs {
            let Some(b) = j.est().bootstrap.as_ref() else { continue };
            for (key, path) in [("save_reps", b.save.as_deref()), ("save_weights", b.save_weights.as_deref())] {
                let Some(path) = path else { continue };
                if let Some((_, other)) = seen.iter().find(|(p, _)| *p == path) {
                    let at = v.options.get(key).map_or(0, |x| x.span().start);
                    return Err(src.error(
                        at,
                        format!(
                            "variants '{other}' and '{}' would both write their replicates to '{}'; put {{variant}} in the name ({key} = \"reps-{{variant}}.csv\")",
                            v.name,
                            path.display()
                        ),
                    ));
                }
                seen.push((path, &v.name));
            }
        }
    }
    Ok(())
}

/// The outcome of one variant.
#[derive(Debug, Clone)]
pub struct VariantResult {
    pub variant: Variant,
    pub outcome: std::result::Result<crate::report::combine::Saved, String>,
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

/// Checks the tracks and assertions of a spec against each other and against the variants
/// (a `close_to` reference must be one of them): spec errors, before anything runs.
pub fn check_tracks(spec: &SpecFile, src: &Source, variants: &[super::spec::Variant]) -> Result<()> {
    let mut ids: Vec<String> = Vec::new();
    for t in &spec.track {
        let id = track_id(t);
        if ids.contains(&id) {
            return Err(src.error(t.term.span().start, format!("track '{id}' is defined twice; give it an id")));
        }
        ids.push(id);
        if let Some(p) = &t.part {
            // `modelN`: the N-th of several models of a `fit` (formula or response lists).
            let numbered = p.get_ref().strip_prefix("model").is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n > 0));
            if !numbered && !["model", "first", "second", "combined", "mediation"].contains(&p.get_ref().as_str()) {
                return Err(src.error(
                    p.span().start,
                    format!(
                        "part '{}' (expected model, model1, model2, ..., first, second, combined or mediation)",
                        p.get_ref()
                    ),
                ));
            }
        }
        if let Some(s) = &t.statistic {
            if !["margin", "coef"].contains(&s.get_ref().as_str())
                && !MEDIATION_STATISTICS.contains(&s.get_ref().as_str())
            {
                return Err(src.error(
                    s.span().start,
                    format!(
                        "statistic '{}' (expected margin or coef; for a mediate variant also {})",
                        s.get_ref(),
                        MEDIATION_STATISTICS.join(", ")
                    ),
                ));
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
                let reference = a.reference.as_ref().expect("checked above");
                if !variants.iter().any(|v| &v.name == reference.get_ref()) {
                    let names: Vec<&str> = variants.iter().take(20).map(|v| v.name.as_str()).collect();
                    let more = if variants.len() > 20 { ", ..." } else { "" };
                    return Err(src.error(
                        reference.span().start,
                        format!(
                            "close_to: reference = \"{}\" is not a variant of this spec (variants: {}{more})",
                            reference.get_ref(),
                            names.join(", ")
                        ),
                    ));
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
            let found = match &r.outcome {
                Err(_) => None,
                Ok(Saved::Mediation(m)) => {
                    row.part = t.part.as_ref().map_or("mediation", |p| p.get_ref().as_str()).to_string();
                    Some(mediation_effect(&m.mediation, t.term.get_ref(), &statistic))
                }
                Ok(Saved::Model(rep)) => {
                    let default_part = if rep.command == "twopart" { "combined" } else { "model" };
                    let part = t.part.as_ref().map_or(default_part, |p| p.get_ref().as_str()).to_string();
                    row.part = part.clone();
                    Some(if part == "combined" {
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
                    })
                }
            };
            if let Some(found) = found {
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

/// The statistics a track of a `mediate` variant reads (`statistic`): KHB's coefficients of
/// the treatment term (`reduced`, `full`, `difference`, `naive`) and their APE scale
/// (`ape_reduced`, `ape_full`, `ape_difference`); causal mediation's effects (`nde`, `nie`,
/// `total`, `proportion_mediated`) of the treatment. `margin` (the default) is the mediated
/// part: KHB's `difference`, causal `nie`.
pub const MEDIATION_STATISTICS: [&str; 11] = [
    "reduced",
    "full",
    "difference",
    "naive",
    "ape_reduced",
    "ape_full",
    "ape_difference",
    "nde",
    "nie",
    "total",
    "proportion_mediated",
];

/// One tracked number of a mediation: `term` is a KHB treatment column (`C(city)[1]`, or the
/// treatment's name for a numeric one) or, for causal mediation, the treatment.
fn mediation_effect(m: &Mediation, term: &str, statistic: &str) -> Option<(f64, f64, f64, f64, f64)> {
    let pick = |e: &Estimate| (e.estimate, e.std_error, e.p_value, e.conf_low, e.conf_high);
    if let Some(k) = &m.khb {
        let e = k.effects.iter().find(|e| e.term == term)?;
        return match statistic {
            "reduced" => Some(pick(&e.reduced)),
            "full" => Some(pick(&e.full)),
            "difference" | "margin" => Some(pick(&e.difference)),
            "naive" => Some(pick(&e.naive)),
            "ape_reduced" => e.ape.as_ref().map(|a| pick(&a.reduced)),
            "ape_full" => e.ape.as_ref().map(|a| pick(&a.full)),
            "ape_difference" => e.ape.as_ref().map(|a| pick(&a.difference)),
            _ => None,
        };
    }
    let c = m.causal.as_ref()?;
    if term != m.treatment {
        return None;
    }
    match statistic {
        "nde" => Some(pick(&c.nde)),
        "nie" | "margin" => Some(pick(&c.nie)),
        "total" => Some(pick(&c.total)),
        "proportion_mediated" => Some(pick(&c.proportion_mediated)),
        _ => None,
    }
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
