//! The batch report (index.html and the forest-plot SVGs) loads in headless Chromium without
//! console errors, and screenshots are taken (scripts/check_batch_html.sh). Skipped, with a
//! message, without chromium.

use std::process::Command;

#[test]
fn batch_report_loads_cleanly_in_chromium() {
    if Command::new("chromium").arg("--version").output().is_err() {
        // CI (.ci/run) installs chromium and sets MIGFIT_REQUIRE_TOOLS: a failure there.
        assert!(
            std::env::var_os("MIGFIT_REQUIRE_TOOLS").is_none(),
            "chromium is required (MIGFIT_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: chromium not installed");
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(assert_cmd::cargo::cargo_bin("migfit"))
        .arg("batch")
        .arg(root.join("examples/mroz/sensitivity.toml"))
        .arg("--out")
        .arg(out.path())
        .arg("-q")
        .status()
        .unwrap();
    assert!(status.success());
    let check = Command::new(root.join("scripts/check_batch_html.sh")).arg(out.path()).output().unwrap();
    assert!(
        check.status.success(),
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    for png in ["index.png", "forest-kidslt6.png"] {
        assert!(std::fs::metadata(out.path().join(png)).unwrap().len() > 10_000, "{png} too small");
    }
}
