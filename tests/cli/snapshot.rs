//! Snapshot files under tests/snapshots/: compared byte for byte; `MIGFIT_UPDATE_SNAPSHOTS=1`
//! rewrites them, and a difference leaves the new output beside the old as `NAME.new`.

use std::path::PathBuf;

/// Compares `actual` with `tests/snapshots/<name>`.
pub fn check(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("MIGFIT_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing snapshot {}; run with MIGFIT_UPDATE_SNAPSHOTS=1", path.display()));
    if expected != actual {
        let new = path.with_extension(format!("{}.new", path.extension().unwrap().to_str().unwrap()));
        std::fs::write(&new, actual).unwrap();
        panic!("snapshot {} differs; new output in {}", path.display(), new.display());
    }
}
