//! The effects a request asks for (one per variable or factor level), and turning sums into
//! estimates with delta-method standard errors.

use super::*;
use crate::linalg::quad_form;
use crate::output::Margin;
use ndarray::Array2;

/// A factor of the parts: (variable, text in the formula, levels, reference level).
pub(super) type FactorVar = (String, String, Vec<crate::data::Level>, usize);

/// The effects asked for on the `relevant` parts' variables, in order of appearance: a
/// derivative per continuous variable, a discrete change per factor level other than the
/// reference (levels without observations get a note instead). Variables fixed by
/// `--margins-at` have no discrete change of their own.
pub(super) fn requests(
    parts: &[PartEval],
    relevant: &[usize],
    at: &At,
    notes: &mut Vec<String>,
) -> (Vec<Request>, Vec<FactorVar>) {
    let mut continuous: Vec<String> = Vec::new();
    let mut factors: Vec<FactorVar> = Vec::new();
    for &p in relevant {
        for v in parts[p].spec.continuous_variables() {
            if !continuous.contains(&v) {
                continuous.push(v);
            }
        }
        for f in parts[p].spec.factor_variables() {
            if !factors.iter().any(|g| g.0 == f.0) {
                factors.push(f);
            }
        }
    }
    let mut requests = Vec::new();
    for v in &continuous {
        requests.push(Request { term: v.clone(), contrast: "dydx".into(), kind: Kind::Derivative(v.clone()) });
    }
    for (var, text, levels, reference) in &factors {
        let codes = relevant.iter().find_map(|&p| parts[p].spec.factor_codes(var)).expect("factor");
        for (l, lv) in levels.iter().enumerate() {
            if l == *reference {
                continue;
            }
            let term = format!("{text}[{}]", lv.name);
            if !codes.iter().any(|&c| c as usize == l) {
                notes.push(format!(
                    "{term}: level '{}' has no observations in the estimation sample; its effect is not computed",
                    lv.name
                ));
                continue;
            }
            requests.push(Request {
                term,
                contrast: format!("{} vs {}", lv.name, levels[*reference].name),
                kind: Kind::Discrete { var: var.clone(), level: l, reference: *reference },
            });
        }
    }
    if let At::Values(list) = at {
        // Variables fixed by --margins-at have no discrete change of their own.
        requests.retain(|r| match &r.kind {
            Kind::Discrete { var, .. } => !list.iter().any(|(v, _)| v == var),
            Kind::Derivative(_) => true,
        });
    }

    (requests, factors)
}

/// The effects of one set of the average pass with their SEs: `cols` are the set's parts'
/// positions in the stacked Jacobian, `vcov` their variance.
pub(super) fn finish_average(
    requests: &[Request],
    effects: Vec<(f64, Vec<f64>)>,
    cols: std::ops::Range<usize>,
    vcov: &Array2<f64>,
    level: f64,
    mut notes: Vec<String>,
    at: &At,
) -> MarginsResult {
    let mut margins = Vec::new();
    for (req, (estimate, jfull)) in requests.iter().zip(effects) {
        let jac = &jfull[cols.clone()];
        finish_effect(req, estimate, jac, quad_form(jac, vcov).max(0.0).sqrt(), level, &mut margins, &mut notes);
    }
    if requests.is_empty() {
        notes.push("the model has no regressors with marginal effects".into());
    }
    MarginsResult { margins, notes, description: describe(at) }
}

/// Adds an effect with its delta-method SE, or a note when it is not finite.
pub(super) fn finish_effect<'m>(
    req: &Request,
    estimate: f64,
    jac: &[f64],
    se: f64,
    level: f64,
    margins: &'m mut Vec<Margin>,
    notes: &mut Vec<String>,
) -> Option<&'m mut Margin> {
    if !estimate.is_finite() || !se.is_finite() {
        notes.push(format!("{}: the effect could not be computed (not finite)", req.term));
        return None;
    }
    let mut m = Margin::new(req.term.clone(), req.contrast.clone(), estimate, se, level);
    m.jacobian = jac.to_vec();
    margins.push(m);
    margins.last_mut()
}

pub(super) fn describe(at: &At) -> String {
    describe_scaled(at, MarginsScale::Dydx)
}

/// [`describe`] for effects on `scale`: the scale's sentence replaces the derivatives'.
pub(super) fn describe_scaled(at: &At, scale: MarginsScale) -> String {
    if scale != MarginsScale::Dydx {
        let what = match at {
            At::Average => "Average effects".to_string(),
            At::Means => "Effects at the means (factor indicators at their sample shares)".to_string(),
            At::Values(list) => format!(
                "Average effects at {}",
                list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
            ),
        };
        return format!("{what} on the {} scale: {} Delta-method standard errors.", scale.name(), scale.describe());
    }
    let what = match at {
        At::Average => "Average marginal effects".to_string(),
        At::Means => "Marginal effects at the means (factor indicators at their sample shares)".to_string(),
        At::Values(list) => format!(
            "Average marginal effects at {}",
            list.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
        ),
    };
    format!(
        "{what}: derivatives (dy/dx) for continuous and numeric 0/1 variables, discrete changes from the reference level for factors; delta-method standard errors."
    )
}
