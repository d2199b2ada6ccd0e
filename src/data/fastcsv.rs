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
    // mant <= 2^53: a signed conversion (one instruction) is exact.
    let v = (mant as i64) as f64 / POW10[frac];
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
    // mant <= 2^53: a signed conversion (one instruction) is exact.
    let v = (mant as i64) as f64 / POW10[frac];
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

/// Where one chunk's values of one wanted column go.
enum Sink<'s> {
    /// This chunk's rows of a numeric column (`NaN` = missing), and the values that are not
    /// numbers, by row within the chunk.
    Num(&'s mut [f64], Vec<(usize, String)>),
    /// A text column.
    Str(Vec<Option<String>>),
}

/// How the fields of a chunk are read.
struct Plan<'a> {
    delimiter: u8,
    ncol: usize,
    /// File column -> output slot, or `usize::MAX` for a column not read.
    slot_of: Vec<usize>,
    nulls: Vec<&'a [u8]>,
    /// Whether some null token is itself a plain decimal (then nulls are checked first).
    numeric_null: bool,
}

impl Plan<'_> {
    #[inline]
    fn is_null(&self, f: &[u8]) -> bool {
        self.nulls.iter().any(|n| *n == f)
    }

    /// Parses one chunk of `rows` whole lines into `sinks`; `None` if a line is blank or
    /// ragged (or the chunk does not hold `rows` lines).
    fn chunk(&self, chunk: &[u8], rows: usize, sinks: &mut [Sink]) -> Option<()> {
        let (d, ncol, len) = (self.delimiter, self.ncol, chunk.len());
        // After the last column read, the rest of a line is only checked for its field count.
        let last_read = self.slot_of.iter().rposition(|&k| k != usize::MAX);
        let skip_tail = d != b'\r' && d != b'\n';
        let mut r = 0usize;
        let mut pos = 0usize;
        while pos < len {
            if r >= rows {
                return None;
            }
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
                    if let Sink::Num(out, _) = &mut sinks[k] {
                        if let Some((x, p)) = scan_decimal(chunk, fs, d) {
                            out[r] = x;
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
                    self.field(&mut sinks[k], r, chunk[fs..fe].trim_ascii());
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
            r += 1;
        }
        (r == rows).then_some(())
    }

    #[inline]
    fn field(&self, sink: &mut Sink, r: usize, f: &[u8]) {
        match sink {
            Sink::Num(out, texts) => {
                out[r] = if !self.numeric_null && fast_f64(f).is_some() {
                    fast_f64(f).unwrap_or(f64::NAN)
                } else if self.is_null(f) {
                    f64::NAN
                } else {
                    // from_utf8 cannot fail: each chunk was checked.
                    match std::str::from_utf8(f).ok().and_then(parse_number) {
                        Some(x) => x,
                        None => {
                            // Not a number: the column becomes text (the schema then reports
                            // the exact cell).
                            texts.push((r, String::from_utf8_lossy(f).into_owned()));
                            f64::NAN
                        }
                    }
                };
            }
            Sink::Str(v) => v.push(if self.is_null(f) { None } else { Some(String::from_utf8_lossy(f).into_owned()) }),
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
    let plan = Plan { delimiter, ncol, slot_of, nulls, numeric_null };

    let threads = rayon::current_num_threads().max(1);
    let target = (body.len() / (CHUNKS_PER_THREAD * threads)).max(MIN_CHUNK);
    let bounds = chunk_bounds(body, target);
    // Pass 1: check each chunk and count its lines, so that every chunk knows where its rows go.
    let rows: Vec<Option<usize>> = bounds
        .par_iter()
        .map(|&(s, e)| {
            let chunk = &body[s..e];
            if chunk.contains(&b'"') || std::str::from_utf8(chunk).is_err() {
                return None;
            }
            Some(memchr::memchr_iter(b'\n', chunk).count() + usize::from(chunk.last() != Some(&b'\n')))
        })
        .collect();
    let rows: Vec<usize> = rows.into_iter().collect::<Option<_>>()?;
    let n: usize = rows.iter().sum();
    if n == 0 {
        return None;
    }
    // Pass 2: parse each chunk straight into its rows of the full-length numeric columns.
    let mut numeric: Vec<Option<Vec<f64>>> = wanted.iter().map(|&(_, num)| num.then(|| vec![0.0; n])).collect();
    let mut rest: Vec<Option<&mut [f64]>> = numeric.iter_mut().map(|c| c.as_deref_mut()).collect();
    let mut jobs: Vec<(&[u8], usize, Vec<Sink>)> = Vec::with_capacity(bounds.len());
    for (&(s, e), &r) in bounds.iter().zip(&rows) {
        let mut sinks = Vec::with_capacity(rest.len());
        for slot in rest.iter_mut() {
            match slot.take() {
                Some(c) => {
                    let (mine, later) = c.split_at_mut(r);
                    *slot = Some(later);
                    sinks.push(Sink::Num(mine, Vec::new()));
                }
                None => sinks.push(Sink::Str(Vec::with_capacity(r))),
            }
        }
        jobs.push((&body[s..e], r, sinks));
    }
    let results: Vec<Option<Vec<Sink>>> = jobs
        .into_par_iter()
        .map(|(chunk, r, mut sinks)| {
            plan.chunk(chunk, r, &mut sinks)?;
            Some(sinks)
        })
        .collect();
    let mut texts: Vec<Vec<(usize, String)>> = (0..wanted.len()).map(|_| Vec::new()).collect();
    let mut strs: Vec<Vec<Option<String>>> = (0..wanted.len()).map(|_| Vec::new()).collect();
    let mut offset = 0;
    for (res, &r) in results.into_iter().zip(&rows) {
        for (k, sink) in res?.into_iter().enumerate() {
            match sink {
                Sink::Num(_, t) => texts[k].extend(t.into_iter().map(|(i, s)| (offset + i, s))),
                Sink::Str(v) => strs[k].extend(v),
            }
        }
        offset += r;
    }
    let mut columns = Vec::with_capacity(wanted.len());
    for (k, &(i, _)) in wanted.iter().enumerate() {
        let data = match numeric[k].take() {
            Some(v) if texts[k].is_empty() => RawData::Num(v),
            Some(v) => {
                // A column with a value that is not a number is text; numbers keep their exact value.
                let mut t = std::mem::take(&mut texts[k]).into_iter().peekable();
                RawData::Str(
                    v.into_iter()
                        .enumerate()
                        .map(|(row, x)| match t.next_if(|(r, _)| *r == row) {
                            Some((_, s)) => Some(s),
                            None if x.is_nan() => None,
                            None => Some(exact_text(x)),
                        })
                        .collect(),
                )
            }
            None => RawData::Str(std::mem::take(&mut strs[k])),
        };
        columns.push(RawColumn { name: header[i].clone(), data, label: None, value_labels: Vec::new() });
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
