//! The plain-text rendering of the wang2022 reproduction.

use super::Spec;
use crate::study::compare::Reproduction;
use crate::report::format;

fn f3(v: f64) -> String {
    if v.is_nan() {
        ".".into()
    } else {
        format!("{v:.3}")
    }
}

/// The columns of a comparison block: header and narrowest width (the widths of the first
/// layout, kept so that tables whose cells fit print as they always did).
const COLUMNS: [(&str, usize); 7] =
    [("row", 52), ("column", 8), ("published", 11), ("(SE)", 9), ("reproduced", 11), ("(SE)", 9), ("diff/SE", 8)];

/// `s` padded with spaces to `width` terminal columns (display width, so that CJK labels
/// line up), on the right for the first two columns and on the left for the numbers.
/// (A small local helper: the shared formatting module `report::format` can replace it.)
fn pad(s: &str, width: usize, left_align: bool) -> String {
    if left_align {
        format::pad_right(s, width)
    } else {
        format::pad_left(s, width)
    }
}

/// One line of a block: cells separated by one space, each padded to its column's width.
fn line(cells: &[String], widths: &[usize]) -> String {
    let padded: Vec<String> = cells.iter().zip(widths).enumerate().map(|(j, (c, w))| pad(c, *w, j < 2)).collect();
    padded.join(" ")
}

/// Plain-text rendering: one block per table, published | reproduced | difference in SE.
/// Each column of a block is as wide as its widest cell (at least its width in [`COLUMNS`]).
/// (INTERIM: to be replaced by the `report` branch's table model and renderers.)
pub fn to_text(r: &Reproduction, spec: &Spec) -> String {
    let mut out = String::new();
    out.push_str(&format!("{}\n{}\nData: {}\n", spec.study.title, spec.study.citation, r.data));
    let titles = [
        ("table1", "Table 1. Sample characteristics: n (%) as percent, mean (SD) as mean"),
        ("table2", "Table 2. Outcomes by migration scope; tests: chi-square (proportion), one-way ANOVA"),
        ("table3", "Table 3. Two-part model, total sample: average marginal effects (OIM delta-method SE)"),
        ("table4", "Table 4. Migration-scope average marginal effects in the insurance subsamples"),
    ];
    for (t, title) in titles {
        out.push_str(&format!("\n{title}\n"));
        let header: Vec<String> = COLUMNS.iter().map(|(h, _)| h.to_string()).collect();
        let mut rows: Vec<(Vec<String>, &str)> = Vec::new();
        for c in r.cells.iter().filter(|c| c.table == t) {
            let se = |s: Option<f64>| s.map(|v| format!("({})", f3(v))).unwrap_or_default();
            let digits = if t == "table1" || t == "table2" { 2 } else { 3 };
            let v = |x: f64| if x.is_nan() { ".".to_string() } else { format!("{x:.digits$}") };
            let flag = match c.within {
                Some(false) => " *",
                _ => "",
            };
            let cells = vec![
                c.row.clone(),
                c.column.clone(),
                v(c.published),
                se(c.published_se),
                v(c.reproduced),
                se(c.reproduced_se),
                c.diff_se.map(|d| format!("{d:+.2}")).unwrap_or_default(),
            ];
            rows.push((cells, flag));
        }
        let widths: Vec<usize> = (0..COLUMNS.len())
            .map(|j| rows.iter().map(|(cells, _)| format::width(&cells[j])).fold(COLUMNS[j].1, usize::max))
            .collect();
        out.push_str(&line(&header, &widths));
        out.push('\n');
        for (cells, flag) in &rows {
            out.push_str(&line(cells, &widths));
            out.push_str(flag);
            out.push('\n');
        }
    }
    out.push_str("\n* = more than 1.96 published SE from the reproduced value.\n");
    out.push_str(&format!("Summary: {}\n", r.summary()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::compare::Cell;

    fn cell(table: &str, row: &str, column: &str, published_se: f64) -> Cell {
        Cell {
            table: table.into(),
            row: row.into(),
            column: column.into(),
            published: 10326.81,
            published_se: Some(published_se),
            reproduced: 10385.08,
            reproduced_se: Some(880.618),
            diff_se: Some(0.07),
            within: Some(true),
        }
    }

    /// The display width of every line of a table block (header and rows, without the
    /// trailing flag).
    fn block_widths(text: &str, title: &str) -> Vec<usize> {
        let block = text.split(title).nth(1).unwrap().split("\n\n").next().unwrap();
        block.lines().skip(1).map(|l| format::width(l.trim_end_matches(" *"))).collect()
    }

    /// Regression: a column name longer than its column (Table 2's "across_provinces"), a
    /// wide SE and a CJK row label pushed the following columns out of line.
    #[test]
    fn long_cells_widen_their_column_instead_of_overflowing() {
        let spec = Spec::embedded();
        let cells = vec![
            cell("table2", "total_expenditure_yuan (mean)", "within_city", 866.524),
            cell("table2", "total_expenditure_yuan (mean)", "across_provinces", 1403.329),
            cell("table2", "总医疗费用 (mean)", "across_cities", 889.892),
        ];
        let text = to_text(&Reproduction::new("wang2022".into(), "test".into(), cells), &spec);
        let w = block_widths(&text, "Table 2.");
        assert_eq!(w.len(), 4, "{text}");
        assert!(w.iter().all(|x| *x == w[0]), "lines of unequal width {w:?}:\n{text}");
        // The numbers end under their headers.
        let block = text.split("Table 2.").nth(1).unwrap();
        let header = block.lines().nth(1).unwrap();
        let end = header.find("published").unwrap() + "published".len();
        for l in block.lines().skip(2).take(3) {
            let at = l.find("10326.81").unwrap() + "10326.81".len();
            assert_eq!(format::width(&l[..at]), end, "{block}");
        }
    }

    /// Cells that fit keep the first layout's widths.
    #[test]
    fn short_cells_keep_the_minimum_widths() {
        let spec = Spec::embedded();
        let cells = vec![cell("table3", "URBMI", "probit", 0.049)];
        let text = to_text(&Reproduction::new("wang2022".into(), "test".into(), cells), &spec);
        let block = text.split("Table 3.").nth(1).unwrap();
        let header = block.lines().nth(1).unwrap();
        assert_eq!(
            header,
            format!(
                "{:<52} {:<8} {:>11} {:>9} {:>11} {:>9} {:>8}",
                "row", "column", "published", "(SE)", "reproduced", "(SE)", "diff/SE"
            )
        );
    }
}
