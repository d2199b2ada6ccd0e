//! The analysis population with expected outcomes (calibration and probability limits).

use super::{Dgp, Person};
use crate::data::{Column, ColumnData, Dataset, Factor, Level};

fn factor(codes: Vec<u32>, names: &[&str], reference: usize) -> ColumnData {
    ColumnData::Categorical(Factor { codes, levels: names.iter().map(|n| Level::new(*n)).collect(), reference })
}

/// Builds the analysis dataset of a population of respondents with the outcomes replaced by
/// their conditional means under `dgp`, plus a `w_recipient` column (Pr(received) times the
/// retention share) that weights the second parts: the estimating equations of the paper's
/// probit and GLMs are linear in the outcome, so fitting them on the means (weighted by the
/// probability of being in the sample) gives their probability limits without outcome noise.
pub fn expected_dataset(dgp: &Dgp, people: &[Person]) -> Dataset {
    let n = people.len();
    let lines: Vec<u64> = (0..n as u64).map(|i| i + 2).collect();
    let mut ds = Dataset::new("calibration population", lines);
    let mut push =
        |name: &str, data: ColumnData| ds.push(Column { name: name.into(), data, label: None, label_zh: None });
    let b = |f: &dyn Fn(&Person) -> bool| -> ColumnData {
        ColumnData::Numeric(people.iter().map(|p| if f(p) { 1.0 } else { 0.0 }).collect())
    };
    let c = |f: &dyn Fn(&Person) -> usize, names: &[&str]| -> ColumnData {
        factor(people.iter().map(|p| f(p) as u32).collect(), names, 0)
    };
    push("scheme", c(&|p| p.scheme, &["NCMS", "URBMI", "UEBMI"]));
    push("scheme_group", c(&|p| p.urban as usize, &["ncms", "urban"]));
    push("female", b(&|p| p.female));
    push("age", ColumnData::Numeric(people.iter().map(|p| p.age).collect()));
    push("age2", ColumnData::Numeric(people.iter().map(|p| p.age * p.age).collect()));
    push("education", c(&|p| p.education, &["primary_or_below", "junior_high", "senior_high", "college_plus"]));
    push("rural_hukou", b(&|p| p.rural));
    push("married", b(&|p| p.married));
    push("has_job", b(&|p| p.has_job));
    // The paper's quintiles are cut in the sample; in a population the sample cut points are
    // the population ones, which the DGP uses.
    push("income_q", c(&|p| dgp.quintile(p), &["Q1", "Q2", "Q3", "Q4", "Q5"]));
    push("scope", c(&|p| p.scope, &["within_city", "across_cities", "across_provinces"]));
    push("duration", c(&|p| p.duration, &["lt1", "y1_4", "y5_9", "y10plus"]));
    push("reason", c(&|p| p.reason, &["seeking_jobs", "family_following", "other_reason"]));
    push("urban_area", b(&|p| p.urban_area));
    push("facility", c(&|p| p.facility, &["primary", "secondary", "tertiary", "private"]));
    let means: Vec<[f64; 3]> = people.iter().map(|p| dgp.means(p)).collect();
    let keep = 1.0 - dgp.file.lost_share;
    push("received", ColumnData::Numeric(means.iter().map(|m| m[0]).collect()));
    push("log_amount", ColumnData::Numeric(means.iter().map(|m| m[1]).collect()));
    push("ratio", ColumnData::Numeric(means.iter().map(|m| m[2]).collect()));
    push("w_recipient", ColumnData::Numeric(means.iter().map(|m| m[0] * keep).collect()));
    ds
}
