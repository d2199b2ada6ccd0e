//! The same CMDS-style extract as UTF-8 CSV, GBK CSV and Stata .dta loads to identical
//! variables through data-schema/cmds2014.toml; the polars fast path and the precise reader
//! agree; subsamples, derived variables and factors come out as the schema says.

use migfit::data::load::{load_with_schema, ReadOptions, TextEncoding};
use migfit::data::schema::Schema;
use migfit::data::{ColumnData, Dataset};
use std::path::Path;

fn schema() -> Schema {
    Schema::from_path(Path::new("data-schema/cmds2014.toml")).unwrap()
}

fn load(path: &str, opts: ReadOptions) -> (Dataset, bool) {
    let r = load_with_schema(Path::new(path), &opts, &schema()).unwrap();
    assert!(r.violations.is_empty(), "{path}: {:?}", r.violations);
    (r.dataset, r.fast_path)
}

/// Column-by-column equality (NaN equal to NaN); row positions differ by format (file lines
/// for CSV, observation numbers for Stata) and are compared separately.
fn assert_same(a: &Dataset, b: &Dataset, what: &str) {
    let names_a: Vec<&str> = a.names().collect();
    let names_b: Vec<&str> = b.names().collect();
    assert_eq!(names_a, names_b, "{what}");
    assert_eq!(a.n_rows(), b.n_rows(), "{what}");
    for (ca, cb) in a.columns().iter().zip(b.columns()) {
        match (&ca.data, &cb.data) {
            (ColumnData::Numeric(x), ColumnData::Numeric(y)) => {
                for (i, (u, v)) in x.iter().zip(y).enumerate() {
                    assert!(u == v || (u.is_nan() && v.is_nan()), "{what}: {} row {i}: {u} vs {v}", ca.name);
                }
            }
            (x, y) => assert_eq!(x, y, "{what}: column {}", ca.name),
        }
        assert_eq!(ca.label, cb.label, "{what}: label of {}", ca.name);
    }
}

#[test]
fn csv_gbk_and_dta_load_identically() {
    let (utf8, fast) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    assert!(fast, "the clean UTF-8 fixture should take the polars path");
    let gbk_opts = ReadOptions { encoding: Some(TextEncoding::Gbk), ..Default::default() };
    let (gbk, _) = load("tests/fixtures/cmds2014_small_gbk.csv", gbk_opts);
    let (dta, _) = load("tests/fixtures/cmds2014_small.dta", ReadOptions::default());
    let (parquet, _) = load("tests/fixtures/cmds2014_small.parquet", ReadOptions::default());
    assert_same(&utf8, &gbk, "UTF-8 vs GBK");
    assert_same(&utf8, &dta, "CSV vs Stata");
    assert_same(&utf8, &parquet, "CSV vs Parquet");
    assert_eq!(dta.line_numbers, parquet.line_numbers, "Parquet row n is observation n");
    assert_eq!(utf8.line_numbers, gbk.line_numbers);
    let obs: Vec<u64> = utf8.line_numbers.iter().map(|l| l - 1).collect();
    assert_eq!(obs, dta.line_numbers, "CSV line n is Stata observation n - 1");
    let (gb18030, _) = load(
        "tests/fixtures/cmds2014_small_gbk.csv",
        ReadOptions { encoding: Some(TextEncoding::Gb18030), ..Default::default() },
    );
    assert_same(&utf8, &gb18030, "GBK vs GB18030 decoding");
}

#[test]
fn fast_and_precise_readers_agree() {
    let (fast, used_fast) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    let (precise, used_fast2) =
        load("tests/fixtures/cmds2014_small.csv", ReadOptions { precise_only: true, ..Default::default() });
    assert!(used_fast && !used_fast2);
    assert_same(&fast, &precise, "polars vs precise");
    assert_eq!(fast.line_numbers, precise.line_numbers);
}

#[test]
fn universe_factors_and_derived_variables() {
    let (ds, _) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    // Recompute the universe from the raw file: hospitalised locally, insured in NCMS/URBMI/UEBMI.
    let text = std::fs::read_to_string("tests/fixtures/cmds2014_small.csv").unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let expected: Vec<u64> = lines
        .enumerate()
        .filter(|(_, l)| {
            let f: Vec<&str> = l.split(',').collect();
            f[col("q601")] == "1" && f[col("q602")] == "1" && ["1", "2", "3"].contains(&f[col("q501")])
        })
        .map(|(i, _)| i as u64 + 2)
        .collect();
    assert_eq!(ds.line_numbers, expected);

    let ColumnData::Categorical(scheme) = &ds.column("scheme").unwrap().data else { panic!("scheme is not a factor") };
    let names: Vec<&str> = scheme.levels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["NCMS", "URBMI", "UEBMI"]);
    assert_eq!(scheme.reference, 0);
    assert_eq!(scheme.levels[0].label_zh.as_deref(), Some("新型农村合作医疗"));
    let ColumnData::Categorical(scope) = &ds.column("scope").unwrap().data else { panic!() };
    assert_eq!(scope.levels[scope.reference].name, "within_city");
    let ColumnData::Categorical(edu) = &ds.column("education").unwrap().data else { panic!() };
    assert_eq!(edu.levels.len(), 4);

    // Binary variables stay numeric 0/1.
    let ColumnData::Numeric(female) = &ds.column("female").unwrap().data else { panic!("female is not numeric") };
    assert!(female.iter().all(|v| *v == 0.0 || *v == 1.0));

    let num = |n: &str| match &ds.column(n).unwrap().data {
        ColumnData::Numeric(v) => v.clone(),
        other => panic!("{n}: {other:?}"),
    };
    let (age, age2) = (num("age"), num("age2"));
    assert!(age.iter().zip(&age2).all(|(a, b)| a * a == *b));
    let (amount, total, ratio, received) = (num("amount"), num("total_expenditure"), num("ratio"), num("received"));
    for i in 0..ds.n_rows() {
        if received[i] == 0.0 {
            assert!(amount[i].is_nan());
        }
        if !amount[i].is_nan() {
            assert_eq!(ratio[i], amount[i] / total[i]);
        }
    }
    let ColumnData::Categorical(q) = &ds.column("income_q").unwrap().data else { panic!() };
    assert_eq!(q.levels.len(), 5);
    // Quintiles: each group holds roughly a fifth of the non-missing rows.
    let n_ok = q.codes.iter().filter(|c| **c != u32::MAX).count();
    for k in 0..5u32 {
        let nk = q.codes.iter().filter(|c| **c == k).count();
        assert!(nk * 5 <= n_ok + 10 && nk * 5 + 10 >= n_ok, "quintile {k}: {nk} of {n_ok}");
    }
}

#[test]
fn subsamples_partition_the_sample() {
    let s = schema();
    let (ds, _) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    let ncms = migfit::data::expr::eval_filter(s.subsample("ncms").unwrap(), &ds).unwrap();
    let urban = migfit::data::expr::eval_filter(s.subsample("urban").unwrap(), &ds).unwrap();
    assert!(ncms.iter().zip(&urban).all(|(a, b)| a ^ b), "every row is in exactly one of ncms, urban");
    assert!(ncms.iter().any(|x| *x) && urban.iter().any(|x| *x));
}

#[test]
fn schema_for_2018_parses() {
    let s = Schema::from_path(Path::new("data-schema/cmds2018.toml")).unwrap();
    assert!(s.var_type("stay_intention").is_some());
    assert!(s.subsample("resident_schemes").is_some());
}

/// A text missing code of one variable is not missing in another: both readers report the
/// other variable's cell as a violation (it is not a number there), instead of the fast path
/// reading it as missing.
#[test]
fn variable_missing_codes_apply_to_their_variable_only() {
    let schema = Schema::parse(
        r#"
[dataset]
name = "t"

[[variable]]
name = "income"
type = "continuous"
missing = ["refused"]

[[variable]]
name = "age"
type = "continuous"
"#,
        "t.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let mut text = String::from("income,age\n");
    for i in 0..2000 {
        text.push_str(&format!("{},{}\n", 1000 + i, 20 + i % 30));
    }
    text.push_str("refused,refused\n");
    std::fs::write(&path, text).unwrap();
    for precise_only in [false, true] {
        let r = load_with_schema(&path, &ReadOptions { precise_only, ..Default::default() }, &schema).unwrap();
        let what = if precise_only { "precise" } else { "fast" };
        assert_eq!(r.violations.len(), 1, "{what}: {:?}", r.violations);
        assert_eq!(r.violations[0].column.as_deref(), Some("age"), "{what}");
        assert_eq!(r.violations[0].line, Some(2002), "{what}");
        let income = match &r.dataset.column("income").unwrap().data {
            migfit::data::ColumnData::Numeric(v) => v.clone(),
            other => panic!("{other:?}"),
        };
        assert!(income[2000].is_nan(), "{what}: 'refused' is income's missing code");
    }
}

// ---------------------------------------------------------------------------------------------
// Column projection (issue #5): only the variables a command needs are read and kept.

/// The columns of `full` that `projected` holds, with the same rows.
fn assert_projection_of(full: &Dataset, projected: &Dataset, names: &[&str], what: &str) {
    let got: Vec<&str> = projected.names().collect();
    let mut want: Vec<&str> = full.names().filter(|n| names.contains(n)).collect();
    want.sort_unstable_by_key(|n| names.iter().position(|m| m == n));
    let mut got_sorted = got.clone();
    got_sorted.sort_unstable_by_key(|n| names.iter().position(|m| m == n));
    assert_eq!(got_sorted, want, "{what}: the projected dataset holds exactly the named variables");
    assert_eq!(full.line_numbers, projected.line_numbers, "{what}: same rows (universe applied)");
    let mut sub = Dataset::new(full.source.clone(), full.line_numbers.clone());
    for n in &got {
        sub.push(full.column(n).unwrap().clone());
    }
    assert_same(&sub, projected, what);
}

fn projected(names: &[&str]) -> ReadOptions {
    ReadOptions { columns: Some(names.iter().map(|s| s.to_string()).collect()), ..Default::default() }
}

#[test]
fn projection_loads_the_same_values_in_every_format() {
    // Derived variables (age2 <- age <- birth_year; income_q <- income_pc <- hh_income, hh_size;
    // duration; received <- reimb_*), factors and a plain variable; the universe reads
    // hospitalised, hosp_place and scheme, none of them named here except scheme.
    let names = ["received", "age2", "income_q", "duration", "female", "city"];
    for file in [
        "tests/fixtures/cmds2014_small.csv",
        "tests/fixtures/cmds2014_small.dta",
        "tests/fixtures/cmds2014_small.parquet",
    ] {
        let (full, _) = load(file, ReadOptions::default());
        let (proj, _) = load(file, projected(&names));
        assert_projection_of(&full, &proj, &names, file);
        assert_eq!(proj.columns().len(), names.len(), "{file}: intermediates (age, birth_year, ...) dropped");
    }
    // The precise reader projects the same way.
    let (full, _) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    let opts = ReadOptions { precise_only: true, ..projected(&names) };
    let (proj, fast) = load("tests/fixtures/cmds2014_small.csv", opts);
    assert!(!fast);
    assert_projection_of(&full, &proj, &names, "precise reader");
}

#[test]
fn projected_schema_keeps_dependencies_and_the_universe() {
    let s = schema();
    let p = s.project(&["age2".to_string()]).unwrap();
    let vars: Vec<&str> = p.variables.iter().map(|v| v.name.get_ref().as_str()).collect();
    for v in ["birth_year", "hospitalised", "hosp_place", "scheme"] {
        assert!(vars.contains(&v), "{v} is needed (derivation or universe): {vars:?}");
    }
    assert!(!vars.contains(&"hh_income") && !vars.contains(&"id"), "{vars:?}");
    let derived: Vec<&str> = p.derived.iter().map(|d| d.name.get_ref().as_str()).collect();
    assert_eq!(derived, ["age", "age2"]);
    assert_eq!(p.derived.len(), p.derived_exprs.len());
    // A name the schema does not know: no projection (the caller loads everything and reports it).
    assert!(s.project(&["age2".to_string(), "agee".to_string()]).is_none());
    let (full, _) = load("tests/fixtures/cmds2014_small.csv", ReadOptions::default());
    let (proj, _) = load("tests/fixtures/cmds2014_small.csv", projected(&["age2", "agee"]));
    assert_same(&full, &proj, "unknown name: full load");
}

#[test]
fn projected_load_reports_a_missing_needed_column() {
    // The fixture without q101c (birth_year): a projection that needs it (through age2) says
    // which column is missing; one that does not need it loads.
    let text = std::fs::read_to_string("tests/fixtures/cmds2014_small.csv").unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let drop = lines[0].iter().position(|h| *h == "q101c").unwrap();
    let cut: String = lines
        .iter()
        .map(|r| r.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, f)| *f).collect::<Vec<_>>().join(",") + "\n")
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.csv");
    std::fs::write(&path, cut).unwrap();
    let r = load_with_schema(&path, &projected(&["received", "age2"]), &schema()).unwrap();
    let msgs: Vec<String> = r.violations.iter().map(|v| v.message.clone()).collect();
    assert!(
        msgs.iter().any(|m| m.contains("'birth_year'") && m.contains("'q101c'") && m.contains("does not have")),
        "{msgs:?}"
    );
    let r = load_with_schema(&path, &projected(&["received", "income_q"]), &schema()).unwrap();
    assert!(r.violations.is_empty(), "{:?}", r.violations);
}
