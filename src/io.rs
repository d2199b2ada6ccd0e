//! Writing results: to standard output (a closed pipe, as in `migfit ... | head`, is success)
//! or to a file, atomically (a temporary file in the same folder, then a rename), so a reader
//! never sees a half-written table. Below every other layer: it knows bytes and paths only.

use crate::error::{DataError, Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `text` to `path` atomically, or to stdout when `path` is `None`.
pub fn write_output(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::Data(DataError::Io { path: "<stdout>".into(), reason: e.to_string() })),
            }
        }
        Some(p) => write_atomic(p, text.as_bytes()),
    }
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err =
        |e: std::io::Error| Error::Data(DataError::Io { path: path.display().to_string(), reason: e.to_string() });
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.migfit-{}.tmp", std::process::id()));
    let result = std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}
