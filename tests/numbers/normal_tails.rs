//! The standard normal CDF, upper tail and density (`stats::norm_tails`, which every probit
//! fit and effect goes through) against 50-digit values from mpmath, written with 17 digits
//! by `tests/reference/normal_tails/generate.py`: 3,513 points from -37.5 to 37.5.
//!
//! The bound: 5 units in the last place (`f64::EPSILON` = 2.2e-16 relative) for the tails and
//! 2 for the density; the largest errors are 3.5 (lower), 4.1 (upper) and 1.9 (density). The
//! tails used to be `erfc(x / sqrt(2)) / 2` through `libm::erfc`: the rounding of `x / sqrt(2)`
//! alone cost that up to 56 units on |x| < 10 (printed by this test, not asserted).

use migfit::stats::{norm_cdf, norm_pdf, norm_tails};

fn reference() -> Vec<[f64; 4]> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference/normal_tails/values.csv");
    let text = std::fs::read_to_string(path).expect("reference values");
    let rows: Vec<[f64; 4]> = text
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|f| f.parse().expect("a number")).collect();
            [v[0], v[1], v[2], v[3]]
        })
        .collect();
    assert!(rows.len() > 3500, "reference file truncated: {} rows", rows.len());
    rows
}

/// Relative error in units of `f64::EPSILON`.
fn ulps(ours: f64, exact: f64) -> f64 {
    ((ours - exact) / exact).abs() / f64::EPSILON
}

fn libm_lower(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}

#[test]
fn normal_tails_match_mpmath() {
    let mut worst = [(0.0f64, 0.0f64); 3];
    let mut worst_libm = 0.0f64;
    for [x, lower, upper, pdf] in reference() {
        let t = norm_tails(x);
        assert_eq!(t.lower, norm_cdf(x), "norm_cdf({x}) is norm_tails' lower tail");
        assert_eq!(t.pdf, norm_pdf(x), "norm_pdf({x}) is norm_tails' density");
        assert_eq!(t.upper, norm_tails(-x).lower, "upper tail at {x} is the lower at -x");
        for (i, (ours, exact)) in [(t.lower, lower), (t.upper, upper), (t.pdf, pdf)].into_iter().enumerate() {
            let e = ulps(ours, exact);
            let bound = if i == 2 { 2.0 } else { 5.0 };
            assert!(e <= bound, "{} at x = {x}: {ours:e} vs {exact:e}: {e:.2} ulp", ["lower", "upper", "pdf"][i]);
            if e > worst[i].0 {
                worst[i] = (e, x);
            }
        }
        if x.abs() < 10.0 {
            worst_libm = worst_libm.max(ulps(libm_lower(x), lower)).max(ulps(libm_lower(-x), upper));
        }
    }
    eprintln!(
        "largest errors (ulp, at x): lower {:?}, upper {:?}, pdf {:?}; libm::erfc on |x| < 10: {worst_libm:.2}",
        worst[0], worst[1], worst[2]
    );
}

#[test]
fn normal_tails_edge_values() {
    let t = norm_tails(0.0);
    assert_eq!((t.lower, t.upper), (0.5, 0.5));
    let t = norm_tails(f64::INFINITY);
    assert_eq!((t.lower, t.upper, t.pdf), (1.0, 0.0, 0.0));
    let t = norm_tails(f64::NEG_INFINITY);
    assert_eq!((t.lower, t.upper, t.pdf), (0.0, 1.0, 0.0));
    let t = norm_tails(-40.0);
    assert!(t.lower >= 0.0 && t.lower < 1e-300 && t.upper == 1.0);
    let t = norm_tails(f64::NAN);
    assert!(t.lower.is_nan() && t.upper.is_nan() && t.pdf.is_nan());
}
