//! A respondent as a row of a raw CMDS-2014 extract (item codes, numeric codes, missing
//! codes; `data-schema/cmds2014.toml`), and the whole synthetic extract.

use super::{draw_outcomes, draw_person, Dgp, Outcomes, Person};
use crate::simulate::{fmt_money, rng, RawTable, SimRng};
use rand::RngExt;

/// Item codes of the raw extract, in file order (see `data-schema/cmds2014.toml`).
pub const RAW_COLUMNS: [&str; 30] = [
    "ID", "prov", "city", "stratum", "psu", "weight", "q101b", "q101c", "q101e", "q101f", "q101g", "q100", "q201",
    "q214", "q301", "q302a", "q302b", "q303", "q304", "q501", "q601", "q602", "q603", "q604", "q605a", "q605b",
    "q605c", "q605d", "q605e", "q606",
];

const PROVINCES: [u32; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63,
    64, 65,
];

/// Share of extra respondents outside the analysis universe (not hospitalised locally, or not
/// in one of the three schemes), written so that the schema's universe filter is exercised.
pub const OUT_OF_UNIVERSE_SHARE: f64 = 0.03;

/// Simulates an extract with `n` respondents in the analysis population (plus about 3%
/// outside it) in the raw layout.
pub fn simulate(dgp: &Dgp, n: usize, seed: u64) -> RawTable {
    let mut rng = rng(seed);
    let header: Vec<String> = RAW_COLUMNS.iter().map(|s| s.to_string()).collect();
    let mut rows = Vec::with_capacity(n + n / 20);
    let mut id = 0u64;
    let mut in_universe = 0usize;
    while in_universe < n {
        id += 1;
        let p = draw_person(&mut rng);
        let out_kind = if rng.random::<f64>() < OUT_OF_UNIVERSE_SHARE { Some(rng.random_range(0..3u32)) } else { None };
        let o = draw_outcomes(dgp, &p, &mut rng);
        rows.push(raw_row(&mut rng, id, &p, &o, out_kind));
        if out_kind.is_none() {
            in_universe += 1;
        }
    }
    RawTable { header, rows }
}

fn pick(rng: &mut SimRng, codes: &[u32]) -> u32 {
    codes[rng.random_range(0..codes.len())]
}

fn raw_row(rng: &mut SimRng, id: u64, p: &Person, o: &Outcomes, out: Option<u32>) -> Vec<String> {
    let s = |v: u32| v.to_string();
    let prov = PROVINCES[rng.random_range(0..PROVINCES.len())];
    let city = prov * 100 + 1 + rng.random_range(0..6u32);
    let psu = city * 100 + rng.random_range(0..20u32);
    let weight = 0.5 + 1.5 * rng.random::<f64>();
    let female = if p.female { 2 } else { 1 };
    let educ = match p.education {
        0 => pick(rng, &[1, 2, 2]),
        1 => 3,
        2 => pick(rng, &[4, 4, 5]),
        _ => pick(rng, &[6, 6, 7, 8]),
    };
    let hukou = if p.rural { pick(rng, &[1, 1, 1, 3]) } else { pick(rng, &[2, 2, 4]) };
    let marital = if p.married { pick(rng, &[2, 2, 2, 3]) } else { pick(rng, &[1, 1, 4, 5, 6]) };
    let scope = [3, 2, 1][p.scope];
    // Arrival: `duration_months` months before May 2014.
    let idx = 2014 * 12 + 4 - p.duration_months;
    let (ay, am) = (idx / 12, idx % 12 + 1);
    let reason = match p.reason {
        0 => 1,
        1 => 2,
        _ => pick(rng, &[3, 4, 5, 6]),
    };
    let urban_area = if p.urban_area { 1 } else { pick(rng, &[2, 3]) };
    let scheme = p.scheme as u32 + 1;
    let mut row = vec![
        id.to_string(),
        s(prov),
        s(city),
        s(prov),
        s(psu),
        format!("{weight:.4}"),
        s(female),
        s(2014 - p.age as u32),
        s(educ),
        s(hukou),
        s(marital),
        s(p.hh_size),
        s(if p.has_job { 1 } else { 2 }),
        fmt_money(p.hh_income),
        s(scope),
        s(ay),
        s(am),
        s(reason),
        s(urban_area),
        s(scheme),
        "1".into(),
        "1".into(),
        s(p.facility as u32 + 1),
        fmt_money(o.total),
    ];
    // q605a..e (where reimbursed) and q606 (amount).
    let mut reimb = ["0"; 5];
    let amount;
    if o.received {
        // Most recipients are reimbursed locally, cross-province migrants more often back home.
        let home = rng.random::<f64>() < if p.scope == 2 { 0.35 } else { 0.15 };
        reimb[if home { 1 } else { 0 }] = "1";
        if rng.random::<f64>() < 0.05 {
            reimb[3] = "1";
        }
        amount = match o.amount {
            Some(a) => fmt_money(a),
            // Lost amounts: half refused (-1), half recorded as 0 (both unusable).
            None => {
                if rng.random::<bool>() {
                    "-1".into()
                } else {
                    "0".into()
                }
            }
        };
    } else {
        let u = rng.random::<f64>();
        if u < 0.08 {
            reimb[3] = "1";
        } else if u < 0.12 {
            reimb[4] = "1";
        }
        amount = "0".into();
    }
    row.extend(reimb.iter().map(|s| s.to_string()));
    row.push(amount);
    match out {
        None => {}
        Some(0) => {
            // Not hospitalised: the inpatient items are skipped.
            row[20] = "2".into();
            for f in &mut row[21..30] {
                *f = "不适用".into();
            }
        }
        Some(1) => {
            // Hospitalised in the hometown.
            row[21] = "2".into();
        }
        _ => {
            // Outside the three schemes (government free care or uninsured), some items
            // refused.
            row[19] = pick(rng, &[4, 5]).to_string();
            row[13] = "-1".into();
            row[8] = "99".into();
            row[23] = "NA".into();
        }
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_extract() {
        let dgp = Dgp::embedded();
        assert_eq!(simulate(&dgp, 500, 1), simulate(&dgp, 500, 1));
        assert_ne!(simulate(&dgp, 500, 1), simulate(&dgp, 500, 2));
    }
}
