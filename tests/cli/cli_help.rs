//! Every subcommand's `--help` ends with a worked example (issue 5), and the examples that
//! need only files shipped in the repository run as printed.

use assert_cmd::Command;

const SUBCOMMANDS: [&str; 9] =
    ["fit", "twopart", "mediate", "batch", "completions", "simulate", "reproduce", "validate", "describe"];

fn help(sub: &str) -> String {
    let out = Command::cargo_bin("migfit").unwrap().args([sub, "--help"]).output().unwrap();
    assert!(out.status.success(), "{sub} --help exited with {:?}", out.status.code());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_subcommand_has_a_worked_example() {
    for sub in SUBCOMMANDS {
        let text = help(sub);
        let at = text.find("Example").unwrap_or_else(|| panic!("`migfit {sub} --help` has no example:\n{text}"));
        assert!(
            text[at..].contains(&format!("migfit {sub} ")),
            "`migfit {sub} --help`: the example does not run `migfit {sub}`:\n{text}"
        );
    }
}

#[test]
fn validate_and_describe_examples_run_as_printed() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::cargo_bin("migfit")
        .unwrap()
        .current_dir(root)
        .args(["validate", "examples/wang2022/extract.csv", "--schema", "data-schema/cmds2014.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no violations"));

    let out = Command::cargo_bin("migfit")
        .unwrap()
        .current_dir(root)
        .args(["describe", "examples/wang2022/extract.csv", "--schema", "data-schema/cmds2014.toml", "--by", "scope"])
        .args(["--vars", "received,amount,ratio", "--format", "markdown"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.starts_with('|') && md.contains("Across provinces"), "{md}");
}
