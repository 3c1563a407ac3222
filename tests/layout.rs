//! The house's plan, held: docs/development.md's tiers against the code.
//! Every top-level module of both crates is listed there; no import (a
//! `use crate::` line, or a `crate::` path in code) goes to a higher tier
//! or round a circle; the deploy pipeline's module doc names every step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Module name -> tier, from the tables of docs/development.md's "Layout"
/// (the first table: the binary's; after "### amplify-emulator": its own).
fn tiers() -> (BTreeMap<String, u32>, BTreeMap<String, u32>) {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("docs/development.md")).unwrap();
    let layout = &doc[doc.find("## Layout").expect("a Layout section")..];
    let (binary, emulator) = layout
        .split_once("### amplify-emulator")
        .expect("an amplify-emulator section");
    (table(binary), table(emulator))
}

fn table(text: &str) -> BTreeMap<String, u32> {
    let mut tiers = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(tier), Some(modules)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let Ok(tier) = tier.parse::<u32>() else {
            continue;
        };
        for name in modules.split(',') {
            tiers.insert(name.trim().trim_matches('`').to_owned(), tier);
        }
    }
    tiers
}

/// The top-level modules of a crate's `src/`: files and folders.
fn modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            match name.strip_suffix(".rs") {
                Some(stem) => Some(stem.to_owned()),
                None if e.path().is_dir() => Some(name),
                None => None,
            }
        })
        .collect()
}

/// Every source file under `dir`, tests left out (`tests.rs`, `tests/`).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "tests" {
                sources(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its inline test module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// (importing module, imported module) for every `crate::x` in code.
fn imports(src: &Path) -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let re = regex::Regex::new(r"crate::(\w+)").unwrap();
    let mut edges = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel.iter().next().unwrap().to_string_lossy();
        let top = top.trim_end_matches(".rs").to_owned();
        for m in re.captures_iter(&code(&file)) {
            let to = m[1].to_owned();
            if to != top {
                edges.insert((top.clone(), to));
            }
        }
    }
    edges
}

/// Every module listed, no import upward, no circle; the faults found.
fn check(name: &str, src: &Path, tiers: &BTreeMap<String, u32>) -> Vec<String> {
    let mut faults = Vec::new();
    for module in modules(src) {
        if !tiers.contains_key(&module) {
            faults.push(format!(
                "{name}: module {module} is not in docs/development.md's layout"
            ));
        }
    }
    let edges = imports(src);
    for (from, to) in &edges {
        if let (Some(a), Some(b)) = (tiers.get(from), tiers.get(to)) {
            if b < a {
                faults.push(format!(
                    "{name}: {from} (tier {a}) imports {to} (tier {b}), a tier above"
                ));
            }
        }
    }
    if let Some(circle) = circle(&edges) {
        faults.push(format!("{name}: import circle {}", circle.join(" -> ")));
    }
    faults
}

/// A circle among the edges, if any (depth-first search).
fn circle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    fn visit<'a>(
        node: &'a str,
        next: &BTreeMap<&'a str, Vec<&'a str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| *n == node) {
            let mut c: Vec<String> = path[i..].iter().map(|s| s.to_string()).collect();
            c.push(node.to_owned());
            return Some(c);
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for n in next.get(node).into_iter().flatten() {
            if let Some(c) = visit(n, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    next.keys()
        .find_map(|n| visit(n, &next, &mut Vec::new(), &mut done))
}

#[test]
fn the_code_follows_the_layout_docs_describe() {
    let (binary, emulator) = tiers();
    let root = Path::new(ROOT);
    let mut faults = check("amplify-deploy", &root.join("src"), &binary);
    faults.extend(check(
        "amplify-emulator",
        &root.join("crates/amplify-emulator/src"),
        &emulator,
    ));
    assert!(faults.is_empty(), "{}", faults.join("\n"));
}

#[test]
fn the_checks_catch_a_circle_an_upward_import_and_a_missing_module() {
    let tiers: BTreeMap<String, u32> = [("a", 1), ("b", 2)]
        .map(|(m, t)| (m.to_owned(), t))
        .into_iter()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rs"), "use crate::b::X;\n").unwrap();
    std::fs::write(dir.path().join("b.rs"), "// crate::a in a comment\n").unwrap();
    assert!(check("t", dir.path(), &tiers).is_empty());
    std::fs::write(dir.path().join("b.rs"), "fn f() { crate::a::g() }\n").unwrap();
    std::fs::create_dir(dir.path().join("c")).unwrap();
    let faults = check("t", dir.path(), &tiers).join("\n");
    assert!(faults.contains("b (tier 2) imports a (tier 1)"), "{faults}");
    assert!(faults.contains("import circle"), "{faults}");
    assert!(faults.contains("module c is not in"), "{faults}");
}

#[test]
fn the_pipelines_module_doc_names_every_step() {
    let dir = Path::new(ROOT).join("src/deploy");
    let doc: String = std::fs::read_to_string(dir.join("mod.rs"))
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    for step in modules(&dir) {
        if step == "mod" {
            continue;
        }
        assert!(
            doc.contains(&format!("[`{step}`]")),
            "src/deploy/mod.rs's doc does not name step {step}"
        );
    }
}
