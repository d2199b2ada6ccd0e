//! The standalone LaTeX tables compile with xelatex (English, and Chinese through xeCJK).
//! Skipped, with a message, where xelatex is not installed (Debian: texlive-xetex,
//! texlive-lang-chinese, texlive-latex-recommended).

use std::process::Command;

fn xelatex_available() -> bool {
    Command::new("xelatex").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn compiles(name: &str) {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/report").join(name),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("t.tex"), &src).unwrap();
    let out = Command::new("xelatex")
        .args(["-interaction=nonstopmode", "-halt-on-error", "t.tex"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name} does not compile:\n{log}");
    assert!(dir.path().join("t.pdf").exists());
    // Chinese text needs its glyphs: xeCJK reports missing characters in the log.
    assert!(!log.contains("Missing character"), "{name}: missing glyphs\n{log}");
}

#[test]
fn standalone_latex_compiles() {
    if !xelatex_available() {
        // CI (.ci/run) installs xelatex and sets MIGFIT_REQUIRE_TOOLS, so there a missing
        // engine is a failure, not a skip.
        assert!(
            std::env::var_os("MIGFIT_REQUIRE_TOOLS").is_none(),
            "xelatex is required (MIGFIT_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: xelatex not installed");
        return;
    }
    // The snapshots are the renderer's output (checked by report_snapshots).
    compiles("en_stacked_margins_standalone.tex");
    compiles("zh_side_margins_standalone.tex");
}
