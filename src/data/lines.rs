//! Line numbers of CSV records, counted from the bytes.
//!
//! Messages name rows by their line in the file, as a text editor numbers them. The `csv`
//! crate's `Position::line` cannot be used for that: after a CRLF terminator it reports the
//! previous line (its parser consumes the `\n` of `\r\n` only when it reads the next record:
//! BurntSushi/rust-csv#395), after a blank line it reports the blank line, and it does not
//! count lone-CR line ends. `Position::byte` is reliable up to the same skipped bytes: it points
//! at the record or at line-end bytes just before it. [`LineCounter`] therefore steps over
//! line-end bytes from the reported offset to the record's first byte and counts the line
//! breaks (`\n`, `\r\n`, or a lone `\r`) before it.

/// Counts line breaks incrementally, for record offsets that do not decrease (the order in
/// which a reader yields records), so numbering a whole file costs one pass over its bytes.
pub struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Bytes before `pos` are counted.
    pos: usize,
    /// Line breaks in `bytes[..pos]`.
    breaks: u64,
}

impl<'a> LineCounter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        LineCounter { bytes, pos: 0, breaks: 0 }
    }

    /// The 1-based line on which the record that a reader reports at byte `offset` begins.
    /// Offsets must not decrease: an earlier one gives the line of the latest record asked for.
    pub fn line_of(&mut self, offset: u64) -> u64 {
        let mut start = (offset as usize).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.pos {
            let chunk = &self.bytes[self.pos..start];
            let mut breaks = memchr::memchr_iter(b'\n', chunk).count() as u64;
            // A lone CR (old Mac line ends) is a line break too; a CR followed by LF is counted
            // with the LF. A CR at the end of the chunk is followed by the record's first byte,
            // which is neither.
            for i in memchr::memchr_iter(b'\r', chunk) {
                let next = self.bytes.get(self.pos + i + 1);
                if next != Some(&b'\n') {
                    breaks += 1;
                }
            }
            self.breaks += breaks;
            self.pos = start;
        }
        self.breaks + 1
    }
}

#[cfg(test)]
mod tests {
    use super::LineCounter;

    /// The line of every record as the csv crate yields it, numbered by [`LineCounter`].
    fn lines(input: &[u8]) -> Vec<u64> {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input);
        let mut lc = LineCounter::new(input);
        r.byte_records().map(|rec| lc.line_of(rec.unwrap().position().unwrap().byte())).collect()
    }

    #[test]
    fn lf_crlf_and_cr_files_number_alike() {
        // header, two rows, a blank line, a quoted field over two lines, a last row
        let lf = b"y,x\n1,2\n0,3\n\n0,\"a\nb\"\n1,7\n";
        let crlf = b"y,x\r\n1,2\r\n0,3\r\n\r\n0,\"a\r\nb\"\r\n1,7\r\n";
        let expected = vec![1, 2, 3, 5, 7];
        assert_eq!(lines(lf), expected);
        assert_eq!(lines(crlf), expected);
        assert_eq!(lines(b"y,x\r1,2\r0,3\r"), vec![1, 2, 3]);
        // no line end after the last row, leading blank lines
        assert_eq!(lines(b"\n\ny,x\n1,2"), vec![3, 4]);
        // mixed line ends
        assert_eq!(lines(b"y,x\r\n1,2\n0,3\r\n1,4\n"), vec![1, 2, 3, 4]);
    }

    #[test]
    fn earlier_offsets_do_not_move_the_count_back() {
        let bytes = b"a\nb\nc\n";
        let mut lc = LineCounter::new(bytes);
        assert_eq!(lc.line_of(4), 3);
        assert_eq!(lc.line_of(2), 3);
        assert_eq!(lc.line_of(100), 4);
    }
}
