//! The layering rule, enforced: a module of the library may import only from its own layer's
//! module or from lower layers. The layer table lives in ARCHITECTURE.md (the fenced block
//! after "<!-- layers -->"), so the document and this check cannot drift apart. The command
//! line (src/main.rs and src/cli/) is the binary and the top layer; the compiler keeps the
//! library from importing it, and this test keeps the library's own layers in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Module name -> layer number, parsed from ARCHITECTURE.md.
fn layer_table(doc: &str) -> BTreeMap<String, usize> {
    let start = doc.find("<!-- layers -->").expect("ARCHITECTURE.md: no <!-- layers --> marker");
    let block = &doc[start..];
    let open = block.find("```").expect("layers: no fenced block") + 3;
    let body = &block[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let close = body.find("```").expect("layers: unterminated block");
    let mut table = BTreeMap::new();
    for line in body[..close].lines() {
        // "3  design            ..." : a layer number, then module names up to a '#' comment.
        let line = line.split('#').next().unwrap().trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let n: usize = words.next().unwrap().parse().expect("layers: a line starts with its number");
        for m in words {
            assert!(table.insert(m.trim_end_matches(',').to_string(), n).is_none(), "module {m} listed twice");
        }
    }
    table
}

/// The top-level module a file under src/ belongs to (`src/data/load.rs` -> `data`).
fn module_of(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The modules `crate::` paths in a source text name, with their line numbers (comments and
/// doc comments skipped; grouped `use crate::{a, b::c}` imports expanded).
fn crate_imports(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = match code.find("//") {
            Some(p) if !code[..p].contains('"') => &code[..p],
            _ => code,
        };
        let mut rest = code;
        while let Some(p) = rest.find("crate::") {
            let after = &rest[p + 7..];
            if let Some(group) = after.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() && name != "self" {
                        found.push((i + 1, name));
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    found.push((i + 1, name));
                }
            }
            rest = after;
        }
    }
    found
}

/// Every upward (or sideways, between two modules of one layer) import in the given files.
fn violations(files: &[(PathBuf, String)], table: &BTreeMap<String, usize>) -> Vec<String> {
    let mut bad = Vec::new();
    for (rel, text) in files {
        let module = module_of(rel);
        if module == "lib" || module == "main" || module == "cli" {
            continue;
        }
        let Some(&own) = table.get(&module) else {
            bad.push(format!("src/{}: module '{module}' has no layer in ARCHITECTURE.md", rel.display()));
            continue;
        };
        for (line, target) in crate_imports(text) {
            if target == module || target == "VERSION" || target == "Error" || target == "Result" {
                continue;
            }
            match table.get(&target) {
                None => bad.push(format!("src/{}:{line}: imports crate::{target}, which has no layer", rel.display())),
                Some(&t) if t >= own => bad.push(format!(
                    "src/{}:{line}: {module} (layer {own}) imports crate::{target} (layer {t})",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    bad
}

fn source_files(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn no_module_imports_from_a_layer_above_its_own() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let table = layer_table(&doc);
    let mut files = Vec::new();
    source_files(&root().join("src"), &root().join("src"), &mut files);
    let bad = violations(&files, &table);
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
    // Every top-level module of the library has a layer (a new module must be placed).
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    for line in lib.lines() {
        if let Some(m) = line.trim().strip_prefix("pub mod ").or_else(|| line.trim().strip_prefix("mod ")) {
            let m = m.trim_end_matches(';');
            assert!(table.contains_key(m), "src/lib.rs declares module '{m}', which has no layer in ARCHITECTURE.md");
        }
    }
    assert!(!lib.contains("mod cli"), "the library must not contain the command line (src/cli belongs to the binary)");
}

#[test]
fn a_planted_upward_import_is_caught() {
    let table: BTreeMap<String, usize> =
        [("error", 0), ("data", 1), ("model", 4), ("report", 9)].into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let ok = "use crate::error::Result;\n// crate::report in a comment is fine\nuse super::x;\n";
    let up = "use crate::{error::Result, report::Table};\nfn f() { crate::model::fit(); }\n";
    let files = vec![(PathBuf::from("data/ok.rs"), ok.to_string()), (PathBuf::from("data/load.rs"), up.to_string())];
    let bad = violations(&files, &table);
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("src/data/load.rs:1: data (layer 1) imports crate::report (layer 9)"), "{}", bad[0]);
    assert!(bad[1].contains("crate::model (layer 4)"), "{}", bad[1]);
    // A module with no layer is reported, not skipped.
    let stray = vec![(PathBuf::from("newthing.rs"), String::new())];
    assert_eq!(violations(&stray, &table).len(), 1);
}
