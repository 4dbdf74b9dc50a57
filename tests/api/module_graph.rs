//! The modules of `src/` depend on each other one way only: no cycle.
//!
//! A module depends on another when it names an item defined there — in a
//! `use` (re-exports included) or in a path written in its code (`crate::`,
//! `super::`, `self::`, or a child module's name). Paths are followed
//! through re-exports to the module that defines the item, so naming
//! `crate::store::Chat` depends on `store::model`, where `Chat` lives, not
//! on `store` (the file `store/mod.rs`) that re-exports it. Declaring a
//! child (`mod x;`) is not a dependency; unit tests (`#[cfg(test)]` items)
//! are left out. The binary (`main.rs`) is a crate of its own.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A module path inside the crate: `["store", "redis", "keys"]`; the root is `[]`.
type ModPath = Vec<String>;

/// What one module's source says about names.
#[derive(Debug, Default)]
struct Module {
    /// The modules it declares (`mod x;` or `mod x { .. }`).
    children: BTreeSet<String>,
    /// Names it brings into scope with `use`, and the absolute path each
    /// points at. Children may name them through `super::`, others through
    /// re-exports, so every one is followed when resolving a path.
    bindings: BTreeMap<String, ModPathWithItem>,
    /// Every absolute path it names, with the text it wrote, for reports.
    names: Vec<(ModPathWithItem, String)>,
}

/// An absolute path as written: modules, then possibly an item.
type ModPathWithItem = Vec<String>;

/// Every module of the crate rooted at `src/lib.rs`, by path.
fn read_crate(src: &Path) -> BTreeMap<ModPath, String> {
    let mut sources = BTreeMap::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: ModPath = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            match module.last().map(String::as_str) {
                Some("main") if module.len() == 1 => continue,
                Some("mod" | "lib") => {
                    module.pop();
                }
                _ => {}
            }
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            sources.insert(module, text);
        }
    }
    sources
}

/// The source without comments, string and char literals (their text is
/// not code), and without `#[cfg(test)]` items.
fn code_of(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let rest = &chars[i..];
        match rest {
            ['/', '/', ..] => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            ['/', '*', ..] => {
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i..].starts_with(&['/', '*']) {
                        depth += 1;
                        i += 2;
                    } else if chars[i..].starts_with(&['*', '/']) {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                out.push(' ');
            }
            ['b', 'r', '"' | '#', ..] | ['r', '"' | '#', ..]
                if i == 0 || !is_ident(chars[i - 1]) =>
            {
                i += if chars[i] == 'b' { 2 } else { 1 };
                let hashes = chars[i..].iter().take_while(|c| **c == '#').count();
                i += hashes + 1;
                while i < chars.len() {
                    if chars[i] == '"' && chars[i + 1..].iter().take(hashes).all(|c| *c == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    i += 1;
                }
                out.push_str("\"\"");
            }
            ['"', ..] => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
                out.push_str("\"\"");
            }
            ['\'', '\\', ..] => {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            }
            ['\'', _, '\'', ..] => {
                i += 3;
                out.push_str("' '");
            }
            _ => {
                out.push(chars[i]);
                i += 1;
            }
        }
    }
    without_test_items(&out)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `code` without each `#[cfg(test)]` attribute and the item it marks.
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let end = match (item.find('{'), item.find(';')) {
            (Some(open), Some(semi)) if semi < open => semi + 1,
            (Some(open), _) => {
                let mut depth = 0;
                let mut end = item.len();
                for (offset, c) in item[open..].char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = open + offset + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (None, Some(semi)) => semi + 1,
            (None, None) => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    out
}

/// Splits `a::b::{c, d::{e as f}, g}` into each full path with the name it
/// binds: `(a::b::c, c)`, `(a::b::d::e, f)`, `(a::b::g, g)`.
fn expand_use(tree: &str) -> Vec<(Vec<String>, String)> {
    fn walk(prefix: &[String], tree: &str, out: &mut Vec<(Vec<String>, String)>) {
        let tree = tree.trim();
        if tree.is_empty() {
            return;
        }
        if let Some(open) = tree.find('{') {
            let mut base = prefix.to_vec();
            base.extend(segments(tree[..open].trim_end_matches("::")));
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let mut depth = 0;
            let mut start = 0;
            for (index, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        walk(&base, &inner[start..index], out);
                        start = index + 1;
                    }
                    _ => {}
                }
            }
            walk(&base, &inner[start..], out);
            return;
        }
        let (path, alias) = match tree.split_once(" as ") {
            Some((path, alias)) => (path.trim(), Some(alias.trim().to_owned())),
            None => (tree, None),
        };
        let mut full = prefix.to_vec();
        full.extend(segments(path));
        if full.last().is_some_and(|s| s == "self") {
            full.pop();
        }
        if full.last().is_some_and(|s| s == "*") {
            return;
        }
        let name = alias.or_else(|| full.last().cloned()).unwrap_or_default();
        out.push((full, name));
    }
    let mut out = Vec::new();
    walk(&[], tree, &mut out);
    out
}

fn segments(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `path` as written in module `at`, made absolute; `None` when it names
/// another crate.
fn absolute(at: &ModPath, path: &[String], children: &BTreeSet<String>) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => at.clone(),
        "super" => at[..at.len().checked_sub(1)?].to_vec(),
        name if children.contains(name) => {
            let mut base = at.clone();
            base.push(name.to_owned());
            base
        }
        _ => return None,
    };
    let mut rest = rest;
    while let Some(("super", tail)) = rest.split_first().map(|(s, t)| (s.as_str(), t)) {
        base.pop();
        rest = tail;
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Reads every module's children, bindings and named paths.
fn analyse(sources: &BTreeMap<ModPath, String>) -> BTreeMap<ModPath, Module> {
    let mut modules = BTreeMap::new();
    for (at, source) in sources {
        let code = code_of(source);
        let mut module = Module::default();
        // `mod x;` / `mod x {`
        let tokens: Vec<&str> = code.split_whitespace().collect();
        for pair in tokens.windows(2) {
            if pair[0] == "mod" {
                let name: String = pair[1].chars().take_while(|c| is_ident(*c)).collect();
                if !name.is_empty() {
                    module.children.insert(name);
                }
            }
        }
        let mut rest_of_code = String::new();
        let mut cursor = 0;
        for (start, end) in use_declarations(&code) {
            rest_of_code.push_str(&code[cursor..start]);
            cursor = end;
            let tree = code[start..end]
                .trim_end_matches(';')
                .split_once("use ")
                .map(|(_, tree)| tree)
                .unwrap_or_default();
            for (path, name) in expand_use(tree) {
                if let Some(full) = absolute(at, &path, &module.children) {
                    module.bindings.insert(name, full.clone());
                    module
                        .names
                        .push((full, format!("use {}", path.join("::"))));
                }
            }
        }
        rest_of_code.push_str(&code[cursor..]);
        for written in inline_paths(&rest_of_code) {
            if let Some(full) = absolute(at, &written, &module.children) {
                module.names.push((full, written.join("::")));
            }
        }
        modules.insert(at.clone(), module);
    }
    modules
}

/// The `[pub[(..)]] use ...;` declarations of `code`, as byte ranges.
fn use_declarations(code: &str) -> Vec<(usize, usize)> {
    let keyword = "use";
    {
        let mut found = Vec::new();
        let bytes = code.as_bytes();
        let mut from = 0;
        while let Some(offset) = code[from..].find(keyword) {
            let start = from + offset;
            from = start + keyword.len();
            let before_ok = start == 0 || !is_ident(bytes[start - 1] as char);
            let after_ok = bytes.get(from).is_some_and(|b| b.is_ascii_whitespace());
            if !(before_ok && after_ok) {
                continue;
            }
            // Only at the start of a statement or item.
            let head = code[..start].trim_end();
            let statement_start = head.is_empty()
                || head.ends_with(';')
                || head.ends_with('{')
                || head.ends_with('}')
                || head.ends_with(']')
                || head.ends_with("pub")
                || head.ends_with(')');
            if !statement_start {
                continue;
            }
            if let Some(end) = code[start..].find(';') {
                found.push((start, start + end + 1));
                from = start + end + 1;
            }
        }
        found
    }
}

/// Paths written in code: runs of `ident::ident::...` (at least one `::`).
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut paths = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !(chars[i].is_alphabetic() || chars[i] == '_') || (i > 0 && is_ident(chars[i - 1])) {
            i += 1;
            continue;
        }
        if i > 1 && chars[i - 1] == ':' && chars[i - 2] == ':' {
            i += 1;
            continue;
        }
        let mut path = Vec::new();
        let mut j = i;
        loop {
            let start = j;
            while j < chars.len() && is_ident(chars[j]) {
                j += 1;
            }
            path.push(chars[start..j].iter().collect::<String>());
            if chars[j..].starts_with(&[':', ':']) && chars.get(j + 2).is_some_and(|c| is_ident(*c))
            {
                j += 2;
            } else {
                break;
            }
        }
        if path.len() > 1 {
            paths.push(path);
        }
        i = j.max(i + 1);
    }
    paths
}

/// The module that defines what `path` (absolute) names, following
/// re-exports and imports.
fn resolve(modules: &BTreeMap<ModPath, Module>, path: &[String], depth: usize) -> ModPath {
    let mut at: ModPath = Vec::new();
    for (index, segment) in path.iter().enumerate() {
        let Some(module) = modules.get(&at) else {
            return at;
        };
        if module.children.contains(segment)
            && modules.contains_key(&[&at[..], std::slice::from_ref(segment)].concat())
        {
            at.push(segment.clone());
            continue;
        }
        if let Some(target) = module.bindings.get(segment)
            && depth < 16
            && target.as_slice() != &path[..=index]
        {
            let mut rest = target.clone();
            rest.extend(path[index + 1..].iter().cloned());
            return resolve(modules, &rest, depth + 1);
        }
        return at;
    }
    at
}

/// Edges `from → to`, each with the first text that made it.
fn dependencies(
    modules: &BTreeMap<ModPath, Module>,
) -> BTreeMap<ModPath, BTreeMap<ModPath, String>> {
    let mut edges: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
    for (at, module) in modules {
        let out = edges.entry(at.clone()).or_default();
        for (path, written) in &module.names {
            let target = resolve(modules, path, 0);
            if &target != at && modules.contains_key(&target) {
                out.entry(target).or_insert_with(|| written.clone());
            }
        }
    }
    edges
}

/// Each cycle as the modules along it, with the text behind each step.
fn cycles(edges: &BTreeMap<ModPath, BTreeMap<ModPath, String>>) -> Vec<String> {
    let name = |m: &ModPath| {
        if m.is_empty() {
            "crate".to_owned()
        } else {
            m.join("::")
        }
    };
    let mut found = Vec::new();
    let mut reported: BTreeSet<ModPath> = BTreeSet::new();
    for start in edges.keys() {
        if reported.contains(start) {
            continue;
        }
        // Breadth-first from start's targets back to start: the shortest cycle through it.
        let mut previous: BTreeMap<ModPath, ModPath> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.clone()]);
        let mut closed = None;
        while let Some(at) = queue.pop_front() {
            for next in edges.get(&at).into_iter().flat_map(BTreeMap::keys) {
                if next == start {
                    closed = Some(at.clone());
                    queue.clear();
                    break;
                }
                if !previous.contains_key(next) {
                    previous.insert(next.clone(), at.clone());
                    queue.push_back(next.clone());
                }
            }
        }
        let Some(mut at) = closed else { continue };
        let mut path = vec![start.clone()];
        while &at != start {
            path.push(at.clone());
            at = previous[&at].clone();
        }
        path[1..].reverse();
        path.push(start.clone());
        let steps: Vec<String> = path
            .windows(2)
            .map(|pair| {
                format!(
                    "{} --({})--> {}",
                    name(&pair[0]),
                    edges[&pair[0]][&pair[1]],
                    name(&pair[1])
                )
            })
            .collect();
        reported.extend(path.iter().cloned());
        found.push(steps.join("\n      "));
    }
    found
}

/// The edges between the crate's top-level modules (`store`, `graphql`,
/// `http`, ...), each module standing for everything below it.
fn top_level(
    edges: &BTreeMap<ModPath, BTreeMap<ModPath, String>>,
) -> BTreeMap<ModPath, BTreeMap<ModPath, String>> {
    let top = |m: &ModPath| m.iter().take(1).cloned().collect::<ModPath>();
    let mut collapsed: BTreeMap<ModPath, BTreeMap<ModPath, String>> = BTreeMap::new();
    for (from, targets) in edges {
        for (to, written) in targets {
            let (from, to) = (top(from), top(to));
            if from != to && !from.is_empty() && !to.is_empty() {
                collapsed
                    .entry(from)
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| written.clone());
            }
        }
    }
    collapsed
}

/// The check on `src/` itself: no cycle between any two modules, and none
/// between the top-level parts, so the crate reads one way, in the
/// direction data flows.
#[test]
fn the_modules_of_src_form_no_cycle() {
    // Arrange
    let sources = read_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));

    // Act
    let modules = analyse(&sources);
    let edges = dependencies(&modules);
    let found = cycles(&edges);
    let between_parts = cycles(&top_level(&edges));

    // Assert
    assert!(modules.len() > 50, "read only {} modules", modules.len());
    assert!(
        found.is_empty(),
        "{} cycle(s) between modules of src/:\n  {}",
        found.len(),
        found.join("\n  ")
    );
    assert!(
        between_parts.is_empty(),
        "{} cycle(s) between the top-level modules of src/:\n  {}",
        between_parts.len(),
        between_parts.join("\n  ")
    );
}

/// The check itself: a cycle through a re-export, a `super::` path and a
/// path written in code is found; re-exports alone and tests make none.
#[test]
fn a_cycle_is_found_and_named_and_a_one_way_crate_passes() {
    // Arrange
    let crate_of = |files: &[(&str, &str)]| -> BTreeMap<ModPath, String> {
        files
            .iter()
            .map(|(path, text)| (segments(path).collect(), (*text).to_owned()))
            .collect()
    };
    let one_way = crate_of(&[
        ("", "pub mod store; pub mod feed; pub use store::Chat;"),
        (
            "store",
            "mod model; pub use model::Chat; pub use model::{Chat as C, Id};",
        ),
        (
            "store::model",
            "use crate::feed::Hub as _Unused; pub struct Chat; pub struct Id; #[cfg(test)] mod tests { use crate::store::Chat; }",
        ),
        (
            "feed",
            "pub struct Hub; fn f() { let _ = \"crate::store::Chat\"; } // crate::store::Chat",
        ),
    ]);
    let cyclic = crate_of(&[
        ("", "pub mod store; pub mod feed;"),
        ("store", "mod model; pub use model::Chat; pub fn now() {}"),
        ("store::model", "pub struct Chat; fn t() { super::now(); }"),
        ("feed", "use crate::store::Chat; pub struct Hub;"),
        ("store::tail", ""),
    ]);
    let inline = crate_of(&[
        ("", "pub mod a; pub mod b;"),
        ("a", "pub fn x() { crate::b::y(); }"),
        ("b", "pub fn y() { crate::a::x(); }"),
    ]);

    // Act
    let one_way_cycles = cycles(&dependencies(&analyse(&one_way)));
    let store_cycles = cycles(&dependencies(&analyse(&cyclic)));
    let inline_cycles = cycles(&dependencies(&analyse(&inline)));

    // Assert
    assert_eq!(one_way_cycles, Vec::<String>::new());
    assert_eq!(store_cycles.len(), 1, "{store_cycles:?}");
    assert!(
        store_cycles[0].contains("store --(use model::Chat)--> store::model"),
        "{store_cycles:?}"
    );
    assert!(
        store_cycles[0].contains("store::model --(super::now)--> store"),
        "{store_cycles:?}"
    );
    assert_eq!(inline_cycles.len(), 1, "{inline_cycles:?}");
}
