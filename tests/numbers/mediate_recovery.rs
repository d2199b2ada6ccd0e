//! Causal mediation recovers known natural direct and indirect effects: a probit outcome with
//! a linear mediator, normal covariate, n = 200,000, with and without the treatment-mediator
//! interaction. The population values are closed forms (C ~ N(0, 1) integrates out too):
//! `mu(t, t') = Phi((b0 + bT t + B (a0 + aT t')) / sqrt(1 + B^2 s^2 + (B aC + bC)^2))`,
//! `B = bM + bTM t`. Each estimate must lie within 4 of its standard errors.

use crate::xorshift::Rng;
use migfit::analysis::Estimation;
use migfit::data::{Column, ColumnData, Dataset};
use migfit::mediate::{Method, Request};
use migfit::model::ModelKind;
use migfit::stats::norm_cdf;

const A: [f64; 3] = [0.5, 0.8, 0.4]; // mediator: a0, aT, aC
const S: f64 = 1.0; // mediator residual SD
const B: [f64; 5] = [-0.3, 0.4, 0.5, 0.3, -0.3]; // outcome: b0, bT, bM, bTM, bC

fn truth(interaction: bool) -> (f64, f64) {
    let btm = if interaction { B[3] } else { 0.0 };
    let mu = |t: f64, tp: f64| {
        let slope = B[2] + btm * t;
        let num = B[0] + B[1] * t + slope * (A[0] + A[1] * tp);
        norm_cdf(num / (1.0 + slope * slope * S * S + (slope * A[2] + B[4]).powi(2)).sqrt())
    };
    (mu(1.0, 0.0) - mu(0.0, 0.0), mu(1.0, 1.0) - mu(1.0, 0.0))
}

fn data(n: usize, interaction: bool, seed: u64) -> Dataset {
    let mut rng = Rng(seed);
    let btm = if interaction { B[3] } else { 0.0 };
    let (mut y, mut t, mut m, mut c) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let ci = rng.normal();
        let ti = (rng.unif() < 0.5) as u8 as f64;
        let mi = A[0] + A[1] * ti + A[2] * ci + S * rng.normal();
        let eta = B[0] + B[1] * ti + (B[2] + btm * ti) * mi + B[4] * ci;
        y.push((eta + rng.normal() > 0.0) as u8 as f64);
        t.push(ti);
        m.push(mi);
        c.push(ci);
    }
    let mut ds = Dataset::new("recovery", (2..n as u64 + 2).collect());
    for (name, v) in [("y", y), ("t", t), ("m", m), ("c", c)] {
        ds.push(Column { name: name.into(), data: ColumnData::Numeric(v), label: None, label_zh: None });
    }
    ds
}

fn recover(interaction: bool) {
    let ds = data(200_000, interaction, 0x5EED_0000 + interaction as u64);
    let req = Request {
        outcome: "y".into(),
        controls: "c".into(),
        treatment: "t".into(),
        mediators: vec!["m".into()],
        model: ModelKind::Probit,
        method: Method::Causal,
        ape: false,
        interaction,
        est: Estimation {
            vce: None,
            convention: Default::default(),
            sample: Default::default(),
            level: 95.0,
            margins: None,
            survey: None,
            post: Default::default(),
            hypotheses: Default::default(),
            bootstrap: None,
            by: None,
        },
        max_iter: 100,
    };
    let c = req.run(&ds).unwrap().causal.unwrap();
    let (nde, nie) = truth(interaction);
    for (what, e, want) in [("NDE", &c.nde, nde), ("NIE", &c.nie, nie), ("TE", &c.total, nde + nie)] {
        let z = (e.estimate - want) / e.std_error;
        assert!(
            z.abs() < 4.0,
            "{what} (interaction {interaction}): {} (SE {}) vs truth {want}: z = {z}",
            e.estimate,
            e.std_error
        );
        assert!(e.std_error > 0.0 && e.std_error < 0.01, "{what}: SE {}", e.std_error);
    }
    // The effects are there to be found: the indirect effect is many SEs from zero.
    assert!(c.nie.estimate / c.nie.std_error > 10.0, "{:?}", c.nie);
}

#[test]
fn causal_mediation_recovers_known_effects() {
    recover(false);
}

#[test]
fn causal_mediation_recovers_known_effects_with_interaction() {
    recover(true);
}

/// `reproduce stay2018` with `causal = true` in its spec recovers the natural indirect effect
/// the synthetic DGP builds in (simulate::stay2018::mediation_truth), and its KHB difference
/// has the DGP's sign: direct settlement raises utilisation, which raises stay intention.
#[test]
fn stay2018_reproduction_recovers_the_dgps_mediation() {
    use migfit::simulate::stay2018 as sim;
    use migfit::study::stay2018::Spec;
    let (n, seed) = (40_000, 7);
    let truth = sim::mediation_truth(n, seed);
    let csv = sim::simulate(n, seed).to_csv();
    let ds = migfit::study::stay2018::analysis_from_csv(csv.as_bytes(), "stay2018 synthetic").unwrap();
    let text = migfit::study::stay2018::SPEC_TOML
        .replace("mediators = [\"local_utilization\"]", "mediators = [\"local_utilization\"]\ncausal = true");
    let spec = Spec::parse(&text).unwrap();
    let c = spec.request(Method::Causal).run(&ds).unwrap().causal.unwrap();
    assert!(truth.n_ill > 10_000 && truth.nie > 0.01, "{truth:?}");
    let z = (c.nie.estimate - truth.nie) / c.nie.std_error;
    assert!(z.abs() < 4.0, "NIE {} (SE {}) vs DGP {}: z = {z}", c.nie.estimate, c.nie.std_error, truth.nie);
    let z = (c.nde.estimate - truth.nde) / c.nde.std_error;
    assert!(z.abs() < 4.0, "NDE {} (SE {}) vs DGP {}: z = {z}", c.nde.estimate, c.nde.std_error, truth.nde);
    let k = migfit::study::stay2018::khb(&ds, &spec).unwrap();
    assert!(k.indirect > 3.0 * k.indirect_se, "{k:?}");
}
