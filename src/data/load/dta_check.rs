//! Sizes a `.dta` file states, checked against the file's length before the `dta` crate reads
//! it (issue #19: an 85 KB damaged file made the crate allocate 3.8 GB before its error). The
//! crate sizes its buffer from each length field it meets (the variable count, a
//! characteristic's, a long string's, a value-label set's) and only then reads; so every
//! such field is walked here first, on the mapped bytes, and one that points past the end of
//! the file is a data error naming the section and the byte offset.
//!
//! Formats 117-119 (Stata 13 and later: tagged sections and a map of offsets) are walked in
//! full. For the older binary formats (before 117) the variable count is checked against the
//! file's length; their value-label lengths are bounded by 2^31 by the format itself.

use std::fmt::Write as _;

/// Checks `bytes` (a whole `.dta` file); `Err` says what is wrong and where.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    if bytes.starts_with(b"<stata_dta>") {
        Tagged::new(bytes)?.check()
    } else {
        check_old(bytes)
    }
}

/// Bytes per variable in the descriptor sections of formats before 117 (type 1, name 9 or 33,
/// sort entry 2, format 7 or 12 or 49, value-label name 9 or 33, label 32 or 81): at least 1.
fn check_old(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 10 {
        return Err(format!("the file is {} bytes long, shorter than a Stata header", bytes.len()));
    }
    let little = bytes[1] == 2;
    let k = u64::from(if little {
        u16::from_le_bytes([bytes[4], bytes[5]])
    } else {
        u16::from_be_bytes([bytes[4], bytes[5]])
    });
    // Each variable needs a type byte, a name and a sort entry at least.
    if k.saturating_mul(12) > bytes.len() as u64 {
        return Err(format!("the header declares {k} variables, more than a {}-byte file can hold", bytes.len()));
    }
    Ok(())
}

struct Tagged<'a> {
    b: &'a [u8],
    release: u32,
    little: bool,
}

impl<'a> Tagged<'a> {
    fn new(b: &'a [u8]) -> Result<Self, String> {
        let release = between(b, 0, b"<release>", b"</release>")?;
        let release: u32 = std::str::from_utf8(release)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or("the header's <release> is not a number")?;
        if !(117..=119).contains(&release) {
            return Err(format!("release {release} with tagged sections (expected 117, 118 or 119)"));
        }
        let order = between(b, 0, b"<byteorder>", b"</byteorder>")?;
        Ok(Tagged { b, release, little: order == b"LSF" })
    }

    fn uint(&self, at: usize, width: usize) -> Result<u64, String> {
        let s = self.b.get(at..at + width).ok_or_else(|| format!("byte {at}: the file ends inside a number"))?;
        let mut v = 0u64;
        for i in 0..width {
            let byte = if self.little { s[width - 1 - i] } else { s[i] };
            v = (v << 8) | u64::from(byte);
        }
        Ok(v)
    }

    fn expect(&self, at: usize, tag: &[u8]) -> Result<usize, String> {
        if self.b.get(at..at + tag.len()) == Some(tag) {
            Ok(at + tag.len())
        } else {
            Err(format!("byte {at}: expected {}", String::from_utf8_lossy(tag)))
        }
    }

    /// `len` bytes from `at` lie inside the file.
    fn fits(&self, at: usize, len: u64, what: &str) -> Result<usize, String> {
        let end = (at as u64).checked_add(len).filter(|&e| e <= self.b.len() as u64);
        end.map(|e| e as usize).ok_or_else(|| {
            let mut m = String::new();
            let _ =
                write!(m, "byte {at}: {what} of {len} bytes runs past the end of the file ({} bytes)", self.b.len());
            m
        })
    }

    fn check(&self) -> Result<(), String> {
        let len = self.b.len() as u64;
        let k_at = find(self.b, 0, b"<K>")? + 3;
        let k = self.uint(k_at, if self.release == 119 { 4 } else { 2 })?;
        let name = if self.release == 117 { 33 } else { 129 };
        // Types (2), names, sort entries (2 or 4), formats (49 or 57), value-label names and
        // labels (81 or 321) per variable.
        let per_var = 2 + name + 2 + 49 + name + 81;
        if k.saturating_mul(per_var) > len {
            return Err(format!("the header declares {k} variables, more than a {len}-byte file can hold"));
        }
        let map = find(self.b, 0, b"<map>")? + 5;
        let mut offsets = [0u64; 14];
        for (i, o) in offsets.iter_mut().enumerate() {
            *o = self.uint(map + 8 * i, 8)?;
            if *o > len {
                return Err(format!("the map's offset {} is {o}, past the end of the file ({len} bytes)", i + 1));
            }
        }
        self.characteristics(offsets[8] as usize)?;
        self.strls(offsets[10] as usize)?;
        self.value_labels(offsets[11] as usize)
    }

    fn characteristics(&self, at: usize) -> Result<(), String> {
        let mut p = self.expect(at, b"<characteristics>")?;
        while self.b.get(p..p + 4) == Some(b"<ch>") {
            let n = self.uint(p + 4, 4)?;
            p = self.fits(p + 8, n, "a characteristic")?;
            p = self.expect(p, b"</ch>")?;
        }
        self.expect(p, b"</characteristics>").map(|_| ())
    }

    fn strls(&self, at: usize) -> Result<(), String> {
        let mut p = self.expect(at, b"<strls>")?;
        let o_width = if self.release == 117 { 4 } else { 8 };
        while self.b.get(p..p + 3) == Some(b"GSO") {
            let len_at = p + 3 + 4 + o_width + 1;
            let n = self.uint(len_at, 4)?;
            p = self.fits(len_at + 4, n, "a long string (strL)")?;
        }
        self.expect(p, b"</strls>").map(|_| ())
    }

    fn value_labels(&self, at: usize) -> Result<(), String> {
        let mut p = self.expect(at, b"<value_labels>")?;
        let name = if self.release == 117 { 33 } else { 129 };
        while self.b.get(p..p + 5) == Some(b"<lbl>") {
            let n = self.uint(p + 5, 4)?;
            let table = p + 9 + name + 3;
            let end = self.fits(table, n, "a value-label set")?;
            // The table: entry count, text length, offsets and values (4 bytes each per
            // entry), then the text; its own sizes must add up to the set's length.
            let entries = self.uint(table, 4)?;
            let text = self.uint(table + 4, 4)?;
            if n < 8 || entries.saturating_mul(8).saturating_add(text).saturating_add(8) > n {
                return Err(format!(
                    "byte {table}: a value-label set of {n} bytes declares {entries} labels and {text} bytes of text"
                ));
            }
            p = self.expect(end, b"</lbl>")?;
        }
        self.expect(p, b"</value_labels>").map(|_| ())
    }
}

fn find(b: &[u8], from: usize, tag: &[u8]) -> Result<usize, String> {
    memchr::memmem::find(b.get(from..).unwrap_or_default(), tag)
        .map(|i| i + from)
        .ok_or_else(|| format!("no {} in the file", String::from_utf8_lossy(tag)))
}

fn between<'b>(b: &'b [u8], from: usize, open: &[u8], close: &[u8]) -> Result<&'b [u8], String> {
    let s = find(b, from, open)? + open.len();
    let e = find(b, s, close)?;
    Ok(&b[s..e])
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_fixture_passes() {
        let b = std::fs::read("tests/fixtures/cmds2014_small.dta").unwrap();
        super::check(&b).unwrap();
    }
}
