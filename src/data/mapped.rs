//! A data file's bytes in memory: memory-mapped when it is a regular file, else read.
//!
//! Mapping gives the loaders the page cache's own pages: no copy into a fresh buffer and no
//! zero-filled pages to fault in (reading a 39 MB CSV into a `Vec` cost as many page faults
//! as the rest of a two-part job's loading). The readers only ever see a `&[u8]`, so a mapped
//! and a read file give the same results.
//!
//! As with every memory-mapped reader (ripgrep, polars), a file truncated by another process
//! while migfit reads it can end the process with `SIGBUS`; migfit reads its input once, at
//! the start, and a file being rewritten during an analysis is an error either way.

use std::ops::Deref;
use std::path::Path;

/// The bytes of a file (see the module docs).
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// The bytes of the file at `path`: mapped when it is a non-empty regular file (pipes,
/// `/dev/stdin` and empty files are read).
pub fn read_file(path: &Path) -> std::io::Result<FileBytes> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > 0 {
        // SAFETY: the map is read-only and lives as long as the returned value; the file
        // changing underneath is the documented caveat of the module.
        if let Ok(m) = unsafe { memmap2::Mmap::map(&file) } {
            return Ok(FileBytes::Mapped(m));
        }
    }
    let mut v = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut &file, &mut v)?;
    Ok(FileBytes::Read(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_and_read_give_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("migfit-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.csv");
        let text = b"y,x\n1,2\n3,4\n";
        std::fs::write(&p, text).unwrap();
        let b = read_file(&p).unwrap();
        assert!(matches!(b, FileBytes::Mapped(_)));
        assert_eq!(&*b, text);
        let e = dir.join("empty.csv");
        std::fs::write(&e, b"").unwrap();
        let b = read_file(&e).unwrap();
        assert!(matches!(b, FileBytes::Read(_)));
        assert!(b.is_empty());
        assert!(read_file(&dir.join("missing.csv")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
