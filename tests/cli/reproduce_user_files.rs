//! The real-data path of `migfit reproduce`: a simulated extract, saved the way a user would
//! hold it (a Chinese file name with spaces, a Stata .dta file, a GBK-encoded CSV with its
//! columns in another order and CRLF line ends), gives exactly the output of the run on the
//! original CSV, because every file goes through the schema loader (`data-schema/cmds2014.toml`)
//! as `fit --schema` reads it. Bad files fail with the file, row, column and value named.

use assert_cmd::Command;
use dta::stata::dta::byte_order::ByteOrder;
use dta::stata::dta::dta_writer::DtaWriter;
use dta::stata::dta::header::Header;
use dta::stata::dta::release::Release;
use dta::stata::dta::schema::Schema;
use dta::stata::dta::value::Value;
use dta::stata::dta::variable::Variable;
use dta::stata::dta::variable_type::VariableType;
use dta::stata::missing_value::MissingValue;
use dta::stata::stata_double::StataDouble;
use dta::stata::stata_long::StataLong;
use std::path::Path;

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// The simulated extract (published size, the spec's seed) as CSV text.
fn simulated_csv(study: &str) -> String {
    let o = migfit().args(["simulate", "--study", study]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    (header, rows)
}

/// A field of the raw extract as Stata holds it: a number, or system missing for the missing
/// tokens of the schema (empty, ".", "NA", "不适用"), as Stata's `destring` would leave them.
fn stata_number(field: &str) -> Option<f64> {
    match field.trim() {
        "" | "." | "NA" | "不适用" => None,
        t => Some(t.parse::<f64>().unwrap_or_else(|_| panic!("not a number in the extract: '{t}'"))),
    }
}

/// Writes the extract as a Stata 14+ (format 118) file: integer columns as `long`, the others
/// as `double`, missing tokens as system missing `.`.
fn write_dta(path: &Path, header: &[String], rows: &[Vec<String>]) {
    let values: Vec<Vec<Option<f64>>> = rows.iter().map(|r| r.iter().map(|f| stata_number(f)).collect()).collect();
    let integral: Vec<bool> = (0..header.len())
        .map(|j| values.iter().all(|r| r[j].map_or(true, |v| v == v.trunc() && v.abs() < 2.0e9)))
        .collect();
    let mut schema = Schema::builder();
    for (name, int) in header.iter().zip(&integral) {
        let (t, fmt) = if *int { (VariableType::Long, "%12.0g") } else { (VariableType::Double, "%10.0g") };
        schema = schema.add_variable(Variable::builder(t, name.as_str()).format(fmt));
    }
    let mut w = DtaWriter::new()
        .from_path(path)
        .unwrap()
        .write_header(Header::builder(Release::V118, ByteOrder::LittleEndian).build())
        .unwrap()
        .write_schema(schema.build().unwrap())
        .unwrap()
        .into_record_writer()
        .unwrap();
    for r in &values {
        let rec: Vec<Value> = r
            .iter()
            .zip(&integral)
            .map(|(v, int)| match (v, int) {
                (Some(x), true) => Value::Long(StataLong::Present(*x as i32)),
                (None, true) => Value::Long(StataLong::Missing(MissingValue::System)),
                (Some(x), false) => Value::Double(StataDouble::Present(*x)),
                (None, false) => Value::Double(StataDouble::Missing(MissingValue::System)),
            })
            .collect();
        w.write_record(&rec).unwrap();
    }
    w.into_long_string_writer().unwrap().into_value_label_writer().unwrap().finish().unwrap();
}

/// `migfit reproduce STUDY --data FILE [extra]`: stdout with the file's path replaced by
/// `<FILE>` (the path appears in the "Data:" line and in the JSON `data` field).
fn reproduce(study: &str, file: &Path, extra: &[&str], format: &str) -> String {
    let o = migfit().args(["reproduce", study, "--format", format, "--data"]).arg(file).args(extra).output().unwrap();
    assert!(o.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    let shown = if format == "json" {
        serde_json::to_string(&file.display().to_string()).unwrap().trim_matches('"').to_string()
    } else {
        file.display().to_string()
    };
    assert!(out.contains(&shown), "the output names its data file");
    out.replace(&shown, "<FILE>")
}

#[test]
fn reproduce_wang2022_reads_user_style_dta_and_gbk_csv() {
    let dir = tempfile::tempdir().unwrap();
    let text = simulated_csv("wang2022");
    let (header, rows) = parse_csv(&text);
    assert!(text.contains("不适用"), "the extract has non-ASCII missing tokens, so the encoding matters");

    // The original CSV, as `migfit simulate` wrote it.
    let original = dir.path().join("cmds2014_synthetic.csv");
    std::fs::write(&original, &text).unwrap();

    // The user's Stata file.
    let dta = dir.path().join("流动人口动态监测 2014 住院样本 (final).dta");
    write_dta(&dta, &header, &rows);
    assert_eq!(&std::fs::read(&dta).unwrap()[..11], b"<stata_dta>", "format 117+ framing");

    // The user's GBK CSV: columns in reverse order, CRLF line ends.
    let order: Vec<usize> = (0..header.len()).rev().collect();
    let mut user = order.iter().map(|&j| header[j].as_str()).collect::<Vec<_>>().join(",");
    user.push_str("\r\n");
    for r in &rows {
        user.push_str(&order.iter().map(|&j| r[j].as_str()).collect::<Vec<_>>().join(","));
        user.push_str("\r\n");
    }
    let (gbk_bytes, _, unmappable) = encoding_rs::GBK.encode(&user);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gbk_bytes).is_err(), "the GBK file is not UTF-8");
    let gbk = dir.path().join("2014年流动人口数据 导出(GBK).csv");
    std::fs::write(&gbk, &gbk_bytes).unwrap();

    for format in ["text", "json"] {
        let want = reproduce("wang2022", &original, &[], format);
        assert!(want.contains("Summary: ") || format == "json");
        assert_eq!(reproduce("wang2022", &dta, &[], format), want, ".dta vs original CSV ({format})");
        assert_eq!(reproduce("wang2022", &gbk, &["--encoding", "gbk"], format), want, "GBK vs original ({format})");

        // The run without --data simulates the same extract in memory and reads it through the
        // same loader: the same output but for the description of the data.
        let o = migfit().args(["reproduce", "wang2022", "--format", format]).output().unwrap();
        assert!(o.status.success());
        let default = String::from_utf8(o.stdout)
            .unwrap()
            .replace("synthetic extract (migfit simulate --study wang2022 --n 1165 --seed 20220601)", "<FILE>");
        assert_eq!(default, want, "no --data vs the saved extract ({format})");
    }

    // The GBK file read as UTF-8 is refused, with a hint.
    let o = migfit().args(["reproduce", "wang2022", "--data"]).arg(&gbk).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("read it with encoding gbk") && err.contains("line "), "{err}");
}

#[test]
fn reproduce_stay2018_reads_a_user_style_dta() {
    let dir = tempfile::tempdir().unwrap();
    let text = simulated_csv("stay2018");
    let (header, rows) = parse_csv(&text);
    let original = dir.path().join("cmds2018.csv");
    std::fs::write(&original, &text).unwrap();
    let dta = dir.path().join("CMDS 2018 个人问卷.dta");
    write_dta(&dta, &header, &rows);
    let want = reproduce("stay2018", &original, &[], "text");
    assert!(want.contains("Direct settlement by subgroup"));
    assert_eq!(reproduce("stay2018", &dta, &[], "text"), want);
}

/// A file missing a column the schema reads, or holding a code it does not list, is an error
/// that names the file, the line, the column and the value, with a non-zero exit code.
#[test]
fn reproduce_refuses_a_bad_file_with_a_precise_message() {
    let dir = tempfile::tempdir().unwrap();
    let text = simulated_csv("wang2022");
    let (header, rows) = parse_csv(&text);
    let write = |name: &str, header: &[String], rows: &[Vec<String>]| {
        let mut s = header.join(",");
        s.push('\n');
        for r in rows {
            s.push_str(&r.join(","));
            s.push('\n');
        }
        let p = dir.path().join(name);
        std::fs::write(&p, s).unwrap();
        p
    };

    // No q604 (total inpatient expenditure).
    let j = header.iter().position(|h| h == "q604").unwrap();
    let drop = |r: &Vec<String>| -> Vec<String> {
        r.iter().enumerate().filter(|(i, _)| *i != j).map(|(_, v)| v.clone()).collect()
    };
    let p = write("no_q604.csv", &drop(&header), &rows.iter().map(drop).collect::<Vec<_>>());
    let o = migfit().args(["reproduce", "wang2022", "--data"]).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no_q604.csv") && err.contains("'q604'") && err.contains("total_expenditure"), "{err}");

    // Education code 42 on the 5th data row (line 6).
    let e = header.iter().position(|h| h == "q101e").unwrap();
    let mut bad = rows.clone();
    bad[4][e] = "42".into();
    let p = write("bad_code.csv", &header, &bad);
    let o = migfit().args(["reproduce", "wang2022", "--data"]).arg(&p).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad_code.csv") && err.contains("line 6") && err.contains("'q101e'") && err.contains("'42'"),
        "{err}"
    );

    // A schema that is not TOML: exit 2 with its path and line.
    let s = dir.path().join("my_schema.toml");
    std::fs::write(&s, "[dataset\nname = 1\n").unwrap();
    let o = migfit().args(["reproduce", "wang2022", "--schema"]).arg(&s).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("my_schema.toml:1"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An edited copy of the schema (a user's codebook names the scope item `migscope`) is
/// honoured: the renamed file loads with the edited schema and gives the same output.
#[test]
fn reproduce_takes_an_edited_schema() {
    let dir = tempfile::tempdir().unwrap();
    let text = simulated_csv("wang2022");
    let original = dir.path().join("a.csv");
    std::fs::write(&original, &text).unwrap();
    let renamed = dir.path().join("b.csv");
    let (first, rest) = text.split_once('\n').unwrap();
    let first = first.split(',').map(|h| if h == "q301" { "migscope" } else { h }).collect::<Vec<_>>().join(",");
    std::fs::write(&renamed, format!("{first}\n{rest}")).unwrap();
    let schema = std::fs::read_to_string("data-schema/cmds2014.toml").unwrap();
    assert!(schema.contains("source = \"q301\""));
    let edited = dir.path().join("my_cmds2014.toml");
    std::fs::write(&edited, schema.replace("source = \"q301\"", "source = \"migscope\"")).unwrap();
    let want = reproduce("wang2022", &original, &[], "text");
    let got = reproduce("wang2022", &renamed, &["--schema", edited.to_str().unwrap()], "text");
    assert_eq!(got, want);
    // Without the edited schema the renamed column is missing.
    let o = migfit().args(["reproduce", "wang2022", "--data"]).arg(&renamed).output().unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("'q301'"));
}

/// A file of the other study (a CMDS-2014 extract given to `reproduce stay2018`) is reported
/// as the columns it lacks, not as an error of a derived variable computed from them.
#[test]
fn the_other_studys_file_lists_its_missing_columns() {
    let out = assert_cmd::Command::cargo_bin("migfit")
        .unwrap()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["reproduce", "stay2018", "--data", "examples/wang2022/extract.csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("[missing-column]") && err.contains("'q401'"), "{err}");
    assert!(!err.contains("derived variable"), "{err}");
}
