//! No module of llmrig-core imports a module that imports it back (issue 11): the dependencies
//! between core's modules form a tree a reader can follow one way. This reads the sources, takes
//! every `crate::…` and `super::…` path outside test code, resolves it to the module it names, and
//! fails on any cycle, a child reaching into its parent's re-exports included.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module file under `src/` by module path (`estimate::fit`), with its non-test text.
fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p: PathBuf = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let mut path: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            let last = path.last().unwrap().clone();
            if last == "mod" || last == "lib" {
                path.pop();
            }
            if last == "tests" {
                continue; // test code may import from its parent
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = strip_test_items(&text)
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            out.insert(path, code);
        }
    }
    out
}

/// `text` without the items marked `#[cfg(test)]`: a `mod tests;` line, or an item with a body up
/// to its matching closing brace.
fn strip_test_items(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "#[cfg(test)]".len()..];
        let semi = after.find(';');
        let open = after.find('{');
        rest = match (semi, open) {
            (Some(s), o) if o.is_none_or(|o| s < o) => &after[s + 1..],
            (_, Some(o)) => {
                let mut depth = 0usize;
                let mut end = after.len();
                for (j, c) in after[o..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = o + j + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                &after[end..]
            }
            _ => "",
        };
    }
    out.push_str(rest);
    out
}

/// The module paths `code` (in module `me`) refers to: `crate::a::b` and `super::a` (possibly
/// inside `use …::{…}` groups, whose items are resolved one by one).
fn references(me: &[String], code: &str, known: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let mut out = BTreeSet::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let bytes: Vec<char> = code.chars().collect();
    let text: String = bytes.iter().collect();
    for start in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            // Inside a longer path (`super::super::x`, `llmrig_core::x`): counted from its start.
            if text[..at].ends_with("::") || text[..at].chars().last().is_some_and(ident) {
                continue;
            }
            let mut base: Vec<String> = if start == "crate::" {
                Vec::new()
            } else {
                me[..me.len().saturating_sub(1)].to_vec()
            };
            let mut rest = &text[from..];
            // Further `super::` steps.
            while let Some(r) = rest.strip_prefix("super::") {
                base.pop();
                rest = r;
            }
            // Path segments, then maybe a `{…}` group.
            let mut segs = base.clone();
            loop {
                let seg: String = rest.chars().take_while(|c| ident(*c)).collect();
                if seg.is_empty() {
                    break;
                }
                rest = &rest[seg.len()..];
                segs.push(seg);
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            let mut targets = vec![segs.clone()];
            if let Some(group) = rest.strip_prefix('{') {
                let body: String = group.chars().take_while(|c| *c != '}').collect();
                for item in body.split(',') {
                    let mut t = segs.clone();
                    t.extend(
                        item.trim()
                            .split("::")
                            .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
                            .filter(|s| !s.is_empty() && s != "self"),
                    );
                    targets.push(t);
                }
            }
            for t in targets {
                // The longest prefix that is a module.
                let m = (0..=t.len())
                    .rev()
                    .map(|n| t[..n].to_vec())
                    .find(|p| known.contains(p))
                    .unwrap_or_default();
                if m != me {
                    out.insert(m);
                }
            }
        }
    }
    out
}

#[test]
fn core_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let known: BTreeSet<Vec<String>> = mods.keys().cloned().collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, code) in &mods {
        let mut refs = references(m, code, &known);
        // A parent names its children in `mod x;` and `pub use x::…`: plain `x::` paths.
        for child in known
            .iter()
            .filter(|k| k.len() == m.len() + 1 && k.starts_with(m))
        {
            let name = child.last().unwrap();
            if code.contains(&format!("{name}::")) {
                refs.insert(child.clone());
            }
        }
        edges.insert(m.clone(), refs);
    }
    assert!(
        edges.len() > 20,
        "found only {} modules: the scan is broken",
        edges.len()
    );
    // Depth-first search for a back edge.
    let mut state: BTreeMap<&Vec<String>, u8> = BTreeMap::new();
    let mut cycles = Vec::new();
    fn visit<'a>(
        n: &'a Vec<String>,
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<&'a Vec<String>, u8>,
        path: &mut Vec<&'a Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n, 1);
        path.push(n);
        for t in edges.get(n).into_iter().flatten() {
            match state.get(t).copied().unwrap_or(0) {
                0 => visit(t, edges, state, path, cycles),
                1 => {
                    let i = path.iter().position(|p| *p == t).unwrap_or(0);
                    let names: Vec<String> = path[i..]
                        .iter()
                        .chain(std::iter::once(&t))
                        .map(|p| format!("crate::{}", p.join("::")))
                        .collect();
                    cycles.push(names.join(" -> "));
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(n, 2);
    }
    for n in edges.keys() {
        if state.get(n).copied().unwrap_or(0) == 0 {
            visit(n, &edges, &mut state, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_scan_sees_a_cycle() {
    // The checker itself: a child that reaches into its parent's re-exports is a cycle.
    let known: BTreeSet<Vec<String>> = [vec![], vec!["a".to_string()]].into_iter().collect();
    let refs = references(&["a".to_string()], "use super::{Thing, other};", &known);
    assert!(refs.contains(&Vec::new()), "{refs:?}");
    let refs = references(&[], "use crate::a::{B, C};", &known);
    assert!(refs.contains(&vec!["a".to_string()]), "{refs:?}");
    let deep: BTreeSet<Vec<String>> = [
        vec![],
        vec!["a".to_string()],
        vec!["a".to_string(), "b".to_string()],
    ]
    .into_iter()
    .collect();
    let me = ["a".to_string(), "b".to_string(), "c".to_string()];
    let refs = references(&me, "use super::super::X;", &deep);
    assert_eq!(
        strip_test_items("a\n#[cfg(test)]\nmod tests;\nb\n#[cfg(test)]\nmod t {\n fn f() {}\n}\nc"),
        "a\n\nb\n\nc"
    );
    assert_eq!(
        refs,
        [vec!["a".to_string()]].into_iter().collect(),
        "{refs:?}"
    );
}
