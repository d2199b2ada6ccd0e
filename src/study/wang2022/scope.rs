//! After Tables 3 and 4 (issue #17): what a referee asks of the paper's migration-scope
//! effects.
//!
//! * Predictive margins by migration scope in every sample and part (Stata's `margins scope`):
//!   the average prediction with every row set to each scope level, delta-method SEs under the
//!   part's variance ([`crate::margins::predictions`]), in each model's `predictions[]`.
//! * The test that each scope effect is equal in the insurance subsamples (Table 4 shows the
//!   NCMS and URBMI+UEBMI columns side by side and never tests the difference): per part, the
//!   stacked (suest) covariance of the subsamples' fits ([`crate::inference::suest`], robust,
//!   N/(N-1) over both subsamples, whatever the spec's variance) and the Wald test of each
//!   scope AME equal across them, then both jointly
//!   ([`crate::analysis::by::equal_effects`]), in the report's top-level `tests[]`.
//!
//! The subsamples are the spec's samples with a `column` (disjoint rows: a spec whose
//! subsamples share rows gets no test, since the stacked robust form assumes disjoint rows).

use super::{SampleFits, Spec};
use crate::analysis::by::equal_effects;
use crate::error::Result;
use crate::inference::suest;
use crate::inference::wald::WaldTest;
use crate::margins::{self, PartEval, PostRequest, Target};
use crate::model::Fit;
use crate::output::Margin;

/// The migration-scope factor of the paper's specification.
pub const SCOPE: &str = "scope";

/// Adds the predictive margins by scope to every fit's report (none when the specification
/// has no `scope` regressor).
pub fn add_predictions(fits: &mut [SampleFits], level: f64) -> Result<()> {
    let post = PostRequest { predict: vec![SCOPE.into()], ..Default::default() };
    for s in fits.iter_mut() {
        for (_, f) in s.parts.iter_mut() {
            let part = PartEval::of_fit(&f.fit);
            if margins::check_variables(&[part], &post).is_err() {
                continue;
            }
            let r = margins::predictions(
                &[part],
                Target::Mean(0),
                f.fit.design.weights.as_deref(),
                &post,
                &f.variance.matrix,
                level,
                f.variance.df,
            )?;
            f.report.predictions = r.predictions;
        }
    }
    Ok(())
}

/// Whether two fits share an estimation row.
fn overlap(fits: &[&Fit]) -> bool {
    let mut rows: Vec<usize> = fits.iter().flat_map(|f| f.design.rows.iter().copied()).collect();
    let n = rows.len();
    rows.sort_unstable();
    rows.dedup();
    rows.len() != n
}

/// Per part, each scope effect equal across the subsamples and all jointly (tests named
/// `"<part label>: scope[level] equal in NCMS and URBMI+UEBMI"`).
pub fn scope_tests(spec: &Spec, fits: &[SampleFits]) -> Result<Vec<WaldTest>> {
    let subs: Vec<(&str, &SampleFits)> = fits
        .iter()
        .filter_map(|s| {
            spec.sample.iter().find(|x| x.name == s.sample && x.column.is_some()).map(|x| (x.label.as_str(), s))
        })
        .collect();
    if subs.len() < 2 {
        return Ok(Vec::new());
    }
    let what = format!("equal in {}", subs.iter().map(|s| s.0).collect::<Vec<_>>().join(" and "));
    let prefix = format!("{SCOPE}[");
    let mut out = Vec::new();
    for (pi, part) in spec.part.iter().enumerate() {
        let fs: Vec<&Fit> = subs.iter().map(|s| &s.1.parts[pi].1.fit).collect();
        if overlap(&fs) {
            continue;
        }
        let scope: Vec<Vec<Margin>> = subs
            .iter()
            .map(|s| s.1.parts[pi].1.report.margins.iter().filter(|m| m.term.starts_with(&prefix)).cloned().collect())
            .collect();
        if scope.iter().any(Vec::is_empty) {
            continue;
        }
        let st = suest::stacked(&fs, None)?;
        let groups: Vec<(&str, &[Margin])> = subs.iter().zip(&scope).map(|(s, m)| (s.0, &m[..])).collect();
        for mut t in equal_effects(&what, &groups, &st)? {
            t.test = format!("{}: {}", part.label, t.test.replacen("all effects", "all scope effects", 1));
            out.push(t);
        }
    }
    Ok(out)
}

/// A row of the predictive-margins block: sample, part, level, margin, SE.
type MarginRow = (String, String, String, f64, f64);

/// The two added blocks of the text report: the tests, and the predictive margins by scope.
pub fn to_text(spec: &Spec, fits: &[SampleFits], tests: &[WaldTest]) -> String {
    let mut out = String::new();
    if !tests.is_empty() {
        out.push_str(
            "\nTable 4, added: equal migration-scope effects in the subsamples. Wald tests of the AMEs under the stacked (suest) robust covariance of both subsamples' fits\n",
        );
        let w = tests.iter().map(|t| crate::report::format::width(&t.test)).max().unwrap_or(4).max(4);
        out.push_str(&format!("{:<w$} {:>9} {:>3} {:>8}\n", "test", "chi2", "df", "p"));
        for t in tests {
            out.push_str(&format!(
                "{} {:>9.3} {:>3} {:>8.4}\n",
                crate::report::format::pad_right(&t.test, w),
                t.statistic,
                t.df,
                t.p_value
            ));
        }
    }
    let rows: Vec<MarginRow> = fits
        .iter()
        .flat_map(|s| {
            let label = spec.sample.iter().find(|x| x.name == s.sample).map_or(s.sample.clone(), |x| x.label.clone());
            s.parts.iter().flat_map(move |(pname, f)| {
                let plabel = spec.part.iter().find(|p| &p.name == pname).map_or(pname.clone(), |p| p.label.clone());
                let label = label.clone();
                f.report.predictions.iter().map(move |p| {
                    (label.clone(), plabel.clone(), p.term.clone(), p.estimate, p.std_error)
                })
            })
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(
            "\nPredictive margins by migration scope: the average prediction with every row set to the level (Stata's margins scope), delta-method SE\n",
        );
        let wid = |f: &dyn Fn(&MarginRow) -> &str, min: usize| {
            rows.iter().map(|r| crate::report::format::width(f(r))).fold(min, usize::max)
        };
        let (w0, w1, w2) = (wid(&|r| &r.0, 6), wid(&|r| &r.1, 4), wid(&|r| &r.2, 5));
        let pad = crate::report::format::pad_right;
        out.push_str(&format!(
            "{} {} {} {:>11} {:>9}\n",
            pad("sample", w0),
            pad("part", w1),
            pad("level", w2),
            "margin",
            "(SE)"
        ));
        for r in &rows {
            out.push_str(&format!(
                "{} {} {} {:>11.3} {:>9}\n",
                pad(&r.0, w0),
                pad(&r.1, w1),
                pad(&r.2, w2),
                r.3,
                format!("({:.3})", r.4)
            ));
        }
    }
    out
}
