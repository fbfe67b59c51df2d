//! The module graph of `src/` has no circle: no module uses one that uses it back.
//!
//! Every file is a module (`src/chat/discord/message.rs` is `chat::discord::message`, a `mod.rs` is its
//! folder's module). A module uses another when its code names it: `crate::a::b`, `super::b`,
//! `self::b`, or a `use` group of them. A path is charged to the longest module it names
//! (`crate::store::Store` uses `store`; `crate::chat::discord::message::embed` uses
//! `chat::discord::message`). Unit tests (`#[cfg(test)] mod tests`) are left out: they may use anything.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("file name")
            .to_string();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            modules(&path, &p, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut p = prefix.to_vec();
            if !matches!(name.as_str(), "mod" | "lib" | "main") {
                p.push(name);
            }
            if p.is_empty() {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read file");
            out.insert(p.join("::"), text);
        }
    }
}

/// The code of a file without its unit tests and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module paths a file names, as absolute paths (`["store", "Store"]`, …).
fn paths(module: &str, code: &str) -> Vec<Vec<String>> {
    let me: Vec<String> = module.split("::").map(String::from).collect();
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let starts = |w: &str| code[i..].starts_with(w) && (i == 0 || !ident(bytes[i - 1]));
        let base: Option<(Vec<String>, usize)> = if starts("crate::") {
            Some((vec![], "crate::".len()))
        } else if starts("super::") {
            let mut parent = me.clone();
            parent.pop();
            Some((parent, "super::".len()))
        } else if starts("self::") {
            Some((me.clone(), "self::".len()))
        } else {
            None
        };
        let Some((base, skip)) = base else {
            i += 1;
            continue;
        };
        i += skip;
        let mut base = base;
        // `super::super::`
        while code[i..].starts_with("super::") {
            base.pop();
            i += "super::".len();
        }
        for tail in tails(&code[i..]) {
            let mut p = base.clone();
            p.extend(tail);
            out.push(p);
        }
    }
    out
}

/// The paths after `crate::`: `a::b::C` or a group `{a::b, c::{d, e}}`.
fn tails(s: &str) -> Vec<Vec<String>> {
    let mut segs = Vec::new();
    let mut rest = s;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = j;
                    break;
                }
            }
            let inner = &group[..end];
            let mut out = Vec::new();
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(item(&segs, &inner[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            out.extend(item(&segs, &inner[start..]));
            return out;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if len == 0 {
            return vec![segs];
        }
        segs.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => return vec![segs],
        }
    }
}

fn item(prefix: &[String], s: &str) -> Vec<Vec<String>> {
    let s = s.trim();
    if s.is_empty() || s == "self" {
        return vec![prefix.to_vec()];
    }
    tails(s)
        .into_iter()
        .map(|t| {
            let mut p = prefix.to_vec();
            p.extend(t);
            p
        })
        .collect()
}

fn graph() -> Graph {
    let mut files = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut files,
    );
    let known: BTreeSet<&String> = files.keys().collect();
    let mut graph = Graph::new();
    for (module, text) in &files {
        let uses = graph.entry(module.clone()).or_default();
        for path in paths(module, &code(text)) {
            // The longest prefix that is a module.
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|p| known.contains(p));
            if let Some(t) = target {
                // A module using its own children or its parent's items is inside one house.
                if &t != module && !t.starts_with(&format!("{module}::")) {
                    uses.insert(t);
                }
            }
        }
    }
    graph
}

/// The circles of `graph`, each as a path that comes back to where it began.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for start in graph.keys() {
        // Breadth-first from `start`'s neighbours back to `start`: the shortest circle through it.
        let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
        let mut queue: std::collections::VecDeque<&String> = graph[start].iter().collect();
        for n in &graph[start] {
            prev.insert(n, start);
        }
        while let Some(n) = queue.pop_front() {
            if n == start {
                let mut circle = vec![start.clone()];
                let mut at = prev[start];
                while at != start {
                    circle.push(at.clone());
                    at = prev[at];
                }
                circle.push(start.clone());
                circle.reverse();
                found.push(circle);
                break;
            }
            for m in graph.get(n).into_iter().flatten() {
                if !prev.contains_key(m) {
                    prev.insert(m, n);
                    queue.push_back(m);
                }
            }
        }
    }
    found
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let graph = graph();
    assert!(graph.contains_key("web::forward_auth") && graph.contains_key("store"));
    let found = circles(&graph);
    assert!(
        found.is_empty(),
        "modules that use each other:\n{}",
        found
            .iter()
            .map(|c| c.join(" → "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn the_reader_sees_paths_and_groups() {
    let p = paths(
        "web::status_page",
        "use crate::{config::Config, store::{Store, RequestRow}};\nuse super::layout;\nlet x = crate::policy::counted(a);",
    );
    let p: Vec<String> = p.iter().map(|v| v.join("::")).collect();
    assert_eq!(
        p,
        [
            "config::Config",
            "store::Store",
            "store::RequestRow",
            "web::layout",
            "policy::counted"
        ]
    );
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(circles(&g)[0], ["a", "b", "a"]);
}

/// The spellings the store writes; outside `src/store/` code names them by their types.
const STORED_SPELLINGS: &[&str] = &[
    "\"pending\"",
    "\"approved\"",
    "\"denied\"",
    "\"expired\"",
    "\"cancelled\"",
    "\"active\"",
    "\"revoked\"",
    "\"request_created\"",
    "\"request_approved\"",
    "\"grant_revoked\"",
    "\"grant_expired\"",
];

#[test]
fn request_grant_and_audit_states_are_spelled_only_in_the_store() {
    let mut files = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut files,
    );
    let mut found = Vec::new();
    for (module, text) in &files {
        if module == "store" || module.starts_with("store::") {
            continue;
        }
        let code = code(text);
        for s in STORED_SPELLINGS {
            if code.contains(s) {
                found.push(format!("{module}: {s}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "state strings outside the store:\n{}",
        found.join("\n")
    );
}
