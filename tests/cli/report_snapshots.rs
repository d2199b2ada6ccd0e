//! Snapshot tests of every table format and both layouts, on a hand-made report shaped like
//! the reference study's Table 3 (probit | GLM amount | GLM ratio), one set with Chinese
//! labels. The expected files live in tests/snapshots/report/; to accept new output run
//! `MIGFIT_UPDATE_SNAPSHOTS=1 cargo test --test report_snapshots` and review the diff.

use migfit::output::{Coefficient, LevelInfo, Margin, ModelReport, Report, VariableInfo};
use migfit::report::{self, Format, Lang, Layout, Show, Stars, TableOptions};

fn coef(term: &str, b: f64, se: f64) -> Coefficient {
    let (statistic, p_value, conf_low, conf_high) = migfit::output::inference(b, se, 95.0);
    Coefficient { term: term.into(), estimate: b, std_error: se, statistic, p_value, conf_low, conf_high, df: None }
}

fn margin(term: &str, contrast: &str, b: f64, se: f64) -> Margin {
    Margin::new(term.into(), contrast.into(), b, se, 95.0)
}

fn model(name: &str, response: &str, kind: &str, rows: &[(f64, f64, f64, f64)], n: f64, ll: f64) -> ModelReport {
    let terms = ["(Intercept)", "scheme[URBMI]", "scheme[UEBMI]", "age", "age_squared", "female"];
    let coefficients = terms.iter().zip(rows).map(|(t, r)| coef(t, r.0, r.1)).collect();
    let margins = vec![
        margin("scheme[URBMI]", "URBMI vs NCMS", rows[1].2, rows[1].3),
        margin("scheme[UEBMI]", "UEBMI vs NCMS", rows[2].2, rows[2].3),
        margin("age", "dydx", rows[3].2, rows[3].3),
        margin("age_squared", "dydx", rows[4].2, rows[4].3),
        margin("female", "dydx", rows[5].2, rows[5].3),
    ];
    let probit = kind == "probit";
    ModelReport {
        name: name.into(),
        formula: format!("{response} ~ scheme + age + age_squared + female"),
        response: response.into(),
        model: kind.into(),
        family: if probit { "binomial" } else { "gamma" }.into(),
        link: if probit { "probit" } else { "log" }.into(),
        n_obs: n,
        n_rows: n as usize,
        n_dropped: 0,
        log_likelihood: ll,
        ll_null: probit.then_some(ll * 1.2),
        pseudo_r2: probit.then_some(1.0 - 1.0 / 1.2),
        deviance: 1.0,
        pearson_chi2: 1.0,
        dispersion: 1.0,
        df_resid: n - 6.0,
        converged: true,
        iterations: 5,
        vce: "Cluster-robust by city (58 clusters), small-sample factor (G/(G-1)) (N-1)/(N-k).".into(),
        vce_type: "cluster".into(),
        vce_factor: 1.01,
        n_clusters: Some(58),
        df_r: None,
        weights: None,
        level: 95.0,
        odds_ratios: false,
        coefficients,
        omitted: vec![],
        margins_description: Some(
            "Average marginal effects; factor levels as discrete changes from the reference.".into(),
        ),
        margins,
        predictions: Vec::new(),
        contrasts: Vec::new(),
        notes: if probit { vec!["12 rows dropped because of missing values".into()] } else { vec![] },
        aic: None,
        bic: None,
        model_test: None,
        n_strata: None,
        tests: vec![],
        lincom: vec![],
        vcov: None,
    }
}

fn var(name: &str, en: &str, zh: &str) -> VariableInfo {
    let mut v = VariableInfo::numeric(name);
    v.label = Some(en.into());
    v.label_zh = Some(zh.into());
    v
}

fn level(name: &str, en: &str, zh: &str) -> LevelInfo {
    LevelInfo { name: name.into(), label: Some(en.into()), label_zh: Some(zh.into()) }
}

pub(crate) fn table3_report() -> Report {
    // (coef, se, margin, se) per term; margins from the published Table 3.
    let probit = [
        (-0.512, 0.31, 0.0, 0.0),
        (0.061, 0.14, 0.021, 0.049),
        (1.210, 0.15, 0.375, 0.044),
        (0.031, 0.037, 0.010, 0.012),
        (-0.0004, 0.0005, 0.0001, 0.0002),
        (0.075, 0.097, 0.024, 0.031),
    ];
    let amount = [
        (7.9, 0.6, 0.0, 0.0),
        (0.222, 0.136, 0.222, 0.136),
        (0.428, 0.094, 0.428, 0.094),
        (0.026, 0.030, 0.026, 0.030),
        (-0.0003, 0.0004, -0.0003, 0.0004),
        (-0.004, 0.078, -0.004, 0.078),
    ];
    let ratio = [
        (-1.1, 0.2, 0.0, 0.0),
        (0.35, 0.07, 0.147, 0.031),
        (0.48, 0.05, 0.201, 0.023),
        (0.014, 0.014, 0.006, 0.006),
        (-0.0001, 0.0002, 0.0, 0.0001),
        (0.043, 0.038, 0.018, 0.016),
    ];
    let mut scheme = var("scheme", "Social health insurance", "社会医疗保险");
    scheme.term_prefix = Some("scheme".into());
    scheme.levels = vec![
        level("NCMS", "NCMS", "新农合"),
        level("URBMI", "URBMI", "城镇居民医保"),
        level("UEBMI", "UEBMI", "城镇职工医保"),
    ];
    scheme.reference = Some(0);
    Report {
        migfit_version: "0.1.0".into(),
        command: "fit".into(),
        data: "cmds2014_extract.csv".into(),
        data_sha256: Some("0f".repeat(32)),
        models: vec![
            model("model1", "received", "probit", &probit, 1165.0, -689.251),
            model("model2", "log(amount)", "glm", &amount, 663.0, -1502.77),
            model("model3", "ratio", "glm", &ratio, 663.0, 402.118),
        ],
        combined: None,
        tests: Vec::new(),
        variables: vec![
            var("received", "Received reimbursement", "获得报销"),
            var("amount", "Reimbursement amount", "报销金额"),
            var("ratio", "Reimbursement ratio", "报销比例"),
            scheme,
            var("age", "Age", "年龄"),
            var("age_squared", "Age squared", "年龄平方"),
            var("female", "Female", "女性"),
        ],
    }
}

fn check(name: &str, actual: &str) {
    crate::snapshot::check(&format!("report/{name}"), actual);
}

fn opts(layout: Layout, show: Show, lang: Lang) -> TableOptions {
    TableOptions {
        layout,
        show,
        stars: Stars::default(),
        digits: 3,
        lang,
        titles: vec![],
        caption: Some("Table 3. Two-part model of reimbursement".into()),
        stats: vec![],
    }
}

const FORMATS: [(Format, &str); 5] = [
    (Format::Text, "txt"),
    (Format::Markdown, "md"),
    (Format::Latex, "tex"),
    (Format::Csv, "csv"),
    (Format::Html, "html"),
];

#[test]
fn every_format_and_layout_in_english() {
    let r = table3_report();
    for (layout, lname) in [(Layout::Stacked, "stacked"), (Layout::Side, "side")] {
        for (show, sname) in [(Show::Margins, "margins"), (Show::Coef, "coef")] {
            for (format, ext) in FORMATS {
                let out = report::render(&r, &opts(layout, show, Lang::En), format, false).unwrap();
                check(&format!("en_{lname}_{sname}.{ext}"), &out);
            }
        }
    }
    let out = report::render(&r, &opts(Layout::Stacked, Show::Margins, Lang::En), Format::Latex, true).unwrap();
    check("en_stacked_margins_standalone.tex", &out);
    let out = report::render(&r, &opts(Layout::Stacked, Show::Coef, Lang::En), Format::Json, false).unwrap();
    check("report.json", &out);
}

#[test]
fn chinese_labels() {
    let r = table3_report();
    for (layout, lname) in [(Layout::Stacked, "stacked"), (Layout::Side, "side")] {
        for (format, ext) in FORMATS {
            let out = report::render(&r, &opts(layout, Show::Margins, Lang::Zh), format, false).unwrap();
            check(&format!("zh_{lname}_margins.{ext}"), &out);
        }
    }
    let out = report::render(&r, &opts(Layout::Side, Show::Margins, Lang::Zh), Format::Latex, true).unwrap();
    check("zh_side_margins_standalone.tex", &out);
}

#[test]
fn text_columns_line_up_with_chinese_labels() {
    use unicode_width::UnicodeWidthStr;
    let r = table3_report();
    let out = report::render(&r, &opts(Layout::Stacked, Show::Margins, Lang::Zh), Format::Text, false).unwrap();
    // Every line of numbers ends at the same display column.
    let ends: Vec<usize> = out
        .lines()
        .filter(|l| l.trim_end().ends_with(')') || l.contains("0.375"))
        .map(|l| UnicodeWidthStr::width(l.trim_end()))
        .collect();
    assert!(ends.len() > 4, "{out}");
    let rule = out.lines().find(|l| l.starts_with("===")).unwrap().len();
    assert!(ends.iter().all(|&e| e <= rule), "{ends:?} {rule}\n{out}");
    // The header naming the reference level, in Chinese.
    assert!(out.contains("社会医疗保险（参照组：新农合）"), "{out}");
}

#[test]
fn odds_ratios_need_logit() {
    let r = table3_report();
    let e = report::build(&r, &opts(Layout::Stacked, Show::OddsRatios, Lang::En)).unwrap_err();
    assert!(e.to_string().contains("showing odds ratios (or) needs logit"), "{e}");
}

#[test]
fn stars_and_digits_are_configurable() {
    let r = table3_report();
    let mut o = opts(Layout::Side, Show::Margins, Lang::En);
    o.stars = Stars::parse("0.1,0.05,0.01").unwrap();
    o.digits = 2;
    let out = report::render(&r, &o, Format::Markdown, false).unwrap();
    assert!(out.contains("0.38\\*\\*\\*"), "{out}");
    assert!(out.contains("\\*\\*\\* p<0.01, \\*\\* p<0.05, \\* p<0.1"), "{out}");
}
