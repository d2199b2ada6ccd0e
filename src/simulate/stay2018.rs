//! Synthetic CMDS-2018 extract for the stay-intention study (no published numbers; the DGP is
//! ours, documented in docs/calibration.md).
//!
//! * Covariates: age 15-64, sex, marriage, education, hukou, household income, employment,
//!   migration scope and duration, scheme (NCMS, URBMI, URRBMI, UEBMI), province -> region.
//! * Direct settlement: insured locally (UEBMI mostly), or insured elsewhere and registered
//!   for on-the-spot settlement (more often within the province).
//! * Illness in the past year (35%); among the ill, local utilisation is a logit with direct
//!   settlement raising the log-odds by 1.0.
//! * Stay intention: a logit with direct settlement +0.30 (direct path) and local
//!   utilisation +0.60 (for the never-ill the latent utilisation propensity stands in), so
//!   direct settlement raises the odds of staying directly and through utilisation.

use super::{draw_index, fmt_money, rng, RawTable};
use rand::RngExt;
use rand_distr::{Distribution, Normal};

pub const DEFAULT_N: usize = 5000;

pub const RAW_COLUMNS: [&str; 24] = [
    "ID", "prov", "city", "stratum", "psu", "weight", "q101b", "q101c", "q101e", "q101f", "q101g", "q100", "q201",
    "q214", "q301", "q302a", "q302b", "q401", "q402", "q501", "q502", "q503", "q601", "q602",
];

const EAST: [u32; 11] = [11, 12, 13, 21, 31, 32, 33, 35, 37, 44, 46];
const CENTRAL: [u32; 8] = [14, 22, 23, 34, 36, 41, 42, 43];
const WEST: [u32; 12] = [15, 45, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65];

/// True coefficients (log-odds) of the stay equation and of the utilisation equation.
pub const STAY_INTERCEPT: f64 = -1.2;
pub const STAY_DIRECT: f64 = 0.30;
pub const STAY_UTIL: f64 = 0.60;
pub const UTIL_INTERCEPT: f64 = -0.2;
pub const UTIL_DIRECT: f64 = 1.0;

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The natural direct and indirect effects of direct settlement on Pr(stay) through local
/// utilisation that the DGP builds in, averaged over the respondents ill in the past year (those
/// with the mediator), at the true coefficients and each respondent's covariates:
/// `NDE_i = p0 [F(a + d + u) - F(a + u)] + (1 - p0) [F(a + d) - F(a)]`,
/// `NIE_i = (p1 - p0) [F(a + d + u) - F(a + d)]`, with `F` the logistic, `a` the respondent's
/// index without the exposure and the mediator, `d = STAY_DIRECT`, `u = STAY_UTIL`, `p_t` the
/// utilisation probability with direct settlement `t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MediationTruth {
    pub n_ill: usize,
    pub nde: f64,
    pub nie: f64,
}

/// The mediation the extract `simulate(n, seed)` was drawn with (see [`MediationTruth`]).
pub fn mediation_truth(n: usize, seed: u64) -> MediationTruth {
    generate(n, seed).1
}

pub fn simulate(n: usize, seed: u64) -> RawTable {
    generate(n, seed).0
}

fn generate(n: usize, seed: u64) -> (RawTable, MediationTruth) {
    let mut truth = MediationTruth { n_ill: 0, nde: 0.0, nie: 0.0 };
    let mut r = rng(seed);
    let header = RAW_COLUMNS.iter().map(|s| s.to_string()).collect();
    let mut rows = Vec::with_capacity(n);
    let std = Normal::new(0.0, 1.0).unwrap();
    for id in 1..=n {
        let region = draw_index(&mut r, &[0.55, 0.25, 0.20]);
        let prov = match region {
            0 => EAST[r.random_range(0..EAST.len())],
            1 => CENTRAL[r.random_range(0..CENTRAL.len())],
            _ => WEST[r.random_range(0..WEST.len())],
        };
        let city = prov * 100 + 1 + r.random_range(0..6u32);
        let age = loop {
            let a: f64 = 36.0 + 10.0 * std.sample(&mut r);
            let a = a.round();
            if (15.0..=64.0).contains(&a) {
                break a;
            }
        };
        let female = r.random::<f64>() < 0.47;
        let married = r.random::<f64>() < 0.82;
        let educ = 1 + draw_index(&mut r, &[0.03, 0.15, 0.42, 0.14, 0.08, 0.10, 0.07, 0.01]) as u32;
        let rural = r.random::<f64>() < 0.78;
        let scheme =
            1 + draw_index(&mut r, &if rural { [0.50, 0.03, 0.30, 0.17] } else { [0.05, 0.15, 0.20, 0.60] }) as u32;
        let scope = 1 + draw_index(&mut r, &[0.50, 0.32, 0.18]) as u32; // 1 across provinces
        let months = r.random_range(0..240u32);
        let has_job = r.random::<f64>() < 0.85;
        let hh_size = 1 + draw_index(&mut r, &[0.15, 0.25, 0.35, 0.17, 0.08]) as u32;
        let inc_pc = (7.8 + 0.6 * std.sample(&mut r)).exp();
        // Insurance place and direct settlement.
        let local = r.random::<f64>() < if scheme == 4 { 0.70 } else { 0.15 };
        let registered = !local && r.random::<f64>() < if scope == 1 { 0.20 } else { 0.35 };
        let dk = !local && !registered && r.random::<f64>() < 0.4;
        let direct = local || registered;
        let d = direct as u8 as f64;
        let x_common = 0.02 * (months as f64 / 12.0) + 0.3 * married as u8 as f64 - 0.4 * (scope == 1) as u8 as f64
            + 0.2 * (scheme == 4) as u8 as f64
            + 0.15 * (educ >= 6) as u8 as f64
            - 0.2 * (region == 2) as u8 as f64;
        let ill = r.random::<f64>() < 0.35;
        let p_util = logistic(UTIL_INTERCEPT + UTIL_DIRECT * d + 0.3 * (scope == 3) as u8 as f64);
        let util = r.random::<f64>() < p_util;
        let p_stay = logistic(STAY_INTERCEPT + STAY_DIRECT * d + STAY_UTIL * util as u8 as f64 + x_common);
        if ill {
            let a = STAY_INTERCEPT + x_common;
            let p0 = logistic(UTIL_INTERCEPT + 0.3 * (scope == 3) as u8 as f64);
            let p1 = logistic(UTIL_INTERCEPT + UTIL_DIRECT + 0.3 * (scope == 3) as u8 as f64);
            let (f_du, f_u) = (logistic(a + STAY_DIRECT + STAY_UTIL), logistic(a + STAY_UTIL));
            let (f_d, f_0) = (logistic(a + STAY_DIRECT), logistic(a));
            truth.n_ill += 1;
            truth.nde += p0 * (f_du - f_u) + (1.0 - p0) * (f_d - f_0);
            truth.nie += (p1 - p0) * (f_du - f_d);
        }
        let stay = r.random::<f64>() < p_stay;
        let (q401, q402) = if stay {
            (1, [3, 4, 5][r.random_range(0..3)])
        } else {
            match r.random_range(0..3u32) {
                0 => (2, -2),
                1 => (3, -2),
                _ => (1, [1, 2, 6][r.random_range(0..3)]),
            }
        };
        let idx = 2018 * 12 + 4 - months;
        let s = |v: u32| v.to_string();
        rows.push(vec![
            id.to_string(),
            s(prov),
            s(city),
            s(prov),
            s(city * 100 + r.random_range(0..20u32)),
            format!("{:.4}", 0.5 + 1.5 * r.random::<f64>()),
            s(if female { 2 } else { 1 }),
            s(2018 - age as u32),
            s(educ),
            s(if rural { [1, 1, 3][r.random_range(0..3)] } else { [2, 4][r.random_range(0..2)] }),
            s(if married { 2 } else { [1, 4, 5][r.random_range(0..3)] }),
            s(hh_size),
            s(if has_job { 1 } else { 2 }),
            fmt_money((inc_pc * hh_size as f64).round()),
            s(scope),
            s(idx / 12),
            s(idx % 12 + 1),
            s(q401),
            if q402 < 0 { "不适用".into() } else { q402.to_string() },
            s(scheme),
            s(if local { 1 } else { 2 }),
            if local {
                "不适用".into()
            } else {
                s(if registered {
                    1
                } else if dk {
                    3
                } else {
                    2
                })
            },
            s(if ill { 1 } else { 2 }),
            if ill { s(if util { 1 } else { [2, 4, 5][r.random_range(0..3)] }) } else { "不适用".into() },
        ]);
    }
    if truth.n_ill > 0 {
        truth.nde /= truth.n_ill as f64;
        truth.nie /= truth.n_ill as f64;
    }
    (RawTable { header, rows }, truth)
}
