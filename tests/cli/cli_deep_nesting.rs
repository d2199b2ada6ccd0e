//! Deeply nested input to every parser (issue #19: 5,000 nested `I(` in a formula, 10,000
//! `not` / unary minus / `^` in `--if`, a schema's expressions or a batch formula overflowed the
//! stack and aborted): each is refused with a usage error (exit 2) that says where, never a
//! crash. The inputs are built here, not stored.

use assert_cmd::Command;
use std::path::Path;

const DATA: &str = "y,x\n1,1\n0,2\n1,3\n0,4\n1,5\n0,1\n1,2\n0,3\n";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Runs migfit and checks exit code 2 (not 101 for a panic, 134 for an abort) and a message
/// naming the nesting and the place.
fn refused(args: &[&str]) {
    refused_at(args, "at character")
}

/// As [`refused`], with `place` the text that gives the position.
fn refused_at(args: &[&str], place: &str) {
    let out = Command::cargo_bin("migfit").unwrap().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", &err[..err.len().min(2000)]);
    assert!(err.contains("nests deeper than"), "{}", &err[..err.len().min(2000)]);
    assert!(err.contains(place), "the message gives the position: {}", &err[..err.len().min(2000)]);
}

fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[test]
fn formula_with_5000_nested_i_calls() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    for rhs in [nested("I(", "x", ")", 5000), nested("(", "x", ")", 5000), nested("log(", "x", ")", 5000)] {
        refused(&["fit", &data, "-m", "logit", "-f", &format!("y ~ {rhs}")]);
    }
    refused(&["fit", &data, "-m", "logit", "-f", &format!("y ~ I({})", nested("-", "x", "", 10_000))]);
    refused(&["fit", &data, "-m", "logit", "-f", &format!("y ~ I(x{})", "^x".repeat(10_000))]);
    refused(&["fit", &data, "-m", "logit", "-f", &format!("y ~ I({})", vec!["x"; 20_000].join("+"))]);
}

#[test]
fn if_expression_with_10000_levels() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    for cond in [
        nested("not ", "x > 1", "", 10_000),
        nested("-", "x > 1", "", 10_000),
        format!("x{} > 1", "^x".repeat(10_000)),
        nested("(", "x > 1", ")", 10_000),
        format!("{} > 1", vec!["x"; 20_000].join("+")),
    ] {
        refused(&["fit", &data, "-m", "logit", "-f", "y ~ x", &format!("--if={cond}")]);
    }
}

#[test]
fn schema_expressions_with_10000_levels() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let vars = "[[variable]]\nname = \"y\"\ntype = \"binary\"\n\n[[variable]]\nname = \"x\"\ntype = \"continuous\"\n";
    let derived = format!(
        "[dataset]\nname = \"t\"\n\n{vars}\n[[derived]]\nname = \"z\"\nexpr = \"{}\"\ntype = \"continuous\"\n",
        nested("-", "x", "", 10_000)
    );
    let schema = write(dir.path(), "derived.toml", &derived);
    // The schema's line and column: the 201st '-' of the expression on line 14.
    refused_at(&["fit", &data, "--schema", &schema, "-m", "logit", "-f", "y ~ x"], "derived.toml:14:209:");
    let universe = format!("[dataset]\nname = \"t\"\nuniverse = \"{}\"\n\n{vars}", nested("not ", "x > 1", "", 10_000));
    let schema = write(dir.path(), "universe.toml", &universe);
    refused_at(&["fit", &data, "--schema", &schema, "-m", "logit", "-f", "y ~ x"], "universe.toml:3:");
}

#[test]
fn batch_formula_with_5000_nested_i_calls() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let spec = format!(
        "[data]\npath = {data:?}\n\n[base]\ncommand = \"fit\"\nmodel = \"logit\"\nformula = \"y ~ {}\"\n\n\
         [[axis]]\nname = \"vce\"\nvalues.oim = {{}}\n\n[[track]]\nterm = \"x\"\n",
        nested("I(", "x", ")", 5000)
    );
    let spec = write(dir.path(), "spec.toml", &spec);
    let out = dir.path().join("out");
    refused(&["batch", &spec, "--out", &out.display().to_string()]);
}
