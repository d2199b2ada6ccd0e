//! `--by VAR`: the model fitted in each group of a variable's values (as a paper's subsample
//! columns), the groups' estimates with one stacked variance (Stata's `suest`,
//! [`crate::inference::suest`]), and `--test-equal`: each effect equal across the groups.
//!
//! The groups are the distinct values of `VAR` on the estimation rows of the whole sample
//! (listwise deletion once, over every group; each group's design is those rows of the one
//! design, so every group has the same columns and factor coding). A group with no more rows
//! than coefficients is an estimation error naming the group, before anything is reported.
//!
//! `--test-equal` tests, for each average marginal effect `theta` (each effect the groups have
//! in common), `theta_1 = theta_2 = ... = theta_G` (G - 1 restrictions), and all of them jointly,
//! with the Wald statistic `d' (R V_theta R')^{-1} d` (chi2). `V_theta = J V J'`: `J` holds each
//! group's effect gradients in its own block of columns and `V` is the stacked variance, so
//! clusters that span groups enter through its off-diagonal blocks (with disjoint rows and
//! the robust variance those blocks are zero and the test is the usual one of independent
//! samples).

use super::{named_groups, report, FitJob};
use crate::data::Dataset;
use crate::design::Design;
use crate::error::{usage, DataError, Error, FitError, Result};
use crate::inference::suest::{self, Clusters};
use crate::inference::wald::{wald, Restrictions, WaldTest};
use crate::inference::VceKind;
use crate::model::{self, Fit};
use crate::output::{Margin, Report};
use ndarray::Array2;

/// `--by VAR [--test-equal]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ByRequest {
    pub var: String,
    /// Test each effect equal across the groups (and all jointly).
    pub test_equal: bool,
}

/// An error of one group's fit, naming the group (the kind, hence the exit code, is kept).
fn in_group(group: &str, e: Error) -> Error {
    match e {
        Error::Fit(f) => FitError::Numerical(format!("by: group {group}: {f}")).into(),
        Error::Data(d) => DataError::Other(format!("by: group {group}: {d}")).into(),
        Error::Usage(u) => usage(format!("by: group {group}: {u}")),
        other => other,
    }
}

impl FitJob {
    pub(super) fn run_by(&self, ds: &Dataset, by: &ByRequest) -> Result<Report> {
        if self.est.convention != crate::inference::convention::Convention::Stata {
            return Err(usage("--by takes Stata's suest variance; it has no --convention profile (drop --convention)"));
        }
        let clustered = match self.est.vce_kind()? {
            // suest is always robust.
            VceKind::Oim | VceKind::Eim | VceKind::Robust => false,
            VceKind::Cluster => true,
            VceKind::Survey => {
                return Err(usage("--by has no survey form: fit each group as a subpopulation (--subpop) instead"))
            }
            k => {
                return Err(usage(format!(
                    "--by stacks the groups' scores (Stata's suest), which is robust or cluster-robust, not vce {}",
                    k.name()
                )))
            }
        };
        let full = Design::build(ds, &self.formula, &self.est.sample)?;
        let (var, groups) = named_groups(ds, Some(&by.var), &full.rows, "by")?.expect("a by variable");
        if groups.len() < 2 {
            return Err(usage(format!(
                "by: '{var}' takes one value on the estimation rows ({}); there are no groups to compare",
                groups.first().map_or("", |g| g.0.as_str())
            )));
        }
        let mut fits: Vec<(String, Vec<usize>, Fit)> = Vec::with_capacity(groups.len());
        for (value, inside) in &groups {
            let name = format!("{var}={value}");
            let idx: Vec<usize> = inside.iter().enumerate().filter(|(_, &b)| b).map(|(i, _)| i).collect();
            let d = full.take_rows(&idx);
            if d.n() <= d.k() {
                return Err(FitError::Numerical(format!(
                    "by: group {name} has {} estimation rows, too few to fit the model's {} coefficients",
                    d.n(),
                    d.k()
                ))
                .into());
            }
            let fit = model::fit(d, &self.spec).map_err(|e| in_group(&name, e))?;
            fits.push((name, idx, fit));
        }
        let clusters = if clustered {
            let ids = full.clusters.as_ref().expect("a cluster variable");
            Some(Clusters {
                ids: fits.iter().map(|(_, idx, _)| idx.iter().map(|&i| ids[i]).collect()).collect(),
                count: full.n_clusters,
                var: full.cluster_var.clone().unwrap_or_default(),
            })
        } else {
            None
        };
        drop(full);
        let refs: Vec<&Fit> = fits.iter().map(|f| &f.2).collect();
        let st = suest::stacked(&refs, clusters.as_ref())?;
        let mut models = Vec::with_capacity(fits.len());
        for ((name, _, fit), v) in fits.iter().zip(&st.blocks) {
            models.push(self.model_report(ds, name, fit, v, Vec::new(), None, None).map_err(|e| in_group(name, e))?);
        }
        let tests = if by.test_equal {
            let groups: Vec<(&str, &[Margin])> = models.iter().map(|m| (m.name.as_str(), &m.margins[..])).collect();
            equal_effects(&format!("equal across {var}"), &groups, &st)?
        } else {
            Vec::new()
        };
        let designs: Vec<&Design> = fits.iter().map(|f| &f.2.design).collect();
        let mut r = report("fit", ds, models, None, &designs);
        r.tests = tests;
        Ok(r)
    }
}

/// The name of an effect across groups: its term, at-grid point and `--over` group.
fn effect_key(m: &Margin) -> String {
    let tag = |what: &str, list: &Option<Vec<(String, String)>>| match list {
        Some(l) => {
            format!(" {what} {}", l.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
        }
        None => String::new(),
    };
    format!("{}{}{}", m.term, tag("at", &m.at), tag("over", &m.over))
}

/// Each effect equal across the groups (one Wald test per effect, then all jointly) under the
/// stacked variance `st` of the groups' models: `groups` holds each group's name and effects
/// (their gradients over its coefficients), in the order of `st`'s blocks. The tests are
/// named `"<effect> <what>"` and `"all effects <what>"`. Effects some group lacks (a level
/// absent in it) have no test.
pub fn equal_effects(what: &str, groups: &[(&str, &[Margin])], st: &suest::Stacked) -> Result<Vec<WaldTest>> {
    let g = groups.len();
    let keys: Vec<String> = groups[0].1.iter().map(effect_key).collect();
    // The effects every group has, with each group's margin.
    let mut effects: Vec<(String, Vec<&Margin>)> = Vec::new();
    for key in keys {
        let found: Vec<&Margin> = groups.iter().filter_map(|m| m.1.iter().find(|x| effect_key(x) == key)).collect();
        if found.len() == g {
            effects.push((key, found));
        }
    }
    if effects.is_empty() {
        return Err(usage(
            "test-equal: the groups have no effect in common to test (ask for effects with --margins or --dydx)",
        ));
    }
    // theta = (effect e of group h), index e * g + h; its variance J V J'.
    let k_total = st.joint.matrix.nrows();
    let n = effects.len() * g;
    let mut jac = Array2::<f64>::zeros((n, k_total));
    let mut theta = vec![0.0; n];
    let mut names = Vec::with_capacity(n);
    for (e, (key, ms)) in effects.iter().enumerate() {
        for (h, m) in ms.iter().enumerate() {
            let o = st.offsets[h];
            assert_eq!(m.jacobian.len(), st.blocks[h].matrix.nrows(), "an effect's gradient per coefficient");
            for (j, &d) in m.jacobian.iter().enumerate() {
                jac[[e * g + h, o + j]] = d;
            }
            theta[e * g + h] = m.estimate;
            names.push(format!("{}:{key}", groups[h].0));
        }
    }
    let v_theta = jac.dot(&st.joint.matrix).dot(&jac.t());
    let restriction = |e: usize, h: usize| {
        let mut row = vec![0.0; n];
        row[e * g] = 1.0;
        row[e * g + h] = -1.0;
        row
    };
    let mut tests = Vec::with_capacity(effects.len() + 1);
    let mut all_rows = Vec::new();
    for (e, (key, _)) in effects.iter().enumerate() {
        let rows: Vec<Vec<f64>> = (1..g).map(|h| restriction(e, h)).collect();
        all_rows.extend(rows.iter().cloned());
        let h = Restrictions { label: format!("{key} {what}"), rhs: vec![0.0; rows.len()], rows };
        tests.push(wald(&h, &theta, &names, &v_theta, None)?);
    }
    if effects.len() > 1 {
        let h = Restrictions { label: format!("all effects {what}"), rhs: vec![0.0; all_rows.len()], rows: all_rows };
        tests.push(wald(&h, &theta, &names, &v_theta, None)?);
    }
    Ok(tests)
}
