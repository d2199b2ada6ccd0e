//! Labels and level order from dataset metadata (what `--schema` provides): categorical
//! columns with labelled levels in a declared order, and variable labels, flow through
//! `describe_variables` into the table. Reproduces the reference study's scheme and scope
//! blocks, in the published order, in English and Chinese.

use migfit::data::csv::{read_csv, CsvOptions};
use migfit::data::{Column, ColumnData, Dataset, Factor, Level};
use migfit::design::{Design, SampleOptions};
use migfit::formula::Formula;
use migfit::model::{self, ModelKind, ModelSpec};
use migfit::output::{describe_variables, ModelReport, Report};
use migfit::report::{self, Format, Lang, Layout, Show, TableOptions};

/// Replaces a text column by a categorical one with levels (name, English, Chinese) in order.
fn categorize(ds: &mut Dataset, name: &str, label: (&str, &str), levels: &[(&str, &str, &str)]) {
    let col = ds.column(name).unwrap();
    let ColumnData::Text(values) = &col.data else { panic!("{name} is not text") };
    let codes = values
        .iter()
        .map(|v| {
            let v = v.as_deref().unwrap();
            levels.iter().position(|l| l.0 == v).unwrap() as u32
        })
        .collect();
    let levels = levels
        .iter()
        .map(|(n, en, zh)| Level { name: n.to_string(), label: Some(en.to_string()), label_zh: Some(zh.to_string()) })
        .collect();
    ds.push(Column {
        name: name.into(),
        data: ColumnData::Categorical(Factor { codes, levels, reference: 0 }),
        label: Some(label.0.into()),
        label_zh: Some(label.1.into()),
    });
}

#[test]
fn schema_labels_and_level_order_reach_the_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/table3_small.csv");
    let mut ds = read_csv(&path, &CsvOptions { delimiter: b',' }).unwrap();
    categorize(
        &mut ds,
        "scheme",
        ("Social health insurance", "社会医疗保险"),
        &[("NCMS", "NCMS", "新农合"), ("URBMI", "URBMI", "城镇居民医保"), ("UEBMI", "UEBMI", "城镇职工医保")],
    );
    categorize(
        &mut ds,
        "scope",
        ("Migration scope", "流动范围"),
        &[
            ("across_counties_within_city", "Across counties within a city", "市内跨县"),
            ("across_cities_within_province", "Across cities within a province", "省内跨市"),
            ("across_provinces", "Across provinces", "跨省"),
        ],
    );
    let f = Formula::parse("received ~ scheme + age + scope").unwrap();
    let design = Design::build(&ds, &f, &SampleOptions::default()).unwrap();
    let spec = ModelSpec::new(ModelKind::Probit, None, None).unwrap();
    let fit = model::fit(design, &spec).unwrap();
    let v = migfit::inference::vce::compute(&fit, migfit::inference::vce::VceKind::Oim).unwrap();
    let m = ModelReport::new("model", &f.source, &fit, &v, 95.0, false);
    let report = Report {
        migfit_version: migfit::VERSION.into(),
        command: "fit".into(),
        data: "table3_small.csv".into(),
        data_sha256: None,
        variables: describe_variables(&ds, &[&fit.design]),
        models: vec![m],
        combined: None,
        tests: Vec::new(),
    };
    let opts = |lang| TableOptions { layout: Layout::Stacked, show: Show::Coef, lang, ..TableOptions::default() };
    let en = report::render(&report, &opts(Lang::En), Format::Markdown, false).unwrap();
    let rows: Vec<&str> = en
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("|  |"))
        .map(|l| l.split(" | ").next().unwrap().trim_start_matches("| "))
        .collect();
    assert_eq!(
        rows,
        vec![
            "Variable",
            "**Social health insurance (ref. NCMS)**",
            "URBMI",
            "UEBMI",
            "age",
            "**Migration scope (ref. Across counties within a city)**",
            "Across cities within a province",
            "Across provinces",
            "Constant",
            "*N*",
            "*Log likelihood*",
            "*Pseudo R2*",
        ],
        "{en}"
    );
    let zh = report::render(&report, &opts(Lang::Zh), Format::Text, false).unwrap();
    // Chinese variable labels (a schema's `label_zh`) and level labels.
    assert!(zh.contains("社会医疗保险（参照组：新农合）"), "{zh}");
    assert!(zh.contains("流动范围（参照组：市内跨县）"), "{zh}");
    assert!(zh.contains("  城镇职工医保"), "{zh}");
    assert!(zh.contains("  跨省"), "{zh}");
}
