//! Synthetic CMDS-2014 extract for the reference study (Wang et al. 2022, BMJ Open 12:e060551).
//!
//! Data-generating process (parameters in `examples/wang2022/dgp.toml`; method and residual
//! errors in `docs/calibration.md`):
//!
//! * Covariates, independently within the insurance group (NCMS vs URBMI+UEBMI, drawn with the
//!   published shares 777 : 388), with the group's Table 1 margins. Age is normal (group mean
//!   and SD) truncated to 15-59; per-capita income is log-normal with the group's mean and SD
//!   and written as household income times household size, so the schema derives the
//!   quintiles; migration duration is drawn in months within the drawn Table 1 category.
//! * `received` ~ Bernoulli(Phi(a + x'b + s_g'scope)): a probit whose migration-scope
//!   coefficients `s_g` depend on the group g (Table 4 needs the interaction).
//! * `log(amount)` | received ~ Gamma with mean exp(a + x'b + s_g'scope) and shape k (the
//!   gamma-log GLM of the paper is then correctly specified within each group).
//! * `ratio` | received ~ Beta with mean mu = exp(a + x'b + s_g'scope) and variance phi mu^2
//!   (the gamma GLM's variance function), which stays in (0, 1) while mu < 1/(1 + phi).
//! * A share of recipients loses the amount (missing or 0, completely at random): the paper
//!   has 663 usable of 778 recipients.
//! * Total expenditure = amount / ratio for recipients; log-normal for the others.
//!
//! The parts: this file holds the published margins and draws a respondent's covariates;
//! `dgp.rs` the outcome equations (`examples/wang2022/dgp.toml`) and the outcome draws;
//! `raw.rs` writes a respondent as a raw CMDS-2014 row; `expected.rs` builds the analysis
//! dataset of a population with expected outcomes (probability limits). The calibration of
//! the DGP against the published tables belongs to the study (`study::wang2022::calibrate`).

mod dgp;
mod expected;
mod raw;

pub use dgp::{draw_outcomes, Dgp, DgpFile, Eq, Equation, Outcomes};
pub use expected::expected_dataset;
pub use raw::{simulate, OUT_OF_UNIVERSE_SHARE, RAW_COLUMNS};

use super::{draw_index, rng, SimRng};
use rand::RngExt;
use rand_distr::{Distribution, Normal};

/// The DGP parameters shipped with migfit (calibrated; see `docs/calibration.md`).
pub const DGP_TOML: &str = include_str!("../../../examples/wang2022/dgp.toml");

/// The published analysis sample size (N = 1165).
pub const PUBLISHED_N: usize = 1165;
/// The seed `reproduce` uses when no data file is given.
pub const DEFAULT_SEED: u64 = 20220601;

/// Names of the regressors common to both groups, as the paper's formula names its columns
/// (the migration-scope terms are in [`SCOPE_TERMS`]).
pub const COMMON_TERMS: [&str; NC] = [
    "scheme[URBMI]",
    "scheme[UEBMI]",
    "age",
    "age2",
    "C(female)[1]",
    "C(married)[1]",
    "education[junior_high]",
    "education[senior_high]",
    "education[college_plus]",
    "income_q[Q2]",
    "income_q[Q3]",
    "income_q[Q4]",
    "income_q[Q5]",
    "C(has_job)[1]",
    "C(rural_hukou)[1]",
    "C(urban_area)[1]",
    "reason[family_following]",
    "reason[other_reason]",
    "duration[y1_4]",
    "duration[y5_9]",
    "duration[y10plus]",
    "facility[secondary]",
    "facility[tertiary]",
    "facility[private]",
];
/// Number of common regressors actually used.
pub const NC: usize = 24;
pub const SCOPE_TERMS: [&str; 2] = ["scope[across_cities]", "scope[across_provinces]"];
/// The paper's regressors, as a formula right-hand side over the schema's variable names.
pub const RHS: &str = "scheme + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + C(urban_area) + scope + reason + duration + facility";

/// Table 1 margins of one insurance group.
pub struct GroupMargins {
    pub scheme: [f64; 3],
    pub age: (f64, f64),
    pub female: f64,
    pub married: f64,
    pub education: [f64; 4],
    pub income: (f64, f64),
    pub has_job: f64,
    pub rural: f64,
    pub urban_area: f64,
    pub scope: [f64; 3],
    pub reason: [f64; 3],
    pub duration: [f64; 4],
    pub facility: [f64; 4],
}

/// Share of the URBMI+UEBMI group (Table 1: 388 of 1165).
pub const URBAN_SHARE: f64 = 388.0 / 1165.0;

/// Table 1, NCMS column (percentages as proportions; scope, reason, duration and facility in
/// the paper's level order).
pub const NCMS: GroupMargins = GroupMargins {
    scheme: [1.0, 0.0, 0.0],
    age: (37.79, 9.80),
    female: 0.4646,
    married: 0.9073,
    education: [0.2806, 0.5354, 0.1519, 0.0322],
    income: (1999.55, 1687.47),
    has_job: 0.7851,
    rural: 1.0,
    urban_area: 0.6461,
    scope: [0.2780, 0.2754, 0.4466],
    reason: [0.8263, 0.1480, 0.0257],
    duration: [0.1506, 0.3925, 0.2329, 0.2239],
    facility: [0.1158, 0.3629, 0.4376, 0.0837],
};

/// Table 1, URBMI+UEBMI column. Rural hukou: 267 of 388 (the published total, 1023, is not
/// the sum of the groups, 777 + 267 = 1044; we follow the group columns).
pub const URBAN: GroupMargins = GroupMargins {
    scheme: [0.0, 0.3093, 0.6907],
    age: (37.37, 9.65),
    female: 0.4407,
    married: 0.8634,
    education: [0.1572, 0.3557, 0.2423, 0.2448],
    income: (2770.86, 2658.26),
    has_job: 0.8170,
    rural: 0.6881,
    urban_area: 0.7887,
    scope: [0.2062, 0.3119, 0.4820],
    reason: [0.8737, 0.0799, 0.0464],
    duration: [0.0773, 0.4613, 0.2345, 0.2268],
    facility: [0.1057, 0.3041, 0.5103, 0.0799],
};

/// Household size distribution (not published; ASSUMPTION, CMDS-like): 1..=6 members.
const HH_SIZE: [f64; 6] = [0.12, 0.22, 0.33, 0.21, 0.08, 0.04];

/// One simulated respondent of the analysis population (codes are 0-based level indices in
/// the paper's order).
#[derive(Debug, Clone)]
pub struct Person {
    pub urban: bool,
    pub scheme: usize,
    pub age: f64,
    pub female: bool,
    pub married: bool,
    pub education: usize,
    pub hh_size: u32,
    pub hh_income: f64,
    pub has_job: bool,
    pub rural: bool,
    pub urban_area: bool,
    pub scope: usize,
    pub reason: usize,
    pub duration_months: u32,
    pub duration: usize,
    pub facility: usize,
}

impl Person {
    pub fn income_pc(&self) -> f64 {
        self.hh_income / self.hh_size as f64
    }
}

pub(crate) fn lognormal(rng: &mut SimRng, mean: f64, sd: f64) -> f64 {
    let s2 = (1.0 + (sd / mean).powi(2)).ln();
    let m = mean.ln() - s2 / 2.0;
    let z: f64 = Normal::new(0.0, 1.0).unwrap().sample(rng);
    (m + s2.sqrt() * z).exp()
}

/// Draws one respondent's covariates.
pub fn draw_person(rng: &mut SimRng) -> Person {
    let urban = rng.random::<f64>() < URBAN_SHARE;
    let g = if urban { &URBAN } else { &NCMS };
    let scheme = draw_index(rng, &g.scheme);
    let age = loop {
        let a: f64 = Normal::new(g.age.0, g.age.1).unwrap().sample(rng);
        let a = a.round();
        if (15.0..=59.0).contains(&a) {
            break a;
        }
    };
    let female = rng.random::<f64>() < g.female;
    let married = rng.random::<f64>() < g.married;
    let education = draw_index(rng, &g.education);
    let hh_size = draw_index(rng, &HH_SIZE) as u32 + 1;
    let income_pc = lognormal(rng, g.income.0, g.income.1);
    let hh_income = (income_pc * hh_size as f64).round().max(0.0);
    let has_job = rng.random::<f64>() < g.has_job;
    let rural = rng.random::<f64>() < g.rural;
    let urban_area = rng.random::<f64>() < g.urban_area;
    let scope = draw_index(rng, &g.scope);
    let reason = draw_index(rng, &g.reason);
    let duration = draw_index(rng, &g.duration);
    let (lo, hi) = [(0, 11), (12, 59), (60, 119), (120, 299)][duration];
    let duration_months = rng.random_range(lo..=hi);
    let facility = draw_index(rng, &g.facility);
    Person {
        urban,
        scheme,
        age,
        female,
        married,
        education,
        hh_size,
        hh_income,
        has_job,
        rural,
        urban_area,
        scope,
        reason,
        duration_months,
        duration,
        facility,
    }
}

/// Draws a population of `n` respondents (covariates only).
pub fn population(n: usize, seed: u64) -> Vec<Person> {
    let mut rng = rng(seed);
    (0..n).map(|_| draw_person(&mut rng)).collect()
}
