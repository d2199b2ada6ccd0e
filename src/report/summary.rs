//! `--format summary`: the plain-text listing of a report, Stata's output style (every
//! coefficient and effect with its statistic, p-value and interval, t with the design df).

use crate::output::{Lincom, Margin, Report};

fn fmt_num(v: f64, width: usize) -> String {
    if !v.is_finite() {
        return format!("{:>width$}", ".");
    }
    let a = v.abs();
    let s = if a != 0.0 && !(1e-4..1e7).contains(&a) { format!("{v:.3e}") } else { format!("{v:.7}") };
    // Keep at most 7 significant digits in fixed notation.
    let s = if s.contains('e') { s } else { trim_sig(v, 7) };
    format!("{s:>width$}")
}

fn trim_sig(v: f64, sig: usize) -> String {
    let a = v.abs();
    let int_digits = if a >= 1.0 { (a.log10().floor() as i32 + 1) as usize } else { 0 };
    let dec = sig.saturating_sub(int_digits).max(if a < 1.0 { sig } else { 0 });
    format!("{v:.dec$}")
}

/// A plain-text summary of a report (the reporter issue adds formatted tables).
pub fn to_text(report: &Report) -> String {
    let mut out = String::new();
    for m in &report.models {
        let title = match m.model.as_str() {
            "probit" => "Probit regression".to_string(),
            "logit" => "Logistic regression".to_string(),
            _ => format!("Generalized linear model: family {}, link {}", m.family, m.link),
        };
        let label = if report.models.len() > 1 { format!("[{}] ", m.name) } else { String::new() };
        out.push_str(&format!("{label}{title}\n"));
        out.push_str(&format!("Formula: {}\n", m.formula));
        out.push_str(&format!(
            "Number of obs = {}   (rows dropped: {})\nLog likelihood = {}",
            crate::data::format_number(m.n_obs),
            m.n_dropped,
            trim_sig(m.log_likelihood, 10)
        ));
        if let Some(r2) = m.pseudo_r2 {
            out.push_str(&format!("   Pseudo R2 = {:.4}", r2));
        }
        if m.model == "glm" {
            out.push_str(&format!(
                "   Deviance = {}   Dispersion = {}",
                trim_sig(m.deviance, 8),
                trim_sig(m.dispersion, 8)
            ));
        }
        out.push('\n');
        if let Some(w) = &m.weights {
            out.push_str(&format!("Weights: {} ({})\n", w.variable, w.kind));
        }
        out.push_str(&format!("Std. errors: {}\n\n", m.vce));
        let tw = m
            .coefficients
            .iter()
            .map(|c| c.term.chars().count())
            .chain(m.margins.iter().map(|c| c.term.chars().count() + 2))
            .chain(m.lincom.iter().map(|c| c.term.chars().count()))
            .max()
            .unwrap_or(4)
            .max(12);
        let head = if m.odds_ratios { "odds ratio" } else { "coef." };
        let ci = format!("[{}% conf. interval]", crate::data::format_number(m.level));
        // Rows with their own degrees of freedom (CR2/CR3) are t tests, with a df column.
        let row_df = m.coefficients.iter().any(|c| c.df.is_some());
        let (stat, p) = crate::inference::labels(if row_df { Some(f64::NAN) } else { m.df_r });
        let df_head = if row_df { format!(" {:>8}", "df") } else { String::new() };
        out.push_str(&format!(
            "{:<tw$} {:>12} {:>12} {:>8} {:>7} {:>25}{df_head}\n",
            "", head, "std. err.", stat, p, ci
        ));
        out.push_str(&format!("{}\n", "-".repeat(tw + 68 + df_head.len())));
        for c in &m.coefficients {
            out.push_str(&format!(
                "{:<tw$} {} {} {:>8.2} {:>7.3} {} {}{}\n",
                c.term,
                fmt_num(c.estimate, 12),
                fmt_num(c.std_error, 12),
                c.statistic,
                c.p_value,
                fmt_num(c.conf_low, 12),
                fmt_num(c.conf_high, 12),
                c.df.map(|d| format!(" {d:>8.1}")).unwrap_or_default()
            ));
        }
        for o in &m.omitted {
            out.push_str(&format!("{:<tw$} {:>12}  ({})\n", o.term, "(omitted)", o.reason));
        }
        if !m.margins.is_empty() {
            out.push_str(&format!(
                "\n{}\n",
                m.margins_description.clone().unwrap_or_else(|| "Marginal effects".into())
            ));
            push_margins(&mut out, &m.margins, tw, m.df_r);
        }
        if !m.tests.is_empty() || !m.lincom.is_empty() {
            out.push('\n');
        }
        for t in &m.tests {
            out.push_str(&format!("{}\n", t.sentence()));
        }
        if !m.lincom.is_empty() {
            out.push_str("Linear combinations\n");
            push_lincom(&mut out, &m.lincom, tw, m.df_r);
        }
        for n in &m.notes {
            out.push_str(&format!("Note: {n}\n"));
        }
        out.push('\n');
    }
    if let Some(c) = &report.combined {
        out.push_str(&format!("{}\nStd. errors: {}\n", c.description, c.vce));
        let tw = c.margins.iter().map(|m| m.term.chars().count() + 2).max().unwrap_or(12).max(12);
        // The combined effects use the parts' variance, and so their degrees of freedom.
        push_margins(&mut out, &c.margins, tw, report.models.first().and_then(|m| m.df_r));
        for t in &c.tests {
            out.push_str(&format!("{}\n", t.sentence()));
        }
        if !c.lincom.is_empty() {
            out.push_str("Linear combinations\n");
            let tw = c.lincom.iter().map(|l| l.term.chars().count() + 2).max().unwrap_or(12).max(12);
            push_lincom(&mut out, &c.lincom, tw, report.models.first().and_then(|m| m.df_r));
        }
    }
    out
}

fn push_lincom(out: &mut String, rows: &[Lincom], tw: usize, df: Option<f64>) {
    let (stat, p) = crate::inference::labels(df);
    out.push_str(&format!(
        "{:<tw$} {:>12} {:>12} {:>8} {:>7} {:>12} {:>12}\n",
        "", "estimate", "std. err.", stat, p, "low", "high"
    ));
    out.push_str(&format!("{}\n", "-".repeat(tw + 70)));
    for l in rows {
        out.push_str(&format!(
            "{:<tw$} {} {} {:>8.2} {:>7.3} {} {}\n",
            l.term,
            fmt_num(l.estimate, 12),
            fmt_num(l.std_error, 12),
            l.statistic,
            l.p_value,
            fmt_num(l.conf_low, 12),
            fmt_num(l.conf_high, 12)
        ));
    }
}

fn push_margins(out: &mut String, margins: &[Margin], tw: usize, df: Option<f64>) {
    let row_df = margins.iter().any(|m| m.df.is_some());
    let (stat, p) = crate::inference::labels(if row_df { Some(f64::NAN) } else { df });
    let df_head = if row_df { format!(" {:>8}", "df") } else { String::new() };
    out.push_str(&format!(
        "{:<tw$} {:>14} {:>12} {:>12} {:>8} {:>7}{df_head}\n",
        "", "contrast", "effect", "std. err.", stat, p
    ));
    out.push_str(&format!("{}\n", "-".repeat(tw + 58 + df_head.len())));
    for m in margins {
        out.push_str(&format!(
            "{:<tw$} {:>14} {} {} {:>8.2} {:>7.3}{}\n",
            m.term,
            m.contrast,
            fmt_num(m.estimate, 12),
            fmt_num(m.std_error, 12),
            m.statistic,
            m.p_value,
            m.df.map(|d| format!(" {d:>8.1}")).unwrap_or_default()
        ));
    }
}
