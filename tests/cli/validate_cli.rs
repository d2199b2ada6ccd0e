//! `migfit validate`: every malformed input of issue 4, point 4, gives exit 1 with the row,
//! column, value and rule; a clean file gives 0; usage errors give 2; nothing panics (101).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

const SCHEMA: &str = "data-schema/cmds2014.toml";
const FIXTURE: &str = "tests/fixtures/cmds2014_small.csv";

fn migfit() -> Command {
    Command::cargo_bin("migfit").unwrap()
}

/// Runs `migfit validate FILE --schema SCHEMA [extra]`; returns (exit code, stdout, stderr).
fn validate(file: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = migfit().arg("validate").arg(file).args(["--schema", SCHEMA]).args(extra).output().unwrap();
    let code = out.status.code().expect("killed by a signal");
    assert_ne!(code, 101, "panic:\n{}", String::from_utf8_lossy(&out.stderr));
    (code, String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn fixture_lines() -> Vec<String> {
    std::fs::read_to_string(FIXTURE).unwrap().lines().map(str::to_string).collect()
}

/// Replaces field `col` (by header name) on file line `line` (1-based).
fn with_field(line: usize, col: &str, value: &str) -> String {
    let mut lines = fixture_lines();
    let j = lines[0].split(',').position(|h| h == col).unwrap();
    let mut fields: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
    fields[j] = value.to_string();
    lines[line - 1] = fields.join(",");
    lines.join("\n") + "\n"
}

#[test]
fn clean_fixture_exits_zero() {
    let (code, out, err) = validate(Path::new(FIXTURE), &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("no violations"), "{out}");
}

#[test]
fn unknown_category_code_names_line_column_value_rule() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "bad.csv", with_field(6, "q101e", "42").as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 6, column 'q101e', value '42'") && out.contains("[unknown-code]"), "{out}");
    assert!(out.contains("unknown-code") && out.contains("1 violation"), "{out}");
}

#[test]
fn every_violation_is_listed_not_only_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = fixture_lines();
    for (line, v) in [(3usize, "abc"), (9, "-5"), (30, "x")] {
        let j = lines[0].split(',').position(|h| h == "q604").unwrap();
        let mut f: Vec<String> = lines[line - 1].split(',').map(str::to_string).collect();
        f[j] = v.to_string();
        lines[line - 1] = f.join(",");
    }
    let p = write(&dir, "bad.csv", (lines.join("\n") + "\n").as_bytes());
    let (code, out, _) = validate(&p, &["--format", "json"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let v = json["violations"].as_array().unwrap();
    assert_eq!(v.len(), 3, "{out}");
    assert_eq!(v[0]["line"], 3);
    assert_eq!(v[0]["rule"], "not-a-number");
    assert_eq!(v[1]["rule"], "out-of-range");
    assert_eq!(v[1]["value"], "-5");
    assert_eq!(json["summary"]["not-a-number"], 2);
    assert_eq!(json["valid"], false);
}

#[test]
fn ragged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = fixture_lines();
    lines[4].push_str(",extra");
    let cut = lines[9].rfind(',').unwrap();
    lines[9].truncate(cut);
    let p = write(&dir, "ragged.csv", (lines.join("\n") + "\n").as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 5: has 31 fields, but the header has 30"), "{out}");
    assert!(out.contains("line 10: has 29 fields"), "{out}");
    assert!(out.contains("ragged-row") && out.contains("2 violation"), "{out}");
}

#[test]
fn bad_quoting() {
    let dir = tempfile::tempdir().unwrap();
    // An unclosed quote swallows the rest of the file into one field.
    let p = write(&dir, "quote.csv", with_field(12, "q214", "\"5100").as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 12") && out.contains("is a quote unclosed?") && out.contains("ragged-row"), "{out}");
    // A stray quote inside a field is read leniently and then fails the type check.
    let p = write(&dir, "quote2.csv", with_field(12, "q214", "51\"00").as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 12, column 'q214'") && out.contains("not-a-number"), "{out}");
}

#[test]
fn invalid_utf8_without_encoding_suggests_gbk() {
    let (code, out, _) = validate(Path::new("tests/fixtures/cmds2014_small_gbk.csv"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("not valid UTF-8") && out.contains("read it with encoding gbk") && out.contains("column 'q606'"),
        "{out}"
    );
    let (code, out, _) = validate(Path::new("tests/fixtures/cmds2014_small_gbk.csv"), &["--encoding", "gbk"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    for bytes in [&b""[..], b"\n\n  \n"] {
        let p = write(&dir, "empty.csv", bytes);
        let (code, out, _) = validate(&p, &[]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("the file is empty") && out.contains("empty-file"), "{out}");
    }
}

#[test]
fn header_only() {
    let dir = tempfile::tempdir().unwrap();
    let header = fixture_lines()[0].clone() + "\n";
    let p = write(&dir, "header.csv", header.as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no data rows") && out.contains("no-rows"), "{out}");
}

#[test]
fn duplicate_column_names() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(FIXTURE).unwrap().replacen("q101g", "q101b", 1);
    let p = write(&dir, "dup.csv", text.as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("duplicate column name 'q101b' (columns 8 and 12)") && out.contains("duplicate-column"),
        "{out}"
    );
    // The schema's q101g is now absent, which is reported too.
    assert!(out.contains("missing-column"), "{out}");
}

#[test]
fn missing_column_suggests_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(FIXTURE).unwrap().replacen("q604", "Q604", 1);
    let p = write(&dir, "renamed.csv", text.as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("reads column 'q604'") && out.contains("did you mean 'Q604'"), "{out}");
}

#[test]
fn usage_errors_exit_two() {
    let out = migfit().args(["validate", FIXTURE]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let (code, _, err) = validate(Path::new(FIXTURE), &["--encoding", "latin9"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = validate(Path::new(FIXTURE), &["--subsample", "rurl"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("did you mean 'ncms'") || err.contains("it defines"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bad = write(&dir, "bad.toml", b"[dataset]\nname = \"x\"\n\n[[variable]]\nname = \"a\"\ntype = \"real\"\n");
    let out = migfit().arg("validate").arg(FIXTURE).arg("--schema").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:6:") && err.contains("real"), "{err}");
    let out = migfit().args(["validate", "no/such/file.csv", "--schema", SCHEMA]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/file.csv"));
}

#[test]
fn json_report_of_a_clean_file() {
    let (code, out, _) = validate(Path::new(FIXTURE), &["--format", "json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["valid"], true);
    assert!(json["rows"].as_u64().unwrap() > 0);
}

#[test]
fn stata_file_reports_observation_numbers() {
    let (code, out, err) = validate(Path::new("tests/fixtures/cmds2014_small.dta"), &[]);
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn output_file_is_written_whole() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let (code, _, _) = validate(Path::new(FIXTURE), &["--format", "json", "-o", report.to_str().unwrap()]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left behind");
}

/// Windows line ends (CRLF) with a quoted field over two lines, which sends the file to the
/// precise reader: rows keep the line numbers an editor shows (the csv crate's own count lags
/// one line behind after each CRLF), as do rows after a blank line.
#[test]
fn crlf_file_with_quoted_newline_and_blank_line_numbers_rows_as_an_editor() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = fixture_lines();
    let j = lines[0].split(',').position(|h| h == "q101e").unwrap();
    let set = |line: &mut String, value: &str| {
        let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
        fields[j] = value.to_string();
        *line = fields.join(",");
    };
    set(&mut lines[3], "42"); // line 4
    set(&mut lines[6], "\"4\r\n2\""); // line 7, spans lines 7-8
                                      // The quoted line break shifts later rows down one line: element 9 is a blank line 11,
                                      // element 10 is on line 12.
    lines.insert(9, String::new());
    set(&mut lines[10], "43");
    let p = write(&dir, "crlf.csv", (lines.join("\r\n") + "\r\n").as_bytes());
    let (code, out, _) = validate(&p, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("line 4, column 'q101e', value '42'"), "{out}");
    assert!(out.contains("line 7, column 'q101e'"), "{out}");
    assert!(out.contains("line 12, column 'q101e', value '43'"), "{out}");
}
