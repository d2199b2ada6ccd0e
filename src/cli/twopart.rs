//! `migfit twopart`: a two-part model (binary participation + GLM on the positives) with
//! marginal effects for each part and for the combined E[y].

use super::fit::{prediction_name, EstimationArgs};
use super::DataArgs;
use crate::error::{usage, Result};
use crate::formula::Formula;
use crate::margins::{self, PartEval, Target};
use crate::model::twopart::{fit_twopart, joint_vce, TwoPartRequest};
use crate::model::{ModelKind, ModelSpec};
use crate::output::{Combined, ModelReport, Report};
use crate::vce::{self, VceKind};
use clap::Args;

/// Fit a two-part model: Pr(y > 0) by probit or logit on every row, E[y | y > 0] by a GLM on
/// the positive rows, and E[y] = Pr(y > 0) E[y | y > 0].
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Example:\n  migfit twopart examples/mroz.csv --formula \"hours ~ age + educ + kidslt6 + C(city)\" \\\n      --first probit --family gamma --link log --margins --vce robust"
)]
pub struct TwoPartArgs {
    #[command(flatten)]
    pub data: DataArgs,
    /// Formula of the first part, "y ~ x1 + x2" (y is the outcome; the first part models y > 0).
    #[arg(long, short = 'f')]
    pub formula: String,
    /// Regressors of the second part, "~ x1 + x3" (default: those of --formula).
    #[arg(long)]
    pub formula2: Option<String>,
    /// First part: probit (default) or logit.
    #[arg(long, default_value = "probit")]
    pub first: String,
    /// Second-part GLM family (default gamma).
    #[arg(long, default_value = "gamma")]
    pub family: String,
    /// Second-part GLM link (default log).
    #[arg(long, default_value = "log")]
    pub link: String,
    /// Response of the second part as an expression of the data, e.g. "log(y)" (default: y).
    #[arg(long)]
    pub response2: Option<String>,
    /// Joint variance of both parts from stacked scores (Stata's twopm ..., suest): robust, or
    /// cluster-robust with --cluster. Default: block-diagonal, each part with --vce.
    #[arg(long)]
    pub joint_vce: bool,
    #[command(flatten)]
    pub est: EstimationArgs,
}

pub fn run(args: TwoPartArgs) -> Result<()> {
    let config = args.est.check()?;
    let hash = args.data.spawn_hash();
    let first_kind = match args.first.as_str() {
        "probit" => ModelKind::Probit,
        "logit" => ModelKind::Logit,
        other => {
            return Err(usage(format!(
                "unknown --first '{other}' (expected probit or logit)"
            )))
        }
    };
    let mut first = ModelSpec::new(first_kind, None, None)?;
    let mut second = ModelSpec::new(ModelKind::Glm, Some(&args.family), Some(&args.link))?;
    args.est.apply(&mut first)?;
    args.est.apply(&mut second)?;
    first.scale = None;
    let formula = Formula::parse(&args.formula)?;
    let formula2 = args
        .formula2
        .as_deref()
        .map(Formula::parse_rhs)
        .transpose()?;
    let ds = args.data.load()?;
    let opts = args.est.sample_options()?;
    let kind = args.est.vce_kind(opts.weights.as_ref().map(|w| w.1))?;
    let req = TwoPartRequest {
        formula: &formula,
        formula2: formula2.as_ref(),
        response2: args.response2.as_deref(),
        first,
        second,
    };
    let tp = fit_twopart(&ds, &req, &opts)?;
    // Variances: each part's own (block-diagonal), or the blocks of the joint sandwich.
    let joint = if args.joint_vce {
        let jk = if kind == VceKind::Cluster {
            VceKind::Cluster
        } else {
            VceKind::Robust
        };
        Some(joint_vce(&tp, jk)?)
    } else {
        None
    };
    let (v1, v2) = match &joint {
        Some((m, desc)) => {
            let k1 = tp.first.beta.len();
            let block = |a: usize, b: usize, part: &str| vce::Vce {
                kind: if kind == VceKind::Cluster {
                    VceKind::Cluster
                } else {
                    VceKind::Robust
                },
                matrix: m.slice(ndarray::s![a..b, a..b]).to_owned(),
                description: format!("{part} block of the joint variance. {desc}"),
                factor: 1.0,
                n_clusters: tp
                    .first
                    .design
                    .clusters
                    .as_ref()
                    .map(|_| tp.first.design.n_clusters),
            };
            (
                block(0, k1, "First-part"),
                block(k1, m.nrows(), "Second-part"),
            )
        }
        None => (
            vce::compute(&tp.first, kind)?,
            vce::compute(&tp.second, kind)?,
        ),
    };
    for n in tp.first.notes.iter().chain(&tp.second.notes) {
        eprintln!("migfit: note: {n}");
    }
    let level = args.est.level;
    let f1_text = format!("{} ~ {}", tp.first.design.response, rhs_text(&args.formula));
    let rhs2 = args
        .formula2
        .as_deref()
        .map(rhs_text)
        .unwrap_or_else(|| rhs_text(&args.formula));
    let f2_text = format!("{} ~ {}", tp.second.design.response, rhs2);
    let mut m1 = ModelReport::new("first", &f1_text, &tp.first, &v1, level, false);
    let mut m2 = ModelReport::new("second", &f2_text, &tp.second, &v2, level, false);
    let mut combined = None;
    if let Some(at) = args.est.margins_at()? {
        let p1 = PartEval {
            x: tp.first.design.x.view(),
            spec: &tp.first.design.spec,
            beta: &tp.first.beta,
            link: tp.first.spec.link,
        };
        let p2 = PartEval {
            x: tp.second.design.x.view(),
            spec: &tp.second.design.spec,
            beta: &tp.second.beta,
            link: tp.second.spec.link,
        };
        let r1 = margins::compute(
            &[p1],
            Target::Mean(0),
            tp.first.design.weights.as_deref(),
            &at,
            &v1.matrix,
            level,
        )?;
        let r2 = margins::compute(
            &[p2],
            Target::Mean(0),
            tp.second.design.weights.as_deref(),
            &at,
            &v2.matrix,
            level,
        )?;
        m1.margins_description = Some(format!(
            "{} Prediction: {} on all {} rows.",
            r1.description,
            prediction_name(&tp.first),
            tp.first.design.n()
        ));
        m2.margins_description = Some(format!(
            "{} Prediction: E[{} | {} > 0] on the {} positive rows.",
            r2.description,
            tp.second.design.response,
            formula
                .response
                .as_ref()
                .map(|r| r.1.as_str())
                .unwrap_or("y"),
            tp.second.design.n()
        ));
        m1.margins = r1.margins;
        m2.margins = r2.margins;
        m1.notes.extend(r1.notes);
        m2.notes.extend(r2.notes);

        let (joint, joint_desc) = match &joint {
            Some((m, desc)) => (m.clone(), desc.clone()),
            None => (
                margins::block_diag(&[&v1.matrix, &v2.matrix]),
                format!("Block-diagonal: the parts are independent (as twopm). First part: {} Second part: {}", v1.description, v2.description),
            ),
        };
        let q1 = PartEval {
            x: tp.first.design.x.view(),
            spec: &tp.first.design.spec,
            beta: &tp.first.beta,
            link: tp.first.spec.link,
        };
        let q2 = PartEval {
            x: tp.second_on_all.x.view(),
            spec: &tp.second_on_all.spec,
            beta: &tp.second.beta,
            link: tp.second.spec.link,
        };
        let rc = margins::compute(
            &[q1, q2],
            Target::Product,
            tp.first.design.weights.as_deref(),
            &at,
            &joint,
            level,
        )?;
        for n in &rc.notes {
            eprintln!("migfit: note: {n}");
        }
        combined =
            Some(Combined {
                description: format!(
                "{} Prediction: E[y] = Pr({} > 0) x E[{} | y > 0] on all {} rows, zeros included.",
                rc.description,
                formula.response.as_ref().map(|r| r.1.as_str()).unwrap_or("y"),
                tp.second.design.response,
                tp.first.design.n()
            ),
                vce: joint_desc,
                margins: rc.margins,
            });
    } else if args.joint_vce {
        return Err(usage(
            "--joint-vce applies to the combined marginal effects: add --margins",
        ));
    }
    let report = Report {
        migfit_version: crate::VERSION.to_string(),
        command: "twopart".into(),
        data: ds.source.clone(),
        data_sha256: hash.join().ok().flatten(),
        variables: crate::output::describe_variables(&ds, &[&tp.first.design, &tp.second.design]),
        models: vec![m1, m2],
        combined,
    };
    config.emit(&report)
}

fn rhs_text(formula: &str) -> String {
    formula
        .split_once('~')
        .map(|(_, r)| r.trim().to_string())
        .unwrap_or_else(|| formula.trim().to_string())
}
