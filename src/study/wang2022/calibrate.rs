//! Calibration of the wang2022 DGP against the published tables (offline:
//! `cargo run --release --example calibrate_wang2022`; method in docs/calibration.md).
//!
//! It lives in the study, not in `simulate`: the targets are the study's published Tables 1,
//! 3 and 4 read through its specification, and the probability limits are the study's own
//! estimators ([`super::estimate`] in [`Mode::Expected`]) on the DGP's expected dataset.

use super::{estimate, Mode, SampleFits, Spec, TABLE3_CSV, TABLE4_CSV};
use crate::error::Result;
use crate::simulate::wang2022::{expected_dataset, Dgp, DgpFile, Eq, Equation, Person, COMMON_TERMS, NC, SCOPE_TERMS};
use crate::simulate::{norm_cdf, norm_pdf};
use crate::stats::xtile_cuts;
use std::collections::BTreeMap;

/// Table 1 outcome moments the intercepts and dispersions are chosen to match.
pub const TARGET_RECEIVED: f64 = 778.0 / 1165.0;
pub const TARGET_AMOUNT_MEAN: f64 = 5506.16;
pub const TARGET_AMOUNT_SD: f64 = 9761.79;
pub const TARGET_RATIO_MEAN: f64 = 0.4677;
pub const TARGET_RATIO_SD: f64 = 0.1991;
/// Share of recipients without usable amount: 1 - 663/778.
pub const LOST_SHARE: f64 = 1.0 - 663.0 / 778.0;

/// AMEs of age squared, published as 0.000 (0.000): any value in (-0.0005, 0.0005) is
/// consistent. ASSUMPTION: a mildly concave age profile, so that the total age slope at the
/// mean age (37.65) is small and positive.
pub const AGE2_TARGETS: [f64; 3] = [-0.0001, -0.0003, -0.00007];

/// Calibration targets: `total[part][common term]` (Table 3) and
/// `scope[group][part][scope term]` (Table 4).
pub struct Targets {
    pub total: [[f64; NC]; 3],
    pub scope_total: [[f64; 2]; 3],
    pub scope: [[[f64; 2]; 3]; 2],
}

/// Reads the targets from the published tables through the spec's term mapping.
pub fn targets(spec: &Spec) -> Targets {
    let parts = ["probit", "amount", "ratio"];
    let mut t = Targets { total: [[f64::NAN; NC]; 3], scope_total: [[f64::NAN; 2]; 3], scope: [[[f64::NAN; 2]; 3]; 2] };
    let read = |text: &str| -> Vec<csv::StringRecord> {
        csv::Reader::from_reader(text.as_bytes()).records().map(|r| r.unwrap()).collect()
    };
    let h3: Vec<String> =
        csv::Reader::from_reader(TABLE3_CSV.as_bytes()).headers().unwrap().iter().map(String::from).collect();
    let col = |h: &[String], name: &str| h.iter().position(|c| c == name).unwrap();
    for r in read(TABLE3_CSV) {
        let Some(term) = spec.terms.get(&r[col(&h3, "term")]) else { continue };
        for (e, p) in parts.iter().enumerate() {
            let v: f64 = r[col(&h3, &format!("{p}_me"))].parse().unwrap();
            if let Some(j) = COMMON_TERMS.iter().position(|c| c == term) {
                t.total[e][j] = if term == "age2" { AGE2_TARGETS[e] } else { v };
            } else if let Some(j) = SCOPE_TERMS.iter().position(|c| c == term) {
                t.scope_total[e][j] = v;
            }
        }
    }
    let h4: Vec<String> =
        csv::Reader::from_reader(TABLE4_CSV.as_bytes()).headers().unwrap().iter().map(String::from).collect();
    for r in read(TABLE4_CSV) {
        let g = if &r[col(&h4, "subsample")] == "ncms" { 0 } else { 1 };
        let term = &spec.terms[&r[col(&h4, "term")]];
        let j = SCOPE_TERMS.iter().position(|c| c == term).unwrap();
        for (e, p) in parts.iter().enumerate() {
            t.scope[g][e][j] = r[col(&h4, &format!("{p}_me"))].parse().unwrap();
        }
    }
    t
}

/// Starting values: no effects, intercepts at the outcome means.
pub fn starting_dgp(people: &[Person]) -> Dgp {
    let inc: Vec<f64> = people.iter().map(|p| p.income_pc()).collect();
    let zero = Eq { a: 0.0, b: [0.0; NC], s: [[0.0; 2]; 2] };
    let mut eqs = [zero.clone(), zero.clone(), zero];
    eqs[0].a = crate::stats::norm_quantile(TARGET_RECEIVED);
    eqs[1].a = 8.0f64.ln();
    eqs[2].a = TARGET_RATIO_MEAN.ln();
    let file = DgpFile {
        about: BTreeMap::new(),
        income_cuts: xtile_cuts(&inc, 5),
        lost_share: LOST_SHARE,
        amount_shape: 45.0,
        ratio_dispersion: 0.12,
        received: Equation::from_eq(&eqs[0]),
        amount: Equation::from_eq(&eqs[1]),
        ratio: Equation::from_eq(&eqs[2]),
        truth: BTreeMap::new(),
    };
    Dgp { file, eqs }
}

fn weighted_mean(v: impl Iterator<Item = (f64, f64)>) -> f64 {
    let (mut s, mut w) = (0.0, 0.0);
    for (x, wi) in v {
        s += x * wi;
        w += wi;
    }
    s / w
}

/// Sets the intercepts and dispersions so that the outcome means and SDs match Table 1.
pub fn match_moments(dgp: &mut Dgp, people: &[Person]) {
    // received: Newton on the intercept shift.
    for _ in 0..20 {
        let etas: Vec<f64> = people.iter().map(|p| dgp.eta(0, p, &dgp.x(p))).collect();
        let m = etas.iter().map(|e| norm_cdf(*e)).sum::<f64>() / etas.len() as f64;
        let d = etas.iter().map(|e| norm_pdf(*e)).sum::<f64>() / etas.len() as f64;
        dgp.eqs[0].a += (TARGET_RECEIVED - m) / d;
    }
    let w: Vec<f64> = people.iter().map(|p| dgp.means(p)[0]).collect();
    // ratio: log-linear mean, then phi from the total variance.
    let mu: Vec<f64> = people.iter().map(|p| dgp.means(p)[2]).collect();
    let m = weighted_mean(mu.iter().copied().zip(w.iter().copied()));
    dgp.eqs[2].a += (TARGET_RATIO_MEAN / m).ln();
    let mu: Vec<f64> = mu.iter().map(|x| x * TARGET_RATIO_MEAN / m).collect();
    let var_mu = weighted_mean(mu.iter().map(|x| (x - TARGET_RATIO_MEAN).powi(2)).zip(w.iter().copied()));
    let m2 = weighted_mean(mu.iter().map(|x| x * x).zip(w.iter().copied()));
    dgp.file.ratio_dispersion = ((TARGET_RATIO_SD.powi(2) - var_mu) / m2).max(0.02);
    // amount: for a shape k, the intercept shift c matching the mean (E exp(Y) =
    // (1 - mu/k)^-k for Y ~ Gamma(k, mu/k)); then k by bisection on the SD.
    let eta1: Vec<f64> = people.iter().map(|p| dgp.eta(1, p, &dgp.x(p))).collect();
    let moments = |k: f64, c: f64| -> (f64, f64) {
        let m1 = weighted_mean(
            eta1.iter()
                .map(|e| {
                    let mu = (e + c).exp();
                    if mu >= k {
                        f64::INFINITY
                    } else {
                        (1.0 - mu / k).powf(-k)
                    }
                })
                .zip(w.iter().copied()),
        );
        let m2 = weighted_mean(
            eta1.iter()
                .map(|e| {
                    let mu = (e + c).exp();
                    if 2.0 * mu >= k {
                        f64::INFINITY
                    } else {
                        (1.0 - 2.0 * mu / k).powf(-k)
                    }
                })
                .zip(w.iter().copied()),
        );
        (m1, (m2 - m1 * m1).max(0.0).sqrt())
    };
    // Newton on c with a numerical derivative of log E[amount] (smooth and increasing).
    let shift_for = |k: f64| -> f64 {
        let mut c = 0.0;
        for _ in 0..12 {
            let f0 = moments(k, c).0.ln() - TARGET_AMOUNT_MEAN.ln();
            if f0.is_nan() || !f0.is_finite() {
                c -= 0.1;
                continue;
            }
            let f1 = moments(k, c + 1e-4).0.ln() - TARGET_AMOUNT_MEAN.ln();
            let step = f0 / ((f1 - f0) / 1e-4);
            c -= step.clamp(-0.5, 0.5);
            if step.abs() < 1e-10 {
                break;
            }
        }
        c
    };
    let (mut klo, mut khi) = (20.0f64, 5000.0f64);
    for _ in 0..30 {
        let k = (klo * khi).sqrt();
        let sd = moments(k, shift_for(k)).1;
        if sd > TARGET_AMOUNT_SD {
            klo = k
        } else {
            khi = k
        }
    }
    let k = (klo * khi).sqrt();
    dgp.eqs[1].a += shift_for(k);
    dgp.file.amount_shape = k;
}

/// AMEs of the paper's estimators under `dgp` on the population (probability limits):
/// `[sample][part]` fits.
pub fn plims(dgp: &Dgp, people: &[Person], spec: &Spec) -> Result<Vec<SampleFits>> {
    let ds = expected_dataset(dgp, people);
    estimate(&ds, spec, Mode::Expected)
}

/// The largest absolute gap between a probability limit and its target, per iteration.
pub struct CalibrationLog {
    pub max_gap: Vec<f64>,
}

/// Calibrates the DGP: alternate (a) a diagonal Newton step on every slope, the gap between
/// the target AME and the estimator's probability limit divided by the average derivative
/// of the mean with respect to the index, and (b) re-matching of the outcome moments.
pub fn calibrate(people: &[Person], spec: &Spec, iterations: usize) -> Result<(Dgp, CalibrationLog)> {
    let t = targets(spec);
    let mut dgp = starting_dgp(people);
    // First guess: target / typical derivative of the mean in the index.
    let scale = [0.35, 8.0, TARGET_RATIO_MEAN];
    for e in 0..3 {
        for j in 0..NC {
            dgp.eqs[e].b[j] = t.total[e][j] / scale[e];
        }
        for g in 0..2 {
            for j in 0..2 {
                dgp.eqs[e].s[g][j] = t.scope[g][e][j] / scale[e];
            }
        }
    }
    match_moments(&mut dgp, people);
    let mut log = CalibrationLog { max_gap: Vec::new() };
    for _ in 0..iterations {
        let fits = plims(&dgp, people, spec)?;
        let mut gap: f64 = 0.0;
        // Average derivative of each part's mean in the index, overall and by group.
        let mut slope = [[0.0f64; 3]; 3]; // [part][all, ncms, urban]
        let mut wsum = [[0.0f64; 3]; 3];
        for p in people {
            let x = dgp.x(p);
            let pr = dgp.means(p)[0];
            for e in 0..3 {
                let eta = dgp.eta(e, p, &x);
                let (d, w) = if e == 0 { (norm_pdf(eta), 1.0) } else { (eta.exp(), pr) };
                for k in [0, 1 + p.urban as usize] {
                    slope[e][k] += d * w;
                    wsum[e][k] += w;
                }
            }
        }
        for e in 0..3 {
            for k in 0..3 {
                slope[e][k] /= wsum[e][k];
            }
        }
        for e in 0..3 {
            let total = &fits[0].parts[e].1;
            for j in 0..NC {
                let a = total.ame(COMMON_TERMS[j]).map(|m| m.estimate).unwrap_or(f64::NAN);
                let d = t.total[e][j] - a;
                gap = gap.max(d.abs());
                // Age terms: the index derivative is scaled by the variable's units already.
                dgp.eqs[e].b[j] += d / slope[e][0];
            }
            for g in 0..2 {
                let sub = &fits[1 + g].parts[e].1;
                for j in 0..2 {
                    let a = sub.ame(SCOPE_TERMS[j]).map(|m| m.estimate).unwrap_or(f64::NAN);
                    let d = t.scope[g][e][j] - a;
                    gap = gap.max(d.abs());
                    dgp.eqs[e].s[g][j] += d / slope[e][1 + g];
                }
            }
        }
        match_moments(&mut dgp, people);
        log.max_gap.push(gap);
    }
    // Record the probability limits ("truth") of every reported effect.
    let fits = plims(&dgp, people, spec)?;
    let mut truth = BTreeMap::new();
    for s in &fits {
        let mut by_part = BTreeMap::new();
        for (name, f) in &s.parts {
            let m: BTreeMap<String, f64> = f.report.margins.iter().map(|m| (m.term.clone(), m.estimate)).collect();
            by_part.insert(name.clone(), m);
        }
        truth.insert(s.sample.clone(), by_part);
    }
    dgp.file.truth = truth;
    Ok((dgp, log))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every calibration target is read from the published tables through the spec's terms.
    #[test]
    fn every_target_is_read() {
        let t = targets(&Spec::embedded());
        for e in 0..3 {
            assert!(t.total[e].iter().all(|v| v.is_finite()), "Table 3, part {e}: {:?}", t.total[e]);
            assert!(t.scope_total[e].iter().all(|v| v.is_finite()));
            for g in 0..2 {
                assert!(t.scope[g][e].iter().all(|v| v.is_finite()), "Table 4, group {g}, part {e}");
            }
        }
    }
}
