//! Tests of a row of a descriptive table against the groups: Pearson's chi-square test of
//! independence and one-way ANOVA.
//!
//! Chi-square: X² = Σ (O - E)² / E with E = row total × column total / N over an r × c table
//! of counts, on (r - 1)(c - 1) degrees of freedom, no continuity correction (Stata's
//! `tabulate, chi2`; scipy's `chi2_contingency(correction=False)`). Rows and columns with a
//! zero total are dropped, as Stata does.
//!
//! ANOVA: F = (SSB / (k - 1)) / (SSW / (N - k)) with SSB = Σ n_g (x̄_g - x̄)² and
//! SSW = Σ Σ (x - x̄_g)², on k - 1 and N - k degrees of freedom (Stata's `oneway`, scipy's
//! `f_oneway`). Groups with no values are dropped.

use serde::Serialize;

/// The result of a test.
#[derive(Debug, Clone, Serialize)]
pub struct Test {
    /// `chi2` or `anova`.
    pub test: &'static str,
    pub statistic: f64,
    pub df1: f64,
    pub df2: Option<f64>,
    pub p_value: f64,
}

/// Pearson's chi-square test of independence on a table of counts (`table[row][column]`, all
/// rows the same length). `None` when fewer than two rows or columns have a positive total.
pub fn chi2_test(table: &[Vec<u64>]) -> Option<Test> {
    let rows: Vec<&Vec<u64>> = table.iter().filter(|r| r.iter().sum::<u64>() > 0).collect();
    if rows.is_empty() {
        return None;
    }
    let ncol = rows[0].len();
    let cols: Vec<usize> = (0..ncol).filter(|&j| rows.iter().map(|r| r[j]).sum::<u64>() > 0).collect();
    if rows.len() < 2 || cols.len() < 2 {
        return None;
    }
    let total: f64 = rows.iter().map(|r| cols.iter().map(|&j| r[j]).sum::<u64>()).sum::<u64>() as f64;
    let row_tot: Vec<f64> = rows.iter().map(|r| cols.iter().map(|&j| r[j]).sum::<u64>() as f64).collect();
    let col_tot: Vec<f64> = cols.iter().map(|&j| rows.iter().map(|r| r[j]).sum::<u64>() as f64).collect();
    let mut stat = 0.0;
    for (i, r) in rows.iter().enumerate() {
        for (jj, &j) in cols.iter().enumerate() {
            let e = row_tot[i] * col_tot[jj] / total;
            let d = r[j] as f64 - e;
            stat += d * d / e;
        }
    }
    let df = ((rows.len() - 1) * (cols.len() - 1)) as f64;
    // df >= 1 here, so the distribution exists and p is its upper tail.
    let p = super::chi2_sf(stat, df);
    Some(Test { test: "chi2", statistic: stat, df1: df, df2: None, p_value: p })
}

/// The p-value of [`chi2_test`] on a 2 × k table given as k groups of 0/1 values, with the
/// expected counts written m_g p and m_g (1 - p), p the overall share of ones. A variant kept
/// on purpose: it is the same statistic as [`chi2_test`] of the table [ones, zeros], but the
/// different order of operations changes the last bits of the p-value (5.2430706912994855e-14
/// against ...476e-14 for Table 2 of `reproduce wang2022`), and the reproduction's output must
/// stay byte-identical. NaN when the test is undefined.
pub fn chi2_binary_groups(groups: &[Vec<f64>]) -> f64 {
    let ones: Vec<f64> = groups.iter().map(|g| g.iter().sum::<f64>()).collect();
    let ns: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let n: f64 = ns.iter().sum();
    let p = ones.iter().sum::<f64>() / n;
    let mut x2 = 0.0;
    for (o, m) in ones.iter().zip(&ns) {
        let e1 = m * p;
        let e0 = m * (1.0 - p);
        x2 += (o - e1).powi(2) / e1 + ((m - o) - e0).powi(2) / e0;
    }
    super::chi2_sf(x2, groups.len() as f64 - 1.0)
}

/// One-way ANOVA across groups of values. `None` with fewer than two non-empty groups, no
/// residual degrees of freedom, or a non-finite F.
pub fn anova(groups: &[Vec<f64>]) -> Option<Test> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let k = groups.len();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    if k < 2 || n <= k {
        return None;
    }
    let grand = groups.iter().map(|g| g.iter().sum::<f64>()).sum::<f64>() / n as f64;
    let mut ssb = 0.0;
    let mut ssw = 0.0;
    for g in &groups {
        let m = g.iter().sum::<f64>() / g.len() as f64;
        ssb += g.len() as f64 * (m - grand) * (m - grand);
        ssw += g.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    }
    let (df1, df2) = ((k - 1) as f64, (n - k) as f64);
    let f = (ssb / df1) / (ssw / df2);
    if !f.is_finite() {
        return None;
    }
    // df1, df2 >= 1 here, so the distribution exists and p is its upper tail.
    let p = super::f_sf(f, df1, df2);
    Some(Test { test: "anova", statistic: f, df1, df2: Some(df2), p_value: p })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_two_by_two() {
        // scipy.stats.chi2_contingency([[10, 20], [30, 40]], correction=False).
        let t = chi2_test(&[vec![10, 20], vec![30, 40]]).unwrap();
        assert!((t.statistic - 0.793_650_793_650_793_7).abs() < 1e-12, "{}", t.statistic);
        assert_eq!(t.df1, 1.0);
        // A zero row or column is dropped, leaving one row: no test.
        assert!(chi2_test(&[vec![10, 20], vec![0, 0]]).is_none());
        // The 0/1-groups variant is the same test: groups with 10 and 30 ones, 20 and 40 zeros.
        let groups: Vec<Vec<f64>> =
            [(10, 20), (30, 40)].iter().map(|&(o, z)| [vec![1.0; o], vec![0.0; z]].concat()).collect();
        assert!((chi2_binary_groups(&groups) / t.p_value - 1.0).abs() < 1e-12);
    }

    #[test]
    fn anova_of_identical_groups_is_one() {
        let t = anova(&[vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]]).unwrap();
        assert!(t.statistic.abs() < 1e-15 && (t.p_value - 1.0).abs() < 1e-12);
        assert!(anova(&[vec![1.0, 2.0], vec![]]).is_none());
    }
}
