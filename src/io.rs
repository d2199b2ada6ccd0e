//! Writing results: to standard output (a closed pipe, as in `migfit ... | head`, is success)
//! or to a file. Below every other layer: it knows bytes and paths only.
//!
//! What `-o PATH` does depends on what is at PATH (issue #19, item 4):
//! - nothing, or a regular file with one name: the text goes to a temporary file in the same
//!   folder, which is then renamed over PATH, so a reader never sees a half-written table and a
//!   failed write leaves the old file. The replaced file's permissions are kept, and its owner
//!   and group where the process may set them (as root, or the user's own groups).
//! - a symbolic link: written through to its target (the chain of links is followed; the
//!   target is replaced atomically as above), so the link stays a link.
//! - a regular file with other hard links: rewritten in place, so every name still shows the
//!   same file, as Stata's `save, replace` and R's `write.csv` do. The text is first written in
//!   full to a temporary file (a full disk fails there, before the file is touched), then copied.
//! - a FIFO, a character or block device (`/dev/null`, a terminal) or a socket: opened and
//!   written directly, never replaced by a regular file.
//!
//! Failures say "cannot write PATH: reason".

use crate::error::{DataError, Error, Result};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Writes `text` to `path` (see the module documentation), or to stdout when `path` is `None`.
pub fn write_output(text: &str, path: Option<&Path>) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(write_error(Path::new("<stdout>"), &e)),
            }
        }
        Some(p) => write_atomic(p, text.as_bytes()),
    }
}

fn write_error(path: &Path, e: &std::io::Error) -> Error {
    Error::Data(DataError::Write { path: path.display().to_string(), reason: e.to_string() })
}

/// Links followed before giving up (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// The file a write to `path` lands in: `path` itself, or the end of its chain of symbolic
/// links (which need not exist yet).
fn resolve_links(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(&p)?;
                p = if target.is_absolute() { target } else { p.parent().map(|d| d.join(&target)).unwrap_or(target) };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other(format!("more than {MAX_LINKS} levels of symbolic links")))
}

/// Writes `bytes` to `path`: atomic replacement for a new or regular file, through symbolic
/// links, in place for hard-linked files and directly to FIFOs and devices (module docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_links(path).map_err(|e| write_error(path, &e))?;
    let shown = |e: std::io::Error| {
        if target == path {
            write_error(path, &e)
        } else {
            write_error(path, &std::io::Error::new(e.kind(), format!("{} (the link's target): {e}", target.display())))
        }
    };
    match fs::metadata(&target) {
        Ok(m) if m.file_type().is_dir() => Err(shown(std::io::Error::other("is a folder"))),
        Ok(m) if m.is_file() && m.nlink() > 1 => {
            // Full text to a temporary file first: a full disk fails before the file is touched.
            let tmp = temporary(&target, bytes).map_err(&shown)?;
            let copied = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&target)
                .and_then(|mut f| f.write_all(bytes).and_then(|_| f.flush()));
            let _ = fs::remove_file(&tmp);
            copied.map_err(shown)
        }
        Ok(m) if m.is_file() => replace(&target, bytes, Some(&m)).map_err(shown),
        Ok(m) if is_special(&m.file_type()) => {
            OpenOptions::new().write(true).open(&target).and_then(|mut f| f.write_all(bytes)).map_err(shown)
        }
        Ok(_) => Err(shown(std::io::Error::other("not a file migfit can write to"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => replace(&target, bytes, None).map_err(shown),
        Err(e) => Err(shown(e)),
    }
}

fn is_special(t: &fs::FileType) -> bool {
    t.is_fifo() || t.is_char_device() || t.is_block_device() || t.is_socket()
}

/// Writes `bytes` to a new temporary file beside `target` and returns its path.
fn temporary(target: &Path, bytes: &[u8]) -> std::io::Result<PathBuf> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
    let tmp = dir.join(format!(".{name}.migfit-{}.tmp", std::process::id()));
    // A stale temporary file from a crashed run of the same process id: create_new refuses to
    // follow anything already there, so remove it once and retry.
    let open = || OpenOptions::new().write(true).create_new(true).open(&tmp);
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::remove_file(&tmp)?;
            open()?
        }
        other => other?,
    };
    let written = file.write_all(bytes).and_then(|_| file.sync_all());
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(tmp)
}

/// Atomic replacement of a regular file (or creation of a new one): a temporary file with the
/// old file's permissions and, where allowed, its owner and group, renamed over `target`.
fn replace(target: &Path, bytes: &[u8], old: Option<&fs::Metadata>) -> std::io::Result<()> {
    let tmp = temporary(target, bytes)?;
    let result = (|| {
        if let Some(m) = old {
            fs::set_permissions(&tmp, m.permissions())?;
            let now = fs::metadata(&tmp)?;
            if (now.uid(), now.gid()) != (m.uid(), m.gid()) {
                // Only root may give a file away; a user may still set one of their groups.
                if std::os::unix::fs::chown(&tmp, Some(m.uid()), Some(m.gid())).is_err() {
                    let _ = std::os::unix::fs::chown(&tmp, None, Some(m.gid()));
                }
            }
        }
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_permissions_of_the_replaced_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.txt");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn writes_through_symbolic_links() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.txt");
        fs::write(&target, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink("real.txt", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        // A dangling link creates its target.
        let dangling = dir.path().join("dangling.txt");
        std::os::unix::fs::symlink("made.txt", &dangling).unwrap();
        write_atomic(&dangling, b"x").unwrap();
        assert_eq!(fs::read_to_string(dir.path().join("made.txt")).unwrap(), "x");
        assert!(fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink());
    }

    #[test]
    fn hard_links_stay_linked() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.txt");
        let b = dir.path().join("b.txt");
        fs::write(&a, "old").unwrap();
        fs::hard_link(&a, &b).unwrap();
        write_atomic(&a, b"new").unwrap();
        assert_eq!(fs::read_to_string(&b).unwrap(), "new");
        assert_eq!(fs::metadata(&a).unwrap().ino(), fs::metadata(&b).unwrap().ino());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }

    #[test]
    fn devices_are_written_directly() {
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        assert!(fs::metadata("/dev/null").unwrap().file_type().is_char_device());
    }

    #[test]
    fn failures_say_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_atomic(&dir.path().join("no/such/folder/t.txt"), b"x").unwrap_err().to_string();
        assert!(e.starts_with("cannot write "), "{e}");
        let e = write_atomic(dir.path(), b"x").unwrap_err().to_string();
        assert!(e.contains("cannot write") && e.contains("folder"), "{e}");
    }
}
