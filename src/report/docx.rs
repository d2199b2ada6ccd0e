//! Word (`.docx`): a WordprocessingML package written directly (four XML parts in a zip), a
//! real Word table in the three-line style Chinese journals and booktabs share: a 1.5 pt rule
//! above the headings and below the table, 0.75 pt rules under the headings (and under a title
//! spanning several columns) and above the summary rows, no vertical lines. Caption above,
//! notes below in 9 pt. Fonts: Times New Roman for Latin text and SimSun (宋体) for Chinese
//! (`w:eastAsia`), 10.5 pt (五号), so Chinese labels print in a CJK font in Word, WPS and
//! LibreOffice. Pages are A4, landscape when the table has more than eight number columns.
//!
//! Written by hand rather than through a document crate: the table needs a few dozen
//! elements, and the XML is compared byte for byte in the snapshot tests. The zip entries
//! carry a fixed date, so the same table gives the same bytes.

use super::format::{html as esc, is_cjk, width};
use super::{grid, heading_lines, heading_spans, note_lines, GridCell, GridRow, Layout, Table};
use std::io::Write;

/// Rule widths in eighths of a point (Word's `w:sz`).
const HEAVY: u32 = 12;
const LIGHT: u32 = 6;
/// Twips per display column of 10.5 pt text (about half an em).
const TWIPS_PER_COL: usize = 110;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>
"#;

const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>
"#;

const DOCUMENT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>
"#;

/// Document defaults: the fonts (Latin and East Asian), 10.5 pt, single spacing, no space
/// after paragraphs (table cells stay one line high).
pub const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:docDefaults><w:rPrDefault><w:rPr><w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="SimSun" w:cs="Times New Roman"/><w:sz w:val="21"/><w:szCs w:val="21"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="0" w:line="240" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults><w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style><w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style></w:styles>
"#;

/// The text of a run; CJK text gets the East Asian font hint.
fn run(text: &str, props: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let hint = if text.chars().any(is_cjk) { r#"<w:rFonts w:hint="eastAsia"/>"# } else { "" };
    let rpr = if hint.is_empty() && props.is_empty() { String::new() } else { format!("<w:rPr>{hint}{props}</w:rPr>") };
    format!(r#"<w:r>{rpr}<w:t xml:space="preserve">{}</w:t></w:r>"#, esc(text))
}

fn border(side: &str, sz: u32) -> String {
    format!(r#"<w:{side} w:val="single" w:sz="{sz}" w:space="0" w:color="000000"/>"#)
}

/// A table cell: its paragraph alignment, indent, span and the rules above / below it.
#[derive(Default)]
struct Tc<'a> {
    text: String,
    center: bool,
    indent: bool,
    span: usize,
    top: Option<u32>,
    bottom: Option<u32>,
    props: &'a str,
}

impl Tc<'_> {
    fn xml(&self) -> String {
        let mut pr = String::new();
        if self.span > 1 {
            pr.push_str(&format!(r#"<w:gridSpan w:val="{}"/>"#, self.span));
        }
        if self.top.is_some() || self.bottom.is_some() {
            pr.push_str("<w:tcBorders>");
            if let Some(s) = self.top {
                pr.push_str(&border("top", s));
            }
            if let Some(s) = self.bottom {
                pr.push_str(&border("bottom", s));
            }
            pr.push_str("</w:tcBorders>");
        }
        let tcpr = if pr.is_empty() { String::new() } else { format!("<w:tcPr>{pr}</w:tcPr>") };
        let mut ppr = String::new();
        if self.indent {
            ppr.push_str(r#"<w:ind w:left="210"/>"#);
        }
        if self.center {
            ppr.push_str(r#"<w:jc w:val="center"/>"#);
        }
        let ppr = if ppr.is_empty() { String::new() } else { format!("<w:pPr>{ppr}</w:pPr>") };
        format!("<w:tc>{tcpr}<w:p>{ppr}{}</w:p></w:tc>", run(&self.text, self.props))
    }
}

fn number_text(c: &GridCell) -> String {
    if c.is_empty() {
        String::new()
    } else if c.paren {
        format!("({})", c.number)
    } else {
        format!("{}{}", c.number, c.stars)
    }
}

fn tr(cells: &[Tc], header: bool) -> String {
    let trpr = if header { "<w:trPr><w:tblHeader/></w:trPr>" } else { "" };
    format!("<w:tr>{trpr}{}</w:tr>", cells.iter().map(Tc::xml).collect::<String>())
}

/// `word/document.xml` of the table.
pub fn document_xml(t: &Table) -> String {
    let side = t.layout == Layout::Side;
    let k = t.columns.len();
    let ncells = if side { 2 * k } else { k };
    let heads = heading_lines(t);
    let nhead = heads.len() + usize::from(side);
    let body = grid(t);

    // Column widths from the widest text of each column.
    let mut label_w = width(t.words.variable);
    let mut num_w = vec![4usize; ncells];
    for r in &body {
        match r {
            GridRow::BlockHeader(h) => label_w = label_w.max(width(h).saturating_sub(6)),
            GridRow::Data { label, indent, cells, .. } => {
                label_w = label_w.max(width(label) + 2 * usize::from(*indent));
                for (j, c) in cells.iter().enumerate() {
                    num_w[j] = num_w[j].max(width(&number_text(c)));
                }
            }
        }
    }
    // Single-column headings count too, up to 14 columns (longer ones wrap).
    for (i, line) in heads.iter().enumerate() {
        for (text, first, n) in heading_spans(line, i + 1 < heads.len()) {
            if n == 1 && !side {
                num_w[first] = num_w[first].max(width(&text).min(14));
            }
        }
    }
    let label_w = label_w.min(40) + 2;
    let mut grid_cols = vec![label_w * TWIPS_PER_COL];
    grid_cols.extend(num_w.iter().map(|w| (w + 2) * TWIPS_PER_COL));

    let mut rows = String::new();
    for (i, line) in heads.iter().enumerate() {
        let first = i == 0;
        let last = i + 1 == nhead;
        let rule = |cond: bool, sz| if cond { Some(sz) } else { None };
        let mut cells = vec![Tc {
            text: if last { t.words.variable.to_string() } else { String::new() },
            top: rule(first, HEAVY),
            bottom: rule(last, LIGHT),
            ..Default::default()
        }];
        for (text, _, n) in heading_spans(line, i + 1 < heads.len()) {
            let span = n * if side { 2 } else { 1 };
            let under = last || ((n > 1 || side) && !text.is_empty());
            cells.push(Tc {
                text,
                center: true,
                span,
                top: rule(first, HEAVY),
                bottom: rule(under, LIGHT),
                ..Default::default()
            });
        }
        rows.push_str(&tr(&cells, true));
    }
    if side {
        let first = heads.is_empty();
        let rule = |cond: bool, sz| if cond { Some(sz) } else { None };
        let mut cells = vec![Tc {
            text: t.words.variable.to_string(),
            top: rule(first, HEAVY),
            bottom: Some(LIGHT),
            ..Default::default()
        }];
        for _ in 0..k {
            for text in [t.estimate_label.as_str(), t.words.std_error] {
                cells.push(Tc {
                    text: text.to_string(),
                    center: true,
                    span: 1,
                    top: rule(first, HEAVY),
                    bottom: Some(LIGHT),
                    ..Default::default()
                });
            }
        }
        rows.push_str(&tr(&cells, true));
    }
    let mut in_summary = false;
    for (i, r) in body.iter().enumerate() {
        let bottom = if i + 1 == body.len() { Some(HEAVY) } else { None };
        match r {
            GridRow::BlockHeader(h) => {
                let cells = [Tc { text: h.clone(), span: ncells + 1, bottom, ..Default::default() }];
                rows.push_str(&tr(&cells, false));
            }
            GridRow::Data { label, indent, summary, cells: cs, .. } => {
                let top = if *summary && !in_summary { Some(LIGHT) } else { None };
                in_summary |= *summary;
                let mut cells = vec![Tc {
                    text: label.clone(),
                    indent: *indent && !label.is_empty(),
                    top,
                    bottom,
                    ..Default::default()
                }];
                for c in cs {
                    cells.push(Tc { text: number_text(c), center: true, span: 1, top, bottom, ..Default::default() });
                }
                rows.push_str(&tr(&cells, false));
            }
        }
    }

    let total: usize = grid_cols.iter().sum();
    let landscape = ncells > 8;
    let (pw, ph, orient) = if landscape { (16838, 11906, r#" w:orient="landscape""#) } else { (11906, 16838, "") };
    let mut out = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>"#,
    );
    if let Some(c) = &t.caption {
        out.push_str(&format!(
            r#"<w:p><w:pPr><w:keepNext/><w:spacing w:after="120"/><w:jc w:val="center"/></w:pPr>{}</w:p>"#,
            run(c, "<w:b/>")
        ));
    }
    out.push_str(&format!(
        r#"<w:tbl><w:tblPr><w:tblW w:w="{total}" w:type="dxa"/><w:jc w:val="center"/><w:tblLayout w:type="fixed"/><w:tblLook w:val="0000"/></w:tblPr><w:tblGrid>{}</w:tblGrid>{rows}</w:tbl>"#,
        grid_cols.iter().map(|w| format!(r#"<w:gridCol w:w="{w}"/>"#)).collect::<String>()
    ));
    for (i, n) in note_lines(t).iter().enumerate() {
        let before = if i == 0 { r#"<w:spacing w:before="120"/>"# } else { "" };
        out.push_str(&format!(
            r#"<w:p><w:pPr>{before}</w:pPr>{}</w:p>"#,
            run(n, r#"<w:sz w:val="18"/><w:szCs w:val="18"/>"#)
        ));
    }
    out.push_str(&format!(
        r#"<w:sectPr><w:pgSz w:w="{pw}" w:h="{ph}"{orient}/><w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/></w:sectPr></w:body></w:document>
"#
    ));
    out
}

/// The `.docx` file of a table.
pub fn render(t: &Table) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let doc = document_xml(t);
    for (name, text) in [
        ("[Content_Types].xml", CONTENT_TYPES),
        ("_rels/.rels", ROOT_RELS),
        ("word/_rels/document.xml.rels", DOCUMENT_RELS),
        ("word/styles.xml", STYLES),
        ("word/document.xml", doc.as_str()),
    ] {
        zip.start_file(name, opts).expect("in-memory zip");
        zip.write_all(text.as_bytes()).expect("in-memory zip");
    }
    zip.finish().expect("in-memory zip").into_inner()
}
