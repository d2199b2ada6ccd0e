//! Hostile input (issue #19, items 3-5): damaged Parquet and Stata files, sizes and limits,
//! output files that are not plain files, and the silently-wrong or unclear cases of the
//! issue, each with the test that failed on the code before the fix. Every damaged file is
//! built here from a valid one (the Parquet file by the `parquet` crate's writer, the Stata
//! file from the committed fixture `tests/fixtures/cmds2014_small.dta`), never stored.

use assert_cmd::Command;
use migfit::data::parquet;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs migfit: (exit code, stdout, stderr).
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("migfit").unwrap().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs migfit and checks the exit code and that stderr has each of `words`.
fn fails(args: &[&str], code: i32, words: &[&str]) -> String {
    let (c, _, err) = run(args);
    assert_eq!(c, code, "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: expected '{w}' in: {err}");
    }
    err
}

const DATA: &str = "y,x,age,g,w\n1,1,30,a,1\n0,2,40,b,2\n1,3,50,a,1\n0,4,41,b,2\n1,5,33,a,1\n0,1,35,b,2\n1,2,36,a,1\n0,3,60,b,2\n1,4,44,b,1\n0,5,52,a,2\n";

// ---- Parquet -------------------------------------------------------------------------------

mod pq {
    use parquet::basic::{LogicalType, Repetition, Type as Physical};
    use parquet::data_type::{
        ByteArray, ByteArrayType, DoubleType, FixedLenByteArray, FixedLenByteArrayType, Int32Type, Int64Type,
    };
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;
    use std::sync::Arc;

    pub enum Col {
        Double(Vec<f64>),
        Long(Vec<i64>),
        Text(Vec<&'static str>),
        Half(Vec<[u8; 2]>),
        /// A column of the null type: every value missing.
        Null(usize),
    }

    /// A Parquet file of one row group with the given columns (dictionary encoding on, as
    /// pandas and polars write).
    pub fn bytes(cols: &[(&str, Col)]) -> Vec<u8> {
        let fields: Vec<Arc<Type>> = cols
            .iter()
            .map(|(name, c)| {
                let b = match c {
                    Col::Double(_) => Type::primitive_type_builder(name, Physical::DOUBLE),
                    Col::Long(_) => Type::primitive_type_builder(name, Physical::INT64),
                    Col::Text(_) => Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                        .with_logical_type(Some(LogicalType::String)),
                    Col::Half(_) => Type::primitive_type_builder(name, Physical::FIXED_LEN_BYTE_ARRAY)
                        .with_length(2)
                        .with_logical_type(Some(LogicalType::Float16)),
                    Col::Null(_) => Type::primitive_type_builder(name, Physical::INT32)
                        .with_logical_type(Some(LogicalType::Unknown))
                        .with_repetition(Repetition::OPTIONAL),
                };
                let b = if matches!(c, Col::Null(_)) { b } else { b.with_repetition(Repetition::REQUIRED) };
                Arc::new(b.build().unwrap())
            })
            .collect();
        let schema = Arc::new(Type::group_type_builder("schema").with_fields(fields).build().unwrap());
        let mut out = Vec::new();
        let props = Arc::new(WriterProperties::builder().build());
        let mut w = SerializedFileWriter::new(&mut out, schema, props).unwrap();
        let mut rg = w.next_row_group().unwrap();
        for (_, c) in cols {
            let mut col = rg.next_column().unwrap().unwrap();
            match c {
                Col::Double(v) => {
                    col.typed::<DoubleType>().write_batch(v, None, None).unwrap();
                }
                Col::Long(v) => {
                    col.typed::<Int64Type>().write_batch(v, None, None).unwrap();
                }
                Col::Text(v) => {
                    let v: Vec<ByteArray> = v.iter().map(|s| ByteArray::from(*s)).collect();
                    col.typed::<ByteArrayType>().write_batch(&v, None, None).unwrap();
                }
                Col::Half(v) => {
                    let v: Vec<FixedLenByteArray> = v.iter().map(|b| FixedLenByteArray::from(b.to_vec())).collect();
                    col.typed::<FixedLenByteArrayType>().write_batch(&v, None, None).unwrap();
                }
                Col::Null(n) => {
                    col.typed::<Int32Type>().write_batch(&[], Some(&vec![0; *n]), None).unwrap();
                }
            }
            col.close().unwrap();
        }
        rg.close().unwrap();
        w.close().unwrap();
        out
    }
}

/// A small valid file: a binary response, a number, a dictionary-encoded category.
fn valid_parquet() -> Vec<u8> {
    use pq::Col;
    let y: Vec<f64> = (0..40).map(|i| f64::from(i % 2)).collect();
    let x: Vec<f64> = (0..40).map(|i| f64::from(i % 7) + 0.5).collect();
    let age: Vec<i64> = (0..40).map(|i| 20 + (i * 7) % 30).collect();
    let g: Vec<&str> = (0..40).map(|i| ["east", "west", "north"][i % 3]).collect();
    pq::bytes(&[("y", Col::Double(y)), ("x", Col::Double(x)), ("age", Col::Long(age)), ("g", Col::Text(g))])
}

/// Every byte of a valid file replaced, one at a time, by three values (and a third of the
/// footer's bytes, two at a time): the reader returns a value or an error naming the file,
/// never a panic (issue #19: the crate panicked in its dictionary decoder, on a negative
/// column length and on a slice index).
#[test]
fn damaged_parquet_files_are_data_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid_parquet();
    let path = dir.path().join("c.parquet");
    let mut caught = 0;
    let mut mutants = Vec::new();
    for i in 0..good.len() {
        for v in [0x00, 0xFF, good[i] ^ 0x80] {
            if v != good[i] {
                let mut b = good.clone();
                b[i] = v;
                mutants.push(b);
            }
        }
    }
    let footer = good.len() - 8 - u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap()) as usize;
    for i in (footer..good.len() - 8).step_by(3) {
        let mut b = good.clone();
        b[i] = b[i].wrapping_add(0x41);
        b[i + 1] = 0x7F;
        mutants.push(b);
    }
    let needed = ["g".to_string(), "x".to_string()];
    for (m, b) in mutants.iter().enumerate() {
        std::fs::write(&path, b).unwrap();
        for cols in [None, Some(&needed[..])] {
            let r = std::panic::catch_unwind(|| parquet::read(&path, "c.parquet", cols));
            match r {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    let e = e.to_string();
                    assert!(e.contains("c.parquet"), "mutant {m}: {e}");
                    if e.contains("decoder failed") {
                        // The command line on a file that panicked inside the crate: exit 1,
                        // not 101 (the first few such files).
                        if caught < 3 {
                            let kept = dir.path().join(format!("panicking{caught}.parquet"));
                            std::fs::write(&kept, b).unwrap();
                            let k = kept.to_str().unwrap();
                            let err = fails(&["describe", k], 1, &[&format!("panicking{caught}.parquet"), "damaged"]);
                            assert!(!err.contains("RUST_BACKTRACE"), "{err}");
                        }
                        caught += 1;
                    }
                }
                Err(_) => panic!("mutant {m} escaped as a panic"),
            }
        }
    }
    eprintln!("{} mutants, {caught} decoder panics caught at the boundary", mutants.len());
}

/// The command line on damaged files: exit 1 naming the file, whatever columns are read.
#[test]
fn damaged_parquet_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = valid_parquet();
    let n = good.len();
    let len = u32::from_le_bytes(good[n - 8..n - 4].try_into().unwrap()) as usize;
    let footer = n - 8 - len;
    // Damage in the first data page, in the footer, and a truncated file.
    let mut cases = Vec::new();
    for i in [4usize, 10, 30, 60, footer + 5, footer + len / 2, n - 12] {
        let mut b = good.clone();
        b[i] ^= 0xFF;
        cases.push(b);
    }
    cases.push(good[..n / 2].to_vec());
    for (k, b) in cases.iter().enumerate() {
        let p = write(dir.path(), &format!("bad{k}.parquet"), b);
        let p = p.to_str().unwrap();
        for args in [vec!["describe", p], vec!["fit", p, "-m", "logit", "-f", "y ~ x + C(g)"]] {
            let (c, _, err) = run(&args);
            assert!(c == 0 || c == 1 || c == 3, "{args:?}: exit {c}: {err}");
            assert!(!err.contains("panicked"), "{err}");
            if c == 1 {
                assert!(err.contains(&format!("bad{k}.parquet")), "{err}");
            }
        }
    }
}

#[test]
fn parquet_types_migfit_does_not_read_are_named() {
    use pq::Col;
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "dup.parquet",
        pq::bytes(&[("a", Col::Double(vec![1.0, 2.0])), ("a", Col::Double(vec![3.0, 4.0]))]),
    );
    fails(&["describe", p.to_str().unwrap()], 1, &["dup.parquet", "'a' appears twice (columns 1 and 2)"]);
    let p = write(dir.path(), "half.parquet", pq::bytes(&[("h", Col::Half(vec![[0, 60], [0, 64]]))]));
    fails(&["describe", p.to_str().unwrap()], 1, &["half.parquet", "column 'h' is a float16 (half-precision) column"]);
    let p = write(dir.path(), "null.parquet", pq::bytes(&[("a", Col::Double(vec![1.0, 2.0])), ("n", Col::Null(2))]));
    fails(&["describe", p.to_str().unwrap()], 1, &["column 'n' is a column of the null type"]);
}

/// Infinities: a CSV's `inf` is not a number, so a Parquet infinity is refused the same way,
/// by `fit` and by `describe` alike (they used to be missing in fit and to enter describe).
#[test]
fn parquet_infinities_are_refused_by_fit_and_describe() {
    use pq::Col;
    let dir = tempfile::tempdir().unwrap();
    let y: Vec<f64> = (0..10).map(|i| f64::from(i % 2)).collect();
    let mut x: Vec<f64> = (0..10).map(f64::from).collect();
    x[3] = f64::INFINITY;
    let p = write(dir.path(), "inf.parquet", pq::bytes(&[("y", Col::Double(y)), ("x", Col::Double(x))]));
    let p = p.to_str().unwrap();
    for args in [vec!["describe", p], vec!["fit", p, "-m", "logit", "-f", "y ~ x"]] {
        fails(&args, 1, &["inf.parquet", "row 4, column 'x'", "not a finite number"]);
    }
}

// ---- Stata -----------------------------------------------------------------------------------

fn fixture_dta() -> Vec<u8> {
    std::fs::read("tests/fixtures/cmds2014_small.dta").unwrap()
}

fn find(b: &[u8], tag: &[u8]) -> usize {
    b.windows(tag.len()).position(|w| w == tag).unwrap()
}

/// Sizes in a damaged `.dta` file are checked against its length before anything is
/// allocated (issue #19: an 85 KB file made the reader allocate 3.8 GB first).
#[test]
fn damaged_dta_sizes_are_checked_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture_dta();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    // A value-label set claiming 3.8 GB, in a file padded to 85 KB.
    let mut b = good.clone();
    let lbl = find(&b, b"<lbl>") + 5;
    b[lbl..lbl + 4].copy_from_slice(&0xE000_0000u32.to_le_bytes());
    b.resize(85 * 1024, 0);
    cases.push(("label", b, "a value-label set of 3758096384 bytes runs past the end"));
    // 65,535 variables in a 31 KB file.
    let mut b = good.clone();
    let k = find(&b, b"<K>") + 3;
    b[k..k + 2].copy_from_slice(&[0xFF, 0xFF]);
    cases.push(("k", b, "declares 65535 variables"));
    // A characteristic of 2 GB.
    let mut b = good.clone();
    if let Some(ch) = b.windows(4).position(|w| w == b"<ch>") {
        b[ch + 4..ch + 8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
        cases.push(("ch", b, "a characteristic of"));
    }
    // A map offset past the end.
    let mut b = good.clone();
    let map = find(&b, b"<map>") + 5;
    b[map + 8 * 11..map + 8 * 12].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("map", b, "past the end of the file"));
    // A label table whose counts disagree with its length.
    let mut b = good.clone();
    let table = find(&b, b"<lbl>") + 9 + 129 + 3;
    b[table..table + 4].copy_from_slice(&0x4000_0000u32.to_le_bytes());
    cases.push(("entries", b, "declares 1073741824 labels"));
    for (name, bytes, words) in cases {
        let p = write(dir.path(), &format!("{name}.dta"), &bytes);
        fails(&["describe", p.to_str().unwrap()], 1, &[&format!("{name}.dta"), "damaged", words]);
    }
}

/// Single-byte damage anywhere in the header, descriptors, characteristics and labels of
/// the fixture (the data section is values only): never a panic.
#[test]
fn dta_byte_sweep_never_panics() {
    use migfit::data::load::{load_with_schema, ReadOptions};
    use migfit::data::schema::Schema;
    let schema = Schema::from_path(Path::new("data-schema/cmds2014.toml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = fixture_dta();
    let data_at = find(&good, b"<data>");
    let labels_at = find(&good, b"<strls>");
    let p = dir.path().join("s.dta");
    let positions = (0..data_at).step_by(7).chain(labels_at..good.len());
    for i in positions {
        let mut b = good.clone();
        b[i] ^= 0xA5;
        std::fs::write(&p, &b).unwrap();
        let opts = ReadOptions::default();
        if let Err(e) = load_with_schema(&p, &opts, &schema) {
            assert!(!e.to_string().is_empty());
        }
    }
}

// ---- limits ----------------------------------------------------------------------------------

#[test]
fn simulate_n_is_checked_up_front() {
    for n in ["18446744073709551615", "4294967296", "5000001"] {
        fails(&["simulate", "--study", "wang2022", "--n", n], 2, &["--n", "limit of 5000000", "--max-n"]);
    }
    fails(&["simulate", "--study", "wang2022", "--n", "10"], 2, &["at least 50"]);
    // The limit can be raised on purpose (and lowered).
    fails(&["simulate", "--study", "wang2022", "--n", "200", "--max-n", "100"], 2, &["limit of 100 "]);
}

fn spec_with(dir: &Path, body: &str) -> String {
    write(dir, "d.csv", DATA);
    let p = write(
        dir,
        "spec.toml",
        format!("[data]\npath = \"d.csv\"\n\n[base]\nformula = \"y ~ x\"\nmodel = \"logit\"\n\n{body}"),
    );
    p.display().to_string()
}

/// Six axes of nine values (531,441 variants): refused at once, with the limit named,
/// before anything is expanded (it used to grow until the machine ran out of memory).
#[test]
fn batch_grid_over_the_limit_fails_fast() {
    let dir = tempfile::tempdir().unwrap();
    let mut axes = String::new();
    for a in 0..6 {
        axes.push_str(&format!("[[axis]]\nname = \"a{a}\"\n[axis.values]\n"));
        for v in 0..9 {
            axes.push_str(&format!("v{v} = {{ max_iter = {} }}\n", 10 + v));
        }
    }
    let spec = spec_with(dir.path(), &axes);
    let out = dir.path().join("out");
    let t = std::time::Instant::now();
    fails(&["batch", &spec, "--out", out.to_str().unwrap()], 2, &["531441 variants", "limit of 10000", "max_variants"]);
    assert!(t.elapsed().as_secs_f64() < 5.0, "{:?}", t.elapsed());
    // 2^64 and more: no overflow.
    let mut axes = String::new();
    for a in 0..22 {
        axes.push_str(&format!("[[axis]]\nname = \"a{a}\"\n[axis.values]\n"));
        for v in 0..8 {
            axes.push_str(&format!("v{v} = {{ max_iter = {} }}\n", 10 + v));
        }
    }
    let spec = spec_with(dir.path(), &axes);
    fails(&["batch", &spec, "--out", out.to_str().unwrap()], 2, &["more than 2^64"]);
}

#[test]
fn batch_spec_errors_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let axes =
        "[[axis]]\nname = \"m\"\n[axis.values]\nlogit = { model = \"logit\" }\nprobit = { model = \"probit\" }\n\n";
    // close_to with an unknown reference: a spec error (exit 2) at its line, nothing run.
    let spec = spec_with(
        dir.path(),
        &format!("{axes}[[track]]\nterm = \"x\"\n\n[[assert]]\ntrack = \"x\"\nrule = \"close_to\"\nreference = \"lgit\"\ntolerance = 0.1\n"),
    );
    fails(
        &["batch", &spec, "--out", out],
        2,
        &["spec.toml:20:", "reference = \"lgit\" is not a variant", "logit, probit"],
    );
    assert!(!Path::new(out).join("effects.csv").exists());
    // Serde's words replaced by the spec's: a list where a table belongs.
    write(dir.path(), "d.csv", DATA);
    let p = write(dir.path(), "s1.toml", "assert = [1, 2]\n[data]\npath = \"d.csv\"\n[base]\nformula = \"y ~ x\"\n");
    let err = fails(&["batch", p.to_str().unwrap(), "--out", out], 2, &["s1.toml:1:", "expected a table"]);
    assert!(!err.contains("struct") && !err.contains("AssertSpec"), "{err}");
    let p = write(dir.path(), "s1.toml", "axis = [[\"a\"]]\n[data]\npath = \"d.csv\"\n[base]\nformula = \"y ~ x\"\n");
    let err = fails(&["batch", p.to_str().unwrap(), "--out", out], 2, &["s1.toml:1:", "found a list"]);
    assert!(!err.contains("struct") && !err.contains("elements"), "{err}");
    let spec = spec_with(
        dir.path(),
        "[[track]]\nterm = \"x\"\n\n[[assert]]\ntrack = \"x\"\nrule = \"within\"\ninterval = 3\n",
    );
    let err = fails(&["batch", &spec, "--out", out], 2, &["spec.toml:", "expected a list"]);
    assert!(!err.contains("sequence"), "{err}");
    // [data] delimiter and encoding: the spec's key and line, not a command-line flag.
    write(dir.path(), "d.csv", DATA);
    let p = write(
        dir.path(),
        "s2.toml",
        "[data]\npath = \"d.csv\"\ndelimiter = \"ab\"\n\n[base]\nformula = \"y ~ x\"\nmodel = \"logit\"\n",
    );
    let err = fails(&["batch", p.to_str().unwrap(), "--out", out], 2, &["s2.toml:3:", "[data] delimiter"]);
    assert!(!err.contains("--delimiter"), "{err}");
    let p = write(
        dir.path(),
        "s3.toml",
        "[data]\npath = \"d.csv\"\nencoding = \"latin9\"\n\n[base]\nformula = \"y ~ x\"\nmodel = \"logit\"\n",
    );
    fails(&["batch", p.to_str().unwrap(), "--out", out], 2, &["s3.toml:3:", "[data] encoding", "latin9"]);
}

// ---- output files ----------------------------------------------------------------------------

#[test]
fn output_keeps_permissions_links_and_special_files() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let data = data.to_str().unwrap();
    // Permissions of the replaced file.
    let p = write(dir.path(), "t.txt", "old");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(run(&["describe", data, "-o", p.to_str().unwrap()]).0, 0);
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(std::fs::read_to_string(&p).unwrap().contains("Total"));
    // A symbolic link stays a link; its target gets the text.
    let target = write(dir.path(), "real.txt", "old");
    let link = dir.path().join("link.txt");
    std::os::unix::fs::symlink("real.txt", &link).unwrap();
    assert_eq!(run(&["describe", data, "-o", link.to_str().unwrap()]).0, 0);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(&target).unwrap().contains("Total"));
    // Hard links stay one file.
    let a = write(dir.path(), "a.txt", "old");
    let b = dir.path().join("b.txt");
    std::fs::hard_link(&a, &b).unwrap();
    assert_eq!(run(&["describe", data, "-o", a.to_str().unwrap()]).0, 0);
    assert_eq!(std::fs::metadata(&a).unwrap().ino(), std::fs::metadata(&b).unwrap().ino());
    assert!(std::fs::read_to_string(&b).unwrap().contains("Total"));
    // A device is written, not replaced.
    assert_eq!(run(&["describe", data, "-o", "/dev/null"]).0, 0);
    assert!(std::os::unix::fs::FileTypeExt::is_char_device(&std::fs::metadata("/dev/null").unwrap().file_type()));
    // No temporary file left beside the outputs.
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty());
}

/// As root (the usual case in containers), the replaced file keeps its owner and group.
#[test]
fn output_keeps_the_owner_when_root() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let p = write(dir.path(), "owned.txt", "old");
    if std::fs::metadata(&p).unwrap().uid() != 0 || std::os::unix::fs::chown(&p, Some(1234), Some(2345)).is_err() {
        eprintln!("not root: the owner cannot be given away, nothing to check");
        return;
    }
    assert_eq!(run(&["describe", data.to_str().unwrap(), "-o", p.to_str().unwrap()]).0, 0);
    let m = std::fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid()), (1234, 2345));
    assert!(std::fs::read_to_string(&p).unwrap().contains("Total"));
}

#[test]
fn output_to_a_fifo_is_written_directly() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert_eq!(run(&["describe", data.to_str().unwrap(), "-o", fifo.to_str().unwrap()]).0, 0);
    assert!(reader.join().unwrap().contains("Total"));
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
}

#[test]
fn write_failures_say_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", DATA);
    let bad = dir.path().join("no/such/folder/t.txt");
    fails(&["describe", data.to_str().unwrap(), "-o", bad.to_str().unwrap()], 1, &["cannot write", "t.txt"]);
    fails(
        &["describe", data.to_str().unwrap(), "-o", dir.path().to_str().unwrap()],
        1,
        &["cannot write", "is a folder"],
    );
}

// ---- silently wrong, unclear ---------------------------------------------------------------

#[test]
fn describe_notes_a_numeric_column_with_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "bad.csv", "y,x\n1,1\n0,inf\n1,3\n0,abc\n");
    let (c, out, _) = run(&["describe", p.to_str().unwrap()]);
    assert_eq!(c, 0);
    assert!(out.contains("'x' is not described") && out.contains("line 3") && out.contains("'inf'"), "{out}");
    // A column of words is still left out without a note.
    let p = write(dir.path(), "words.csv", "y,name\n1,ann\n0,bob\n");
    let (_, out, _) = run(&["describe", p.to_str().unwrap()]);
    assert!(!out.contains("name"), "{out}");
}

#[test]
fn describe_sd_does_not_overflow_near_the_largest_double() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "big.csv", "a\n1e308\n1.1e308\n1.2e308\n");
    let (c, out, _) = run(&["describe", p.to_str().unwrap(), "--format", "json"]);
    assert_eq!(c, 0);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let cell = &j["rows"][0]["cells"][0];
    let (mean, sd) = (cell["mean"].as_f64().unwrap(), cell["sd"].as_f64().unwrap());
    assert!((mean / 1.1e308 - 1.0).abs() < 1e-12, "{cell}");
    assert!((sd / 1e307 - 1.0).abs() < 1e-12, "{cell}");
}

#[test]
fn margins_at_duplicates_and_non_finite_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.csv", DATA);
    let d = d.to_str().unwrap();
    fails(
        &["fit", d, "-m", "logit", "-f", "y ~ x + age", "--margins-at", "age=40,age=50"],
        2,
        &["'age' is given twice", "age=40 and age=50"],
    );
    fails(
        &["fit", d, "-m", "logit", "-f", "y ~ x + age", "--margins-at", "age=nan"],
        2,
        &["age=nan is not a finite number"],
    );
    fails(&["fit", d, "-m", "logit", "-f", "y ~ x + age", "--margins-at", "age=inf"], 2, &["not a finite number"]);
}

#[test]
fn all_zero_weights_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.csv", DATA.replace(",1\n", ",0\n").replace(",2\n", ",0\n"));
    fails(
        &["fit", d.to_str().unwrap(), "-m", "logit", "-f", "y ~ x", "--weights", "w", "--weight-type", "pweight"],
        3,
        &["has weight 0 in 'w'", "10 rows with weight 0"],
    );
}

#[test]
fn survey_with_only_single_psu_strata_under_certainty_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    // Every stratum (h) has one PSU (p).
    let mut csv = String::from("y,x,h,p\n");
    for i in 0..20 {
        csv.push_str(&format!("{},{},{},{}\n", i % 2, (i * 7) % 5, i / 4, i / 4));
    }
    let d = write(dir.path(), "s.csv", csv);
    let err = fails(
        &[
            "fit",
            d.to_str().unwrap(),
            "-m",
            "logit",
            "-f",
            "y ~ x",
            "--strata",
            "h",
            "--psu",
            "p",
            "--singleunit",
            "certainty",
        ],
        3,
        &["every stratum has a single PSU", "certainty"],
    );
    assert!(!err.contains("inf") && !err.contains("NaN"), "{err}");
}

#[test]
fn repeated_terms_are_noted() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.csv", DATA);
    let d = d.to_str().unwrap();
    let (c, out, err) = run(&["fit", d, "-m", "logit", "-f", "y ~ x + x + age:age"]);
    assert_eq!(c, 0, "{err}");
    assert!(err.contains("the term x appears more than once"), "{err}");
    assert!(err.contains("age:age is the same as age"), "{err}");
    assert!(out.contains("counted once"), "{out}");
    let (_, _, err) = run(&["fit", d, "-m", "logit", "-f", "y ~ x + C(g):C(g)"]);
    assert!(err.contains("C(g):C(g) is the same as C(g)"), "{err}");
    // A formula without repetition has no such note.
    let (_, _, err) = run(&["fit", d, "-m", "logit", "-f", "y ~ x + age"]);
    assert!(!err.contains("counted once") && !err.contains("same as"), "{err}");
}

#[test]
fn schema_errors_have_real_positions_and_plain_words() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "d.csv", DATA);
    let vars = "[[variable]]\nname = \"y\"\ntype = \"binary\"\n\n[[variable]]\nname = \"x\"\ntype = \"continuous\"\n";
    let s = write(
        dir.path(),
        "s.toml",
        format!("[dataset]\nname = \"t\"\n\n{vars}\n[design]\nstrata = \"x\"\npsu = \"nope\"\n"),
    );
    let err = fails(
        &["fit", d.to_str().unwrap(), "--schema", s.to_str().unwrap(), "-m", "logit", "-f", "y ~ x"],
        2,
        &["s.toml:14:1:", "psu = \"nope\""],
    );
    assert!(!err.contains(":0:0"), "{err}");
    // A list where a code belongs: no "untagged enum Code".
    let s = write(dir.path(), "c.toml", format!("[dataset]\nname = \"t\"\n\n{vars}missing = [[1]]\n"));
    let err = fails(
        &["fit", d.to_str().unwrap(), "--schema", s.to_str().unwrap(), "-m", "logit", "-f", "y ~ x"],
        2,
        &["c.toml:"],
    );
    assert!(!err.contains("untagged") && !err.contains("enum"), "{err}");
    // A schema that cannot be read: no 0:0 position either.
    let err = fails(
        &["fit", d.to_str().unwrap(), "--schema", "/no/such/schema.toml", "-m", "logit", "-f", "y ~ x"],
        2,
        &["schema.toml"],
    );
    assert!(!err.contains(":0:0"), "{err}");
}

// ---- fuzz-style: random text to every parser ------------------------------------------------

mod fuzz {
    use proptest::prelude::*;

    /// Text from the tokens the parsers know, so that the cases go deep into them.
    fn tokens() -> impl Strategy<Value = String> {
        let atoms = prop::sample::select(vec![
            "y",
            "x",
            "age",
            "~",
            "+",
            "-",
            "*",
            ":",
            "^",
            "(",
            ")",
            "I(",
            "C(",
            "log(",
            ",",
            "1",
            "0",
            "2.5",
            "1e308",
            "==",
            ">",
            "<=",
            "not ",
            " and ",
            " or ",
            "\"a\"",
            "[",
            "]",
            "=",
            "\n",
            "[[variable]]",
            "name = ",
            "type = ",
            "\"binary\"",
            "[data]",
            "path = ",
            "[[axis]]",
            "values",
            "{",
            "}",
            "#",
            "\\",
            "\u{4e2d}",
            " ",
        ]);
        prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn formula_parser(s in tokens()) {
            if let Err(e) = migfit::formula::Formula::parse(&s) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn expression_parser(s in tokens()) {
            if let Err(e) = migfit::data::expr::parse(&s) {
                prop_assert!(!e.to_string().is_empty());
            }
        }

        #[test]
        fn schema_parser(s in tokens()) {
            let text = format!("[dataset]\nname = \"t\"\n\n[[variable]]\nname = \"y\"\ntype = \"binary\"\n{s}");
            if let Err(e) = migfit::data::schema::Schema::parse(&text, "f.toml") {
                prop_assert!(e.to_string().starts_with("f.toml"));
            }
        }

        #[test]
        fn spec_parser(s in tokens()) {
            use migfit::batch::spec;
            let text = format!("[data]\npath = \"d.csv\"\n[base]\nformula = \"y ~ x\"\n{s}");
            let src = spec::Source { name: "s.toml", text: &text };
            match spec::parse(&src) {
                Ok(parsed) => {
                    if let Err(e) = spec::expand(&parsed, &src) {
                        prop_assert!(e.to_string().contains("s.toml"));
                    }
                }
                Err(e) => prop_assert!(e.to_string().starts_with("s.toml")),
            }
        }
    }
}
