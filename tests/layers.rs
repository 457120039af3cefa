//! Imports run one way: a module of the crate uses only modules that `src/lib.rs` lists below
//! it (`commands` on top, `alloc` at the bottom). Read from the source as plain text, so the
//! check is the same one anyone can run with `grep -rn 'crate::' src/`.

use std::fs;
use std::path::Path;

/// The top-level modules in the order `src/lib.rs` declares them, highest first.
fn layers(lib_rs: &str) -> Vec<String> {
    lib_rs
        .lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .map(|rest| rest.trim_end_matches(';').to_owned())
        .collect()
}

/// Every `crate::NAME` that `text` (a file of module `module`) uses in code, not in comments,
/// where NAME sits above `module` in `layers`: one line per such import.
fn upward_imports(layers: &[String], module: &str, file: &str, text: &str) -> Vec<String> {
    let rank = |name: &str| layers.iter().position(|layer| layer == name);
    let Some(own) = rank(module) else {
        return vec![format!(
            "{file}: module `{module}` is not listed in src/lib.rs"
        )];
    };
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or_default();
        for (at, _) in code.match_indices("crate::") {
            let name: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if rank(&name).is_some_and(|used| used < own) {
                found.push(format!("{file}:{}: `{module}` uses `{name}`", number + 1));
            }
        }
    }
    found
}

/// The `.rs` files under `dir`, with their paths.
fn sources(dir: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .expect("readable source folder")
        .map(|entry| entry.expect("readable entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let text = fs::read_to_string(&path).expect("readable source");
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn no_module_imports_from_a_module_above_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers = layers(&fs::read_to_string(src.join("lib.rs")).expect("src/lib.rs"));
    assert!(
        layers.len() >= 15,
        "src/lib.rs lists its modules: {layers:?}"
    );
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut upward = Vec::new();
    for (path, text) in &files {
        let relative = Path::new(path).strip_prefix(&src).expect("under src/");
        let first = relative.components().next().expect("a file");
        let module = first.as_os_str().to_string_lossy();
        let module = module.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue;
        }
        upward.extend(upward_imports(&layers, module, path, text));
    }
    assert!(
        upward.is_empty(),
        "imports that run upwards:\n{}",
        upward.join("\n")
    );
}

#[test]
fn an_upward_import_is_caught_and_a_comment_is_not() {
    let layers = layers("pub mod runner;\npub mod oracle;\npub mod trace;\n");
    let text =
        "use crate::trace::Trace;\n/// See [`crate::runner`].\nuse crate::runner::Verdict;\n";
    assert_eq!(
        upward_imports(&layers, "oracle", "src/oracle/x.rs", text),
        ["src/oracle/x.rs:3: `oracle` uses `runner`"]
    );
    assert_eq!(
        upward_imports(&layers, "nowhere", "src/nowhere.rs", ""),
        ["src/nowhere.rs: module `nowhere` is not listed in src/lib.rs"]
    );
}
