//! CSV text: decoding (GBK, GB18030), delimiter detection, and the precise reader that records
//! every problem with its line, column and value.

use super::*;

/// Decodes GBK / GB18030 text; invalid byte sequences are recorded with their line.
pub(super) fn decode(bytes: &[u8], enc: TextEncoding, display: &str, problems: &mut Vec<Violation>) -> Vec<u8> {
    let encoding = match enc {
        TextEncoding::Utf8 => return bytes.to_vec(),
        // encoding_rs decodes GBK with the GB18030 decoder, as the WHATWG standard says;
        // every GBK file is valid GB18030.
        TextEncoding::Gbk => encoding_rs::GBK,
        TextEncoding::Gb18030 => encoding_rs::GB18030,
    };
    let (text, had_errors) = encoding.decode_without_bom_handling(bytes);
    if had_errors {
        for (i, line) in text.split('\n').enumerate() {
            if line.contains('\u{FFFD}') {
                problems.push(Violation::new(
                    Rule::Encoding,
                    Some(i as u64 + 1),
                    None,
                    None,
                    format!("bytes that are not valid {} (replaced by '\u{FFFD}')", encoding.name()),
                ));
            }
        }
        let _ = display;
    }
    text.into_owned().into_bytes()
}

/// The delimiter of a CSV file: the most frequent of `,`, tab, `;`, `|` in the header line.
pub fn detect_delimiter(bytes: &[u8]) -> u8 {
    let end = memchr_newline(bytes).unwrap_or(bytes.len());
    let header = &bytes[..end];
    let mut best = (0usize, b',');
    for d in [b',', b'\t', b';', b'|'] {
        let n = header.iter().filter(|&&b| b == d).count();
        if n > best.0 {
            best = (n, d);
        }
    }
    best.1
}

pub(super) fn memchr_newline(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

#[allow(clippy::too_many_arguments)]
pub(super) fn read_csv_raw(
    bytes: &[u8],
    display: &str,
    encoding: Option<TextEncoding>,
    delimiter: Option<u8>,
    needed: Option<&[String]>,
    numeric_hint: &[String],
    null_tokens: &[String],
    precise_only: bool,
) -> RawTable {
    let mut problems = Vec::new();
    let decoded;
    let bytes = match encoding {
        Some(e) if e != TextEncoding::Utf8 => {
            decoded = decode(bytes, e, display, &mut problems);
            &decoded[..]
        }
        _ => bytes,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(bytes));
    let empty = || RawTable {
        source: display.to_string(),
        columns: Vec::new(),
        line_numbers: Vec::new(),
        problems: Vec::new(),
        fast_path: false,
        header: Vec::new(),
    };
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        let mut t = empty();
        problems.push(Violation::new(
            Rule::EmptyFile,
            None,
            None,
            None,
            "the file is empty (expected a header line naming the columns)".into(),
        ));
        t.problems = problems;
        return t;
    }
    if !precise_only && problems.is_empty() {
        if let Some(t) = crate::data::fastcsv::read(bytes, display, delimiter, needed, numeric_hint, null_tokens) {
            return t;
        }
    }
    let mut t = precise_csv(bytes, display, delimiter, needed);
    problems.append(&mut t.problems);
    t.problems = problems;
    t
}

/// The precise reader: records every structural problem and goes on.
pub(super) fn precise_csv(bytes: &[u8], display: &str, delimiter: u8, needed: Option<&[String]>) -> RawTable {
    let mut problems = Vec::new();
    let mut reader =
        ::csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(bytes);
    let mut records = reader.byte_records();
    let mut lc = crate::data::lines::LineCounter::new(bytes);
    let mut table = RawTable {
        source: display.to_string(),
        columns: Vec::new(),
        line_numbers: Vec::new(),
        problems: Vec::new(),
        fast_path: false,
        header: Vec::new(),
    };
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => {
            table.problems.push(Violation::new(Rule::Unreadable, Some(1), None, None, e.to_string()));
            return table;
        }
        None => {
            table.problems.push(Violation::new(Rule::EmptyFile, None, None, None, "the file is empty".into()));
            return table;
        }
    };
    let mut names = Vec::with_capacity(header.len());
    for (i, f) in header.iter().enumerate() {
        let name = match std::str::from_utf8(f) {
            Ok(s) => s.trim().to_string(),
            Err(_) => {
                problems.push(Violation::new(
                    Rule::Encoding,
                    Some(1),
                    Some(String::from_utf8_lossy(f).into_owned()),
                    None,
                    format!(
                        "header field {} is not valid UTF-8 (is the file GBK-encoded? read it with encoding gbk)",
                        i + 1
                    ),
                ));
                String::from_utf8_lossy(f).trim().to_string()
            }
        };
        if name.is_empty() {
            problems.push(Violation::new(
                Rule::Header,
                Some(1),
                None,
                None,
                format!("column {} has an empty name in the header", i + 1),
            ));
        }
        if let Some(j) = names.iter().position(|n: &String| *n == name && !name.is_empty()) {
            problems.push(Violation::new(
                Rule::DuplicateColumn,
                Some(1),
                Some(name.clone()),
                None,
                format!("duplicate column name '{name}' (columns {} and {}); the first is used", j + 1, i + 1),
            ));
        }
        names.push(name);
    }
    if names.iter().all(|h| parse_number(h).is_some()) {
        problems.push(Violation::new(
            Rule::Header,
            Some(1),
            None,
            None,
            "the first line holds only numbers; expected a header line naming the columns".into(),
        ));
    }
    let ncol = names.len();
    // Column index -> output slot (first occurrence of each wanted name).
    let mut slots: Vec<Option<usize>> = vec![None; ncol];
    let mut out_names: Vec<String> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let wanted = needed.is_none_or(|w| w.contains(n));
        if wanted && !out_names.contains(n) && !n.is_empty() {
            slots[i] = Some(out_names.len());
            out_names.push(n.clone());
        }
    }
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); out_names.len()];
    let mut lines = Vec::new();
    let mut rec_iter = records;
    loop {
        let rec = match rec_iter.next() {
            None => break,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let line = e.position().map_or(0, |p| lc.line_of(p.byte()));
                problems.push(Violation::new(
                    Rule::Unreadable,
                    Some(line),
                    None,
                    None,
                    format!("{e}; reading stopped here"),
                ));
                break;
            }
        };
        let line = rec.position().map_or(0, |p| lc.line_of(p.byte()));
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim_ascii().is_empty()) && ncol > 1 {
            continue; // a blank line
        }
        if rec.len() != ncol {
            let spans_lines = rec.iter().any(|f| f.contains(&b'\n'));
            let hint = if spans_lines { "; a quoted field runs over several lines: is a quote unclosed?" } else { "" };
            problems.push(Violation::new(
                Rule::RaggedRow,
                Some(line),
                None,
                None,
                format!("has {} fields, but the header has {ncol}{hint}; the row is skipped", rec.len()),
            ));
            continue;
        }
        for (j, field) in rec.iter().enumerate() {
            let Some(slot) = slots[j] else { continue };
            let value = match std::str::from_utf8(field) {
                Ok(s) => Some(s.trim().to_string()),
                Err(_) => {
                    problems.push(Violation::new(
                        Rule::Encoding,
                        Some(line),
                        Some(names[j].clone()),
                        Some(String::from_utf8_lossy(field).into_owned()),
                        "not valid UTF-8 (is the file GBK-encoded? read it with encoding gbk)".into(),
                    ));
                    None
                }
            };
            cells[slot].push(value);
        }
        lines.push(line);
    }
    table.columns = out_names
        .into_iter()
        .zip(cells)
        .map(|(name, v)| RawColumn { name, data: RawData::Str(v), label: None, value_labels: Vec::new() })
        .collect();
    table.line_numbers = lines;
    table.problems = problems;
    table.header = names;
    table
}

// ---------------------------------------------------------------------------------------------
// Parquet and Stata
