//! The wild score bootstrap (`migfit::inference::wild`) against an independent numpy
//! implementation (`tests/golden/scripts/wild.py`: restricted fit by Newton on the KKT system,
//! numerical observed information), given the same weight vectors: every Rademacher sign
//! vector (fewer than 12 clusters: exact) and 40 stored Webb draws. Probit, logit (a joint
//! test of two restrictions) and gamma-log (a restriction with r != 0).

use migfit::data::csv::{read_csv, CsvOptions};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::inference::wild::{score_pieces, summarise, wild_score_bootstrap, wild_statistics, WildWeights};
use migfit::model::{self, ModelKind, ModelSpec};
use ndarray::Array2;
use serde_json::Value;

/// The numpy side differentiates its gradient numerically for the information (about 1e-9
/// relative): 1e-6 leaves room for that.
const TOL: f64 = 1e-6;

fn close(ours: f64, theirs: f64, what: &str) {
    assert!((ours - theirs).abs() <= TOL * theirs.abs().max(1e-12), "{what}: ours {ours:e} theirs {theirs:e}");
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn wild_score_bootstrap_matches_numpy() {
    let reference: Value = serde_json::from_str(include_str!("wild_reference.json")).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 3);
    for c in cases {
        let name = c["name"].as_str().unwrap();
        let data = if c["cluster"] == "year" {
            "tests/golden/probit_wagepan_cluster/data.csv"
        } else {
            "examples/mroz/mroz.csv"
        };
        let ds = read_csv(std::path::Path::new(data), &CsvOptions::default()).unwrap();
        let f = Formula::parse(c["formula"].as_str().unwrap()).unwrap();
        let opts = SampleOptions { cluster: Some(c["cluster"].as_str().unwrap().into()), ..Default::default() };
        let d = Design::build(&ds, &f, &opts).unwrap();
        let spec = match c["model"].as_str().unwrap() {
            "probit" => ModelSpec::new(ModelKind::Probit, None, None),
            "logit" => ModelSpec::new(ModelKind::Logit, None, None),
            _ => ModelSpec::new(ModelKind::Glm, Some("gamma"), Some("log")),
        }
        .unwrap();
        let fit = model::fit(d, &spec).unwrap();
        let rows: Vec<Vec<f64>> = c["R"].as_array().unwrap().iter().map(floats).collect();
        let rm = Array2::from_shape_fn((rows.len(), rows[0].len()), |(i, j)| rows[i][j]);
        let r = floats(&c["r"]);

        let test = wild_score_bootstrap(&fit, &rm, &r, WildWeights::Rademacher, 999, 1).unwrap();
        let g = fit.design.n_clusters;
        assert!(test.enumerated && test.reps == 1 << g, "{name}: full enumeration");
        for (j, (o, t)) in test.restricted.iter().zip(floats(&c["restricted"])).enumerate() {
            // Imposed coefficients can be exactly zero: compare on the scale of the largest.
            assert!((o - t).abs() <= TOL * (1.0 + t.abs()), "{name}: restricted b[{j}] ours {o} theirs {t}");
        }
        close(test.statistic, c["statistic"].as_f64().unwrap(), &format!("{name}: statistic"));
        assert_eq!(test.p_value, c["p_value"].as_f64().unwrap(), "{name}: p-value");
        for ((p, q), t) in test.quantiles.iter().zip(c["quantiles"].as_array().unwrap()) {
            assert_eq!(*p, t[0].as_f64().unwrap());
            close(*q, t[1].as_f64().unwrap(), &format!("{name}: quantile {p}"));
        }
        // A draw near zero is a difference of nearly equal score sums, where the numpy side's
        // numerical information (about 1e-9 relative) shows: draws are compared on the scale
        // of 1 (a chi-square statistic's), not their own.
        for (b, (o, t)) in test.draws.iter().zip(floats(&c["draws"])).enumerate() {
            assert!((o - t).abs() <= TOL * t.abs().max(1.0), "{name}: draw {b}: ours {o:e} theirs {t:e}");
        }
        if let Some(vs) = c.get("webb_weights") {
            let vs: Vec<Vec<f64>> = vs.as_array().unwrap().iter().map(floats).collect();
            let pieces = score_pieces(&fit, &rm, &r).unwrap();
            let draws = wild_statistics(&pieces, &vs).unwrap();
            for (b, (o, t)) in draws.iter().zip(floats(&c["webb_draws"])).enumerate() {
                assert!((o - t).abs() <= TOL * t.abs().max(1.0), "{name}: Webb draw {b}: ours {o:e} theirs {t:e}");
            }
            let s = summarise(test.statistic, draws, false, pieces.restricted);
            assert!((0.0..=1.0).contains(&s.p_value) && s.reps == 40);
        }
    }
}

#[test]
fn sampled_draws_are_deterministic_and_need_clusters() {
    let ds = read_csv(std::path::Path::new("examples/mroz/mroz.csv"), &CsvOptions::default()).unwrap();
    let f = Formula::parse("inlf ~ educ + exper + age").unwrap();
    let spec = ModelSpec::new(ModelKind::Logit, None, None).unwrap();
    let rm = Array2::from_shape_vec((1, 4), vec![0.0, 1.0, 0.0, 0.0]).unwrap();
    // No clusters: a usage error.
    let fit = model::fit(Design::build(&ds, &f, &SampleOptions::default()).unwrap(), &spec).unwrap();
    assert!(wild_score_bootstrap(&fit, &rm, &[0.0], WildWeights::Webb, 99, 7).is_err());
    // 31 age clusters (too many to enumerate): sampled Webb draws, the same for the same seed.
    let opts = SampleOptions { cluster: Some("age".into()), ..Default::default() };
    let fit = model::fit(Design::build(&ds, &f, &opts).unwrap(), &spec).unwrap();
    let a = wild_score_bootstrap(&fit, &rm, &[0.0], WildWeights::Webb, 199, 7).unwrap();
    let b = wild_score_bootstrap(&fit, &rm, &[0.0], WildWeights::Webb, 199, 7).unwrap();
    let c = wild_score_bootstrap(&fit, &rm, &[0.0], WildWeights::Webb, 199, 8).unwrap();
    assert!(!a.enumerated && a.reps == 199);
    assert_eq!(a.draws, b.draws);
    assert_ne!(a.draws, c.draws);
    assert!(wild_score_bootstrap(&fit, &rm, &[0.0], WildWeights::Rademacher, 0, 7).is_err());
}
