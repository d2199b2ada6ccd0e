//! Tests and linear combinations of margins (`--test-margins`, `--lincom-margins`; Stata's
//! `margins ..., post` followed by `test` or `lincom`, marginaleffects' `hypothesis=`).
//!
//! The margins of a fit (its predictive margins and its marginal effects) form one vector `m`
//! with Jacobian `J` (one row per margin, in the coefficients), so their joint delta-method
//! covariance is `V_m = J V J'` with the model's variance `V` (Stata's `vce(delta)` after
//! `margins, post`; with `--margins-vce unconditional` the covariance of the margins'
//! linearized unit totals instead, [`MarginsVce`]). A hypothesis `R m = r` is tested as a coefficient hypothesis is
//! ([`crate::inference::wald`]): `W = (R m - r)' (R V_m R')^{-1} (R m - r)`, chi2(q), or Stata's
//! adjusted F `(d - q + 1) / (d q) W` on `(q, d - q + 1)` under a survey design with `d` design
//! degrees of freedom; a combination `c'm` has SE `sqrt(c' V_m c)`.
//!
//! Names (spaces do not matter), so that a margin is never mistaken for a coefficient:
//!
//! * a predictive margin by its term, `C(scope)[2]` or `scope[2]` (`C(a)[1]:C(b)[2]` or
//!   `a[1]:b[2]` for a combination of levels);
//! * a marginal effect as `dydx(TERM)`: `dydx(age)`, `dydx(C(scope)[2])` or `dydx(scope[2])`
//!   (the discrete change of level 2 against the reference);
//! * at an at-grid point, or in an `--over` group, the point appended as `@(VAR=VALUE, ...)`
//!   with the values as given on the command line: `scope[2]@(age=30)`,
//!   `dydx(age)@(female=1)`.

use super::MarginsVce;
use crate::error::Result;
use crate::inference::wald::{wald, Combination, Names, Restrictions, WaldTest};
use crate::output::{Lincom, Margin, Prediction};
use ndarray::Array2;

/// The margins of one fit as one vector, with their names and joint covariance.
pub struct MarginVector {
    pub names: Vec<String>,
    /// Other spellings (`scope[2]` for `C(scope)[2]`) and the margin they name.
    pub aliases: Vec<(String, usize)>,
    pub estimates: Vec<f64>,
    /// `J V J'`.
    pub vcov: Array2<f64>,
}

/// `C(scope, ref=3)[2]:C(g)[1]` as `scope[2]:g[1]`: each factor term without its `C()`.
fn short_term(term: &str) -> String {
    term.split(':')
        .map(|piece| {
            let Some(rest) = piece.strip_prefix("C(") else { return piece.to_string() };
            let Some(close) = rest.find(')') else { return piece.to_string() };
            let var = rest[..close].split(',').next().unwrap_or("").trim();
            format!("{var}{}", &rest[close + 1..])
        })
        .collect::<Vec<_>>()
        .join(":")
}

/// `@(age=30, female=1)` for a grid point and group (empty for neither): how a margin at a
/// point is named in `--test-margins` and in `--save-reps` columns.
pub fn point_suffix(at: Option<&[(String, String)]>, over: Option<&[(String, String)]>) -> String {
    let pairs: Vec<String> = at.into_iter().chain(over).flatten().map(|(k, v)| format!("{k}={v}")).collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("@({})", pairs.join(", "))
    }
}

impl MarginVector {
    /// The predictive margins and marginal effects of a fit, each with its Jacobian in the
    /// coefficients `v` covers (and, for the unconditional variance, its own linearization):
    /// covariance `J V J'` or the unconditional one ([`MarginsVce`]).
    pub fn new<'v>(
        predictions: &[Prediction],
        effects: &[Margin],
        v: impl Into<MarginsVce<'v>>,
    ) -> Result<MarginVector> {
        let v: MarginsVce = v.into();
        let jac: Vec<&[f64]> = predictions
            .iter()
            .map(|p| p.jacobian.as_slice())
            .chain(effects.iter().map(|m| m.jacobian.as_slice()))
            .collect();
        let own: Vec<&[f64]> = predictions
            .iter()
            .map(|p| p.linearized.as_slice())
            .chain(effects.iter().map(|m| m.linearized.as_slice()))
            .collect();
        Ok(MarginVector::with_covariance(predictions, effects, v.covariance(&jac, &own)?))
    }

    /// The same vector with a given covariance of the margins (predictions first, then effects,
    /// in order): the bootstrap's covariance of their replicates.
    pub fn with_covariance(predictions: &[Prediction], effects: &[Margin], vcov: Array2<f64>) -> MarginVector {
        let mut names = Vec::new();
        let mut aliases = Vec::new();
        let mut estimates = Vec::new();
        for p in predictions {
            let suffix = point_suffix(p.at.as_deref(), None);
            let short = short_term(&p.term);
            if short != p.term {
                aliases.push((format!("{short}{suffix}"), names.len()));
            }
            names.push(format!("{}{suffix}", p.term));
            estimates.push(p.estimate);
        }
        for m in effects {
            let suffix = point_suffix(m.at.as_deref(), m.over.as_deref());
            let short = short_term(&m.term);
            if short != m.term {
                aliases.push((format!("dydx({short}){suffix}"), names.len()));
            }
            names.push(format!("dydx({}){suffix}", m.term));
            estimates.push(m.estimate);
        }
        assert_eq!(vcov.nrows(), names.len(), "one covariance row per margin");
        MarginVector { names, aliases, estimates, vcov }
    }

    /// A linear combination written with the margins' names (`--lincom-margins`).
    pub fn combination(&self, text: &str) -> Result<Combination> {
        Combination::parse(text, Names::margins(&self.names, &self.aliases))
    }

    /// The Wald tests and linear combinations written with the margins' names (`df`: the
    /// design degrees of freedom of a survey design, for the adjusted F and t).
    pub fn hypotheses(
        &self,
        tests: &[String],
        lincom: &[String],
        level: f64,
        df: Option<f64>,
    ) -> Result<(Vec<WaldTest>, Vec<Lincom>)> {
        let names = Names::margins(&self.names, &self.aliases);
        let mut out_tests = Vec::new();
        for t in tests {
            let h = Restrictions::parse(t, names)?;
            let mut w = wald(&h, &self.estimates, &self.names, &self.vcov, df)?;
            w.on = Some("margins");
            out_tests.push(w);
        }
        let mut out_lincom = Vec::new();
        for t in lincom {
            let c = Combination::parse(t, names)?;
            let (estimate, std_error) = c.estimate(&self.estimates, &self.vcov);
            let stats = crate::inference::statistics(estimate, std_error, level, df);
            out_lincom.push(Lincom::new(c.label, estimate, std_error, stats, Some("margins")));
        }
        Ok((out_tests, out_lincom))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_and_points() {
        assert_eq!(short_term("C(scope, ref=3)[2]"), "scope[2]");
        assert_eq!(short_term("C(a)[1]:C(b)[x y]"), "a[1]:b[x y]");
        assert_eq!(short_term("scheme[URBMI]"), "scheme[URBMI]");
        assert_eq!(short_term("age"), "age");
        let at = vec![("age".to_string(), "30".to_string())];
        let over = vec![("female".to_string(), "1".to_string())];
        assert_eq!(point_suffix(Some(&at), Some(&over)), "@(age=30, female=1)");
        assert_eq!(point_suffix(None, None), "");
    }

    #[test]
    fn covariance_is_j_v_j_and_tests_read_aliases() {
        let p = |term: &str, est: f64, j: Vec<f64>| {
            let mut p = Prediction::new(term.to_string(), &[], est, 0.0, 95.0, None);
            p.jacobian = j;
            p
        };
        let preds = vec![p("C(g)[1]", 0.2, vec![1.0, 0.0]), p("C(g)[2]", 0.5, vec![1.0, 1.0])];
        let mut m = Margin::new("x".into(), "dydx".into(), 0.1, 0.0, 95.0);
        m.jacobian = vec![0.0, 2.0];
        let v = ndarray::arr2(&[[0.04, 0.01], [0.01, 0.09]]);
        let mv = MarginVector::new(&preds, &[m], &v).unwrap();
        assert_eq!(mv.names, ["C(g)[1]", "C(g)[2]", "dydx(x)"]);
        // Var(m2 - m1) = Var(b2) = 0.09; Cov(m3, m2) = 2 (0.01 + 0.09).
        assert!((mv.vcov[[1, 1]] - 0.15).abs() < 1e-15);
        assert!((mv.vcov[[2, 1]] - 0.2).abs() < 1e-15);
        let (t, l) = mv.hypotheses(&["g[2] = C(g)[1]".into()], &["g[2] - g[1]".into()], 95.0, None).unwrap();
        assert!((t[0].statistic - 0.09 / 0.09).abs() < 1e-12, "{}", t[0].statistic);
        assert_eq!(t[0].on, Some("margins"));
        assert!((l[0].estimate - 0.3).abs() < 1e-15 && (l[0].std_error - 0.3).abs() < 1e-15);
        // A coefficient name, or a bare factor, is not a margin.
        assert_eq!(mv.hypotheses(&["g".into()], &[], 95.0, None).unwrap_err().exit_code(), 2);
        assert_eq!(mv.hypotheses(&["x = 0".into()], &[], 95.0, None).unwrap_err().exit_code(), 2);
        assert!(mv.hypotheses(&["dydx(x) = 0".into()], &[], 95.0, None).is_ok());
    }
}
