//! The native fast CSV path: one parallel pass over the file that checks, chunk by chunk, that
//! the file is regular enough for it (valid UTF-8, no quote characters, no blank lines, the
//! header's number of fields on every line) and parses the wanted columns at the same time.
//! Any irregularity makes it give up (`None`): the precise reader then reads the file and
//! reports each problem with its line.
//!
//! Chunks are byte ranges that end after a newline, parsed independently and concatenated in
//! file order, so row `i` is line `i + 2` and the result does not depend on the chunking (nor
//! on the number of threads).

use super::csv::parse_number;
use super::load::{RawColumn, RawData, RawTable};
use rayon::prelude::*;

/// Chunks per thread: enough for load balancing, few enough to keep per-chunk overhead small.
const CHUNKS_PER_THREAD: usize = 8;
/// Smallest chunk, in bytes.
const MIN_CHUNK: usize = 1 << 18;

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// Parses a plain decimal (`[+-]digits[.digits]`, at least one digit) exactly as
/// `str::parse::<f64>` does, when the exact fast path applies: an integer mantissa of at most
/// 2^53 and at most 22 fraction digits, so that `mantissa / 10^k` is one correctly rounded
/// division of two exact doubles. `None` means "not this simple form": the caller falls back
/// to the standard parser.
#[inline]
pub fn fast_f64(s: &[u8]) -> Option<f64> {
    let (neg, mut i) = match s.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let mut mant: u64 = 0;
    let mut digits = 0usize;
    while i < s.len() && s[i].is_ascii_digit() {
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
        digits += 1;
        i += 1;
    }
    let mut frac = 0usize;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_digit() {
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(s[i] - b'0'));
            frac += 1;
            i += 1;
        }
    }
    // 19 digits cannot overflow a u64; beyond that (or past 2^53) leave it to the std parser.
    if i != s.len() || digits + frac == 0 || digits + frac > 19 || frac > 22 || mant > (1u64 << 53) {
        return None;
    }
    let v = mant as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// Parses a plain decimal that starts at `chunk[start]` and ends at a delimiter, a newline or
/// the end of the chunk: the value and the position of that end. `None` for anything else
/// (spaces, a carriage return, an exponent, too many digits...): the caller then finds the
/// field's end and parses it the general way. Same values as [`fast_f64`].
#[inline]
fn scan_decimal(chunk: &[u8], start: usize, d: u8) -> Option<(f64, usize)> {
    let len = chunk.len();
    let mut i = start;
    let neg = match chunk.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut mant: u64 = 0;
    let d0 = i;
    while i < len {
        let c = chunk[i].wrapping_sub(b'0');
        if c >= 10 {
            break;
        }
        mant = mant.wrapping_mul(10).wrapping_add(u64::from(c));
        i += 1;
    }
    let mut digits = i - d0;
    let mut frac = 0;
    if i < len && chunk[i] == b'.' {
        i += 1;
        let f0 = i;
        while i < len {
            let c = chunk[i].wrapping_sub(b'0');
            if c >= 10 {
                break;
            }
            mant = mant.wrapping_mul(10).wrapping_add(u64::from(c));
            i += 1;
        }
        frac = i - f0;
        digits += frac;
    }
    if (i < len && chunk[i] != d && chunk[i] != b'\n') || digits == 0 || digits > 19 || mant > (1u64 << 53) {
        return None;
    }
    let v = mant as f64 / POW10[frac];
    Some((if neg { -v } else { v }, i))
}

/// A number as text that parses back to exactly the same value (`-0` keeps its sign).
fn exact_text(x: f64) -> String {
    if x == 0.0 && x.is_sign_negative() {
        "-0".to_string()
    } else {
        super::format_number(x)
    }
}

/// Column values of one chunk.
enum Part {
    Num(Vec<f64>),
    Str(Vec<Option<String>>),
}

impl Part {
    fn into_strings(self) -> Vec<Option<String>> {
        match self {
            Part::Str(v) => v,
            Part::Num(v) => v.into_iter().map(|x| if x.is_nan() { None } else { Some(exact_text(x)) }).collect(),
        }
    }
}

/// How the fields of a chunk are read.
struct Plan<'a> {
    delimiter: u8,
    ncol: usize,
    /// File column -> output slot, or `usize::MAX` for a column not read.
    slot_of: Vec<usize>,
    /// Per output slot: parse as numbers?
    numeric: Vec<bool>,
    nulls: Vec<&'a [u8]>,
    /// Whether some null token is itself a plain decimal (then nulls are checked first).
    numeric_null: bool,
}

impl Plan<'_> {
    #[inline]
    fn is_null(&self, f: &[u8]) -> bool {
        self.nulls.iter().any(|n| *n == f)
    }

    /// Parses one chunk (whole lines); `None` if a line is blank or ragged.
    fn chunk(&self, chunk: &[u8]) -> Option<(usize, Vec<Part>)> {
        let rows = memchr::memchr_iter(b'\n', chunk).count() + usize::from(chunk.last() != Some(&b'\n'));
        let mut cols: Vec<Part> = self
            .numeric
            .iter()
            .map(|&num| if num { Part::Num(Vec::with_capacity(rows)) } else { Part::Str(Vec::with_capacity(rows)) })
            .collect();
        let (d, ncol, len) = (self.delimiter, self.ncol, chunk.len());
        // After the last column read, the rest of a line is only checked for its field count.
        let last_read = self.slot_of.iter().rposition(|&k| k != usize::MAX);
        let skip_tail = d != b'\r' && d != b'\n';
        let mut n = 0usize;
        let mut pos = 0usize;
        while pos < len {
            let line_start = pos;
            let mut j = 0usize;
            let mut fs = pos;
            loop {
                if j >= ncol {
                    return None; // ragged
                }
                if skip_tail && last_read.is_some_and(|l| j > l) {
                    let (rest_end, next) = match memchr::memchr(b'\n', &chunk[fs..]) {
                        Some(q) => (fs + q, fs + q + 1),
                        None => (len, len),
                    };
                    if memchr::memchr_iter(d, &chunk[fs..rest_end]).count() != ncol - 1 - j {
                        return None;
                    }
                    j = ncol;
                    pos = next;
                    break;
                }
                let k = self.slot_of[j];
                // A plain decimal in a numeric column is parsed while it is scanned.
                if k != usize::MAX && !self.numeric_null {
                    if let Part::Num(v) = &mut cols[k] {
                        if let Some((x, p)) = scan_decimal(chunk, fs, d) {
                            v.push(x);
                            j += 1;
                            if p == len || chunk[p] == b'\n' {
                                pos = p + 1;
                                break;
                            }
                            fs = p + 1;
                            continue;
                        }
                    }
                }
                let p = match memchr::memchr2(d, b'\n', &chunk[fs..]) {
                    Some(q) => fs + q,
                    None => len,
                };
                let eol = p == len || chunk[p] == b'\n';
                let mut fe = p;
                if eol && fe > fs && chunk[fe - 1] == b'\r' {
                    fe -= 1;
                }
                if eol && j == 0 && fe == line_start {
                    return None; // a blank line
                }
                if k != usize::MAX {
                    self.field(&mut cols, k, chunk[fs..fe].trim_ascii());
                }
                j += 1;
                if eol {
                    pos = p + 1;
                    break;
                }
                fs = p + 1;
            }
            if j != ncol {
                return None;
            }
            n += 1;
        }
        Some((n, cols))
    }

    #[inline]
    fn field(&self, cols: &mut [Part], k: usize, f: &[u8]) {
        match &mut cols[k] {
            Part::Num(v) => {
                if !self.numeric_null {
                    if let Some(x) = fast_f64(f) {
                        v.push(x);
                        return;
                    }
                }
                if self.is_null(f) {
                    v.push(f64::NAN);
                    return;
                }
                // from_utf8 cannot fail: each chunk was checked.
                match std::str::from_utf8(f).ok().and_then(parse_number) {
                    Some(x) => v.push(x),
                    None => {
                        // Not a number: this chunk of the column becomes text (the schema then
                        // reports the exact cell). Parsed numbers keep their exact value.
                        let mut strings = std::mem::replace(&mut cols[k], Part::Num(Vec::new())).into_strings();
                        strings.push(Some(String::from_utf8_lossy(f).into_owned()));
                        cols[k] = Part::Str(strings);
                    }
                }
            }
            Part::Str(v) => v.push(if self.is_null(f) { None } else { Some(String::from_utf8_lossy(f).into_owned()) }),
        }
    }
}

/// Splits `body` into chunks of about `target` bytes, each ending after a newline (the last at
/// the end of the body).
fn chunk_bounds(body: &[u8], target: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < body.len() {
        let want = (start + target).min(body.len());
        let end = if want >= body.len() {
            body.len()
        } else {
            match body[want..].iter().position(|&b| b == b'\n') {
                Some(p) => want + p + 1,
                None => body.len(),
            }
        };
        out.push((start, end));
        start = end;
    }
    out
}

/// The fast path: `None` when the file must go through the precise reader.
#[cfg_attr(feature = "polars", allow(dead_code))]
pub(crate) fn read(
    bytes: &[u8],
    display: &str,
    delimiter: u8,
    needed: Option<&[String]>,
    numeric_hint: &[String],
    null_tokens: &[String],
) -> Option<RawTable> {
    let header_end = bytes.iter().position(|&b| b == b'\n')?;
    let hline = &bytes[..header_end];
    let hline = hline.strip_suffix(b"\r").unwrap_or(hline);
    if hline.contains(&b'"') {
        return None;
    }
    std::str::from_utf8(hline).ok()?;
    let header: Vec<String> =
        hline.split(|&b| b == delimiter).map(|f| String::from_utf8_lossy(f).trim().to_string()).collect();
    let ncol = header.len();
    if header.iter().any(|h| h.is_empty()) || (1..ncol).any(|i| header[..i].contains(&header[i])) {
        return None;
    }
    let body = &bytes[header_end + 1..];
    if body.is_empty() {
        return None;
    }
    // (column index in the file, numeric?)
    let wanted: Vec<(usize, bool)> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| needed.is_none_or(|n| n.contains(h)))
        .map(|(i, h)| (i, numeric_hint.contains(h) || needed.is_none()))
        .collect();
    let mut slot_of = vec![usize::MAX; ncol];
    for (k, &(i, _)) in wanted.iter().enumerate() {
        slot_of[i] = k;
    }
    let dots: Vec<[u8; 2]> = (b'a'..=b'z').map(|c| [b'.', c]).collect();
    let mut nulls: Vec<&[u8]> = vec![b"", b"NA", b".", b"NaN"];
    nulls.extend(dots.iter().map(|d| &d[..]));
    nulls.extend(null_tokens.iter().map(|t| t.as_bytes()));
    let numeric_null = nulls.iter().any(|n| fast_f64(n).is_some());
    let plan = Plan { delimiter, ncol, slot_of, numeric: wanted.iter().map(|w| w.1).collect(), nulls, numeric_null };

    let threads = rayon::current_num_threads().max(1);
    let target = (body.len() / (CHUNKS_PER_THREAD * threads)).max(MIN_CHUNK);
    let bounds = chunk_bounds(body, target);
    let parts: Vec<Option<(usize, Vec<Part>)>> = bounds
        .par_iter()
        .map(|&(s, e)| {
            let chunk = &body[s..e];
            if chunk.contains(&b'"') || std::str::from_utf8(chunk).is_err() {
                return None;
            }
            plan.chunk(chunk)
        })
        .collect();
    let mut n = 0usize;
    let mut by_col: Vec<Vec<Part>> = (0..wanted.len()).map(|_| Vec::with_capacity(parts.len())).collect();
    for p in parts {
        let (rows, cols) = p?;
        n += rows;
        for (k, c) in cols.into_iter().enumerate() {
            by_col[k].push(c);
        }
    }
    if n == 0 {
        return None;
    }
    // Concatenate column by column, freeing the pieces as they are copied.
    let mut columns = Vec::with_capacity(wanted.len());
    for (k, pieces) in by_col.into_iter().enumerate() {
        let data = if pieces.iter().all(|p| matches!(p, Part::Num(_))) {
            let mut v = Vec::with_capacity(n);
            for p in pieces {
                if let Part::Num(x) = p {
                    v.extend_from_slice(&x);
                }
            }
            RawData::Num(v)
        } else {
            let mut v = Vec::with_capacity(n);
            for p in pieces {
                v.extend(p.into_strings());
            }
            RawData::Str(v)
        };
        columns.push(RawColumn { name: header[wanted[k].0].clone(), data, label: None, value_labels: Vec::new() });
    }
    Some(RawTable {
        source: display.to_string(),
        columns,
        line_numbers: (2..n as u64 + 2).collect(),
        problems: Vec::new(),
        fast_path: true,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_f64_agrees_with_std() {
        let cases = [
            "0",
            "-0",
            "+5",
            "5.",
            ".5",
            "007",
            "1.5",
            "-2.25",
            "123456789012345678",
            "1234567890123456789",
            "9007199254740992",
            "9007199254740993",
            "0.1",
            "0.3",
            "2.675",
            "1e3",
            "",
            "-",
            ".",
            "+.",
            "1.2.3",
            "abc",
            "0.0000000000000000000001",
            "3.14159265358979",
            "99999999999999999999",
            "1,5",
            " 1",
        ];
        for c in cases {
            let std = c.parse::<f64>().ok();
            match fast_f64(c.as_bytes()) {
                Some(x) => assert_eq!(Some(x.to_bits()), std.map(f64::to_bits), "{c}"),
                None => assert!(
                    std.is_none() || c.contains(['e', 'E']) || c.len() > 19 || c.trim() != c || {
                        let m: u128 = c.replace(['.', '-', '+'], "").parse().unwrap_or(u128::MAX);
                        m > 1 << 53
                    },
                    "{c} is simple but was not parsed"
                ),
            }
        }
        for c in cases.iter().filter(|c| !c.contains(',')) {
            for end in ["", ",x", "\n", "\r\n", " ,"] {
                let text = format!("{c}{end}");
                if let Some((x, p)) = scan_decimal(text.as_bytes(), 0, b',') {
                    assert_eq!(Some(x.to_bits()), c.parse::<f64>().ok().map(f64::to_bits), "{text:?}");
                    assert_eq!(p, c.len(), "{text:?}");
                    assert_eq!(Some(x.to_bits()), fast_f64(c.as_bytes()).map(f64::to_bits), "{text:?}");
                } else {
                    assert!(fast_f64(c.as_bytes()).is_none() || end.starts_with(['\r', ' ']), "{text:?}");
                }
            }
        }
        // Every value written with up to 4 decimals round-trips bit for bit.
        let mut s: u64 = 1;
        for _ in 0..100_000 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (s >> 20) as f64 / 1e4;
            let t = format!("{v:.4}");
            assert_eq!(fast_f64(t.as_bytes()).map(f64::to_bits), Some(t.parse::<f64>().unwrap().to_bits()), "{t}");
        }
    }

    #[test]
    fn chunks_end_after_newlines_and_cover_the_body() {
        let body = b"1,2\n3,4\n5,6\n7,8";
        for target in 1..20 {
            let b = chunk_bounds(body, target);
            assert_eq!(b.first().unwrap().0, 0);
            assert_eq!(b.last().unwrap().1, body.len());
            for w in b.windows(2) {
                assert_eq!(w[0].1, w[1].0);
                assert_eq!(body[w[0].1 - 1], b'\n');
            }
        }
    }

    #[test]
    fn negative_zero_survives_a_text_fallback() {
        let t = read(b"a,b\n-0,1\nx,2\n", "t", b',', None, &[], &[]).unwrap();
        match &t.columns[0].data {
            RawData::Str(v) => {
                let x = parse_number(v[0].as_deref().unwrap()).unwrap();
                assert!(x == 0.0 && x.is_sign_negative());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn irregular_files_are_refused() {
        for f in
            [&b"a,b\n1,2\n\n3,4\n"[..], b"a,b\n1,2\n3\n", b"a,b\n1,\"2\"\n", b"a,b\n1,2\n3,\xff\n", b"a\n1\n\r\n2\n"]
        {
            assert!(read(f, "t", b',', None, &[], &[]).is_none(), "{}", String::from_utf8_lossy(f));
        }
        let t = read(b"a,b\r\n1,2\r\n3,4", "t", b',', None, &[], &[]).unwrap();
        assert_eq!(t.line_numbers, vec![2, 3]);
        assert_eq!(t.columns[1].data, RawData::Num(vec![2.0, 4.0]));
    }
}
