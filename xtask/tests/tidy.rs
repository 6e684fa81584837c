//! Repository hygiene as plain tests (no network, about a second): every Rust file opens with a
//! `//!` line, every repository path cited in the docs and in Rust comments exists, and nothing
//! cites a file outside the repository. A failure lists each offence as `file:line` with what to fix.
//!
//! The files are those git tracks, plus new ones it does not ignore: both cargo workspaces,
//! `fuzz/`, every `*.md`. What counts as a cited path, in Markdown and in Rust comments (`//`,
//! `///`, `//!`, `/* */`):
//! - a word that begins with a top-level directory of the repository and a `/`
//!   (`service/src/lib.rs`, `docs/`): it must exist;
//! - a file name without a directory whose extension is one of [`NAMED_EXTENSIONS`]
//!   (`pipeline.rs`, `ARCHITECTURE.md`): some file of the repository must have that name, and a
//!   Markdown name that none has is a file outside the repository;
//! - a `../` path into a directory beside the repository ([`OUTSIDE_DIRS`]): outside;
//! - in Markdown only, which cites relative to itself: the target of a link `[text](target)`
//!   (URLs and `#anchors` aside), and a word naming a source or document (extension in
//!   [`NAMED_EXTENSIONS`]) that begins with `../` or with an entry of the file's own directory
//!   (`sdk/src/lib.rs` in `card-templates/README.md`); one that climbs out of the repository is
//!   outside it.
//!
//! A word ends at whitespace, a backtick, a quote, a bracket, `,`, `;` or `|`; emphasis, a
//! trailing `:line`, `::item`, `#anchor` or full stop is no part of it. Not checked: globs and
//! placeholders (a word with one of [`PLACEHOLDER_MARKS`] or `...`, or a component in
//! [`PLACEHOLDERS`]), absolute paths, and paths git ignores (build outputs such as
//! `card-templates/dist/`). [`the_citation_rules_classify_words_as_documented`] shows each rule
//! on examples.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use ra_ap_rustc_lexer::{FrontmatterAllowed, TokenKind, tokenize};

/// Offences that another branch of issue 14 is fixing in its own files right now, as (file, cited
/// word): each is allowed until that branch lands, and then its entry goes. An entry that no
/// longer offends fails the test, so the list only shrinks. (`service/src` has none: its
/// citations all hold.)
const PENDING: &[(&str, &str)] = &[];

/// Extensions of the bare file names (no directory) that must name a file of the repository.
const NAMED_EXTENSIONS: [&str; 6] = ["md", "rs", "wit", "mjs", "sh", "py"];

/// Path components that stand for a value the reader supplies (`card-templates/dist/NAME.wasm`,
/// `fuzz/seeds/TARGET`; `my-design` is the docs' example of a new design).
const PLACEHOLDERS: [&str; 5] = ["NAME", "TARGET", "FILE", "N", "my-design"];

/// Directories beside the repository that its readers do not have (the notes an issue was
/// written from): any `../` path into them is a citation of a file outside the repository.
const OUTSIDE_DIRS: [&str; 1] = ["shared"];

/// Markers of a glob or a placeholder in a word (`card-images/*`, `{listing_id}`, `<name>`, `$HOME`).
const PLACEHOLDER_MARKS: [char; 7] = ['*', '{', '<', '$', '…', '%', '~'];

/// Arrows point down: no file of `service/src` reaches, through `crate::` or `super::` paths, a
/// module that reaches back to it. (A parent naming its own children is not counted: that is
/// what declares them.) The modules are files; `lib.rs` is `crate`; unit-test modules are left
/// out.
#[test]
fn service_modules_import_without_cycles() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../service/src");
    let mut sources = BTreeMap::new();
    collect_modules(&root, &root, &mut sources);
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let resolve = |path: &str| -> String {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
            .unwrap_or_else(|| "crate".into())
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, source) in &sources {
        // Unit tests (`#[cfg(test)] mod tests` at the end of a file) see their file as `super`.
        let code: String = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .map(|l| l.split("//").next().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n");
        let parent = module.rsplit_once("::").map_or("", |(p, _)| p);
        let mut targets = BTreeSet::new();
        for (marker, base) in [("crate::", String::new()), ("super::", parent.to_string())] {
            for (at, _) in code.match_indices(marker) {
                if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &code[at + marker.len()..];
                // `a::b::{c, d::e}` or `a::b::C`: each named path.
                let head: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let prefix = if base.is_empty() {
                    head.clone()
                } else {
                    format!("{base}::{head}")
                };
                if rest[head.len()..].starts_with('{') {
                    let group = &rest[head.len() + 1
                        ..rest[head.len()..]
                            .find('}')
                            .map_or(rest.len(), |e| head.len() + e)];
                    for item in group.split(',') {
                        let item = item.trim().trim_start_matches('{');
                        targets.insert(resolve(&format!("{prefix}{item}")));
                    }
                } else {
                    targets.insert(resolve(&prefix));
                }
            }
        }
        targets.remove(module);
        edges.insert(module.clone(), targets);
    }
    let mut cycles = Vec::new();
    for start in &modules {
        // A path from `start` back to itself, found depth first.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    cycles.push(path.join(" → ") + " → " + start);
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles among service/src modules (move what both need below both):\n{}",
        cycles.join("\n")
    );
}

/// `service/src` files by module path (`render::browser::launch`; `lib.rs` and `main.rs` are `crate`).
fn collect_modules(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_modules(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = slash(path.strip_prefix(root).unwrap_or(&path));
            let module = rel
                .trim_end_matches(".rs")
                .trim_end_matches("/mod")
                .replace('/', "::");
            let module = if module == "lib" || module == "main" {
                "crate".to_string()
            } else {
                module
            };
            let source = std::fs::read_to_string(&path).unwrap_or_default();
            out.entry(module).or_default().push_str(&source);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let repo = Repo::open();
    let mut offences = Vec::new();
    for file in repo.files_with_extension("rs") {
        let text = repo.read(file);
        let first = text.lines().next().unwrap_or_default();
        if !first.starts_with("//!") {
            offences.push(Offence {
                file: file.clone(),
                line: 1,
                fix: format!(
                    "opens with `{}`: start the file with a `//!` line that says what it is for",
                    first.chars().take(60).collect::<String>()
                ),
            });
        }
    }
    assert_none("Rust files without a `//!` first line", offences);
}

#[test]
fn every_cited_repository_path_exists() {
    let offences = offences(Verdict::Missing, |word| {
        format!(
            "cites `{word}`, which is not in the repository: correct the path (a moved or renamed \
             file: its new one), or cite what the reader should open instead"
        )
    });
    assert_none("dangling path references", offences);
}

#[test]
fn nothing_cites_a_file_outside_the_repository() {
    let offences = offences(Verdict::Outside, |word| {
        format!(
            "cites `{word}`, a file outside the repository, which its reader cannot open: copy \
             what the reader needs into ARCHITECTURE.md or docs/ and cite that"
        )
    });
    assert_none("citations of files outside the repository", offences);
}

/// A pending entry names an offence that is still there; one that was fixed must go.
#[test]
fn the_pending_list_names_only_offences_still_there() {
    let citations = Repo::open().citations();
    let stale: Vec<String> = PENDING
        .iter()
        .filter(|(file, word)| {
            !citations
                .iter()
                .any(|c| c.file == *file && c.word == *word && c.verdict.offends())
        })
        .map(|(file, word)| {
            format!(
                "xtask/tests/tidy.rs: PENDING lists `{word}` in {file}, which no longer offends: \
                 remove the entry"
            )
        })
        .collect();
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// The word-level rules on their own, so a change to them is seen to keep (or change) each case.
#[test]
fn the_citation_rules_classify_words_as_documented() {
    use Verdict::{Exists, Ignored, Missing, Outside};
    let repo = Repo::open();
    let md = "card-templates/README.md";
    let rs = "service/src/render/pipeline.rs";
    // Names of files beside the repository, built here so this file cites none of them itself.
    let dir = OUTSIDE_DIRS[0];
    let contract = ["DESIGN", "md"].join(".");
    let style = ["STYLE", "md"].join(".");
    let (beside, far, in_dir, dir_only, linked, two_up) = (
        format!("../{dir}/{contract}"),
        format!("../../../../{dir}/{contract}"),
        format!("{dir}/{style}"),
        format!("../{dir}/"),
        format!("../{dir}/{contract}"),
        format!("../../{dir}/{style}"),
    );
    let words = [
        (rs, "service/src/lib.rs", Some(Exists)),
        (rs, "docs/", Some(Exists)),
        (rs, "docs/performance.md#levers", Some(Exists)),
        (rs, "xtask/src/main.rs:1", Some(Exists)),
        (rs, "service/src/lib.rs::app", Some(Exists)),
        (rs, "docs/performance.md.", Some(Exists)),
        (rs, "**docs/performance.md**", Some(Exists)),
        (rs, "docs/no-such-page.md", Some(Missing)),
        (rs, "card-templates/js/preview.mjs", Some(Missing)),
        (rs, "request/response", Some(Missing)),
        (rs, "card-templates/dist/", Some(Ignored)),
        (rs, "card-templates/dist/classic.wasm", Some(Ignored)),
        (rs, "ARCHITECTURE.md", Some(Exists)),
        (rs, "pipeline.rs", Some(Exists)),
        (rs, "no_such_module.rs", Some(Missing)),
        (rs, contract.as_str(), Some(Outside)),
        (rs, in_dir.as_str(), Some(Outside)),
        (rs, beside.as_str(), Some(Outside)),
        (rs, far.as_str(), Some(Outside)),
        (rs, dir_only.as_str(), Some(Outside)),
        (rs, "../x", None),
        (rs, "sdk/src/lib.rs", None),
        (md, "sdk/src/lib.rs", Some(Exists)),
        (md, "sdk/src/nothing.rs", Some(Missing)),
        (md, "../docs/templates.md", Some(Exists)),
        ("README.md", "../notes.md", Some(Outside)),
        (md, "fixtures/fixture-greedy.wasm", None),
        (md, "fixtures/fixture-NAME.wasm", None),
        ("service/data/images/README.md", "../nuc-board.jpg", None),
        ("docs/templates.md", "card-templates/my-design/", None),
        (rs, "card-templates/dist/NAME.wasm", None),
        (rs, "card-images/{template}/{listing_id}.png", None),
        (rs, "fuzz/corpus/*", None),
        (rs, "*.md", None),
        (rs, "https://example.com/docs/x.md", None),
        (rs, "/usr/bin/chromium", None),
        (rs, "classic.wasm", None),
        (rs, "jobs/leases/", None),
    ];
    let links = [
        ("docs/quick-start.md", "setup-aws.md", Some(Exists)),
        ("docs/templates.md", "../wit/card.wit", Some(Exists)),
        (
            "docs/templates.md",
            "card-templates/README.md",
            Some(Missing),
        ),
        ("README.md", "docs/setup-aws.md#checklist", Some(Exists)),
        ("README.md", linked.as_str(), Some(Outside)),
        ("docs/templates.md", two_up.as_str(), Some(Outside)),
        ("README.md", "../elsewhere.md", Some(Outside)),
        ("README.md", "https://docs.rs/", None),
        ("README.md", "#testing", None),
    ];
    let ignored = repo.ignored(["card-templates/dist", "card-templates/dist/classic.wasm"]);
    let judge = |c: Option<Cited>| {
        c.map(|c| match c.verdict {
            Missing if c.path.as_ref().is_some_and(|p| ignored.contains(p)) => Ignored,
            other => other,
        })
    };
    let mut wrong = Vec::new();
    for (file, word, expected) in words {
        let got = judge(repo.classify_word(file, word));
        if got != expected {
            wrong.push(format!(
                "{file}: word `{word}`: {got:?}, expected {expected:?}"
            ));
        }
    }
    for (file, target, expected) in links {
        let got = judge(repo.classify_link(file, target));
        if got != expected {
            wrong.push(format!(
                "{file}: link `{target}`: {got:?}, expected {expected:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The citations with `verdict`, less those [`PENDING`] holds, as offences.
fn offences(verdict: Verdict, fix: impl Fn(&str) -> String) -> Vec<Offence> {
    Repo::open()
        .citations()
        .into_iter()
        .filter(|c| c.verdict == verdict)
        .filter(|c| {
            !PENDING
                .iter()
                .any(|(file, word)| *file == c.file && *word == c.word)
        })
        .map(|c| Offence {
            fix: fix(&c.word),
            file: c.file,
            line: c.line,
        })
        .collect()
}

fn assert_none(what: &str, offences: Vec<Offence>) {
    assert!(
        offences.is_empty(),
        "{} {what}:\n{}\n",
        offences.len(),
        offences
            .iter()
            .map(Offence::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// One thing to fix, at `file:line`.
struct Offence {
    file: String,
    line: usize,
    fix: String,
}

impl fmt::Display for Offence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.fix)
    }
}

/// What a cited word turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A file or directory of the repository.
    Exists,
    /// A path git ignores: a build output, absent from a clean checkout by design.
    Ignored,
    /// A repository path that is not there.
    Missing,
    /// A file outside the repository: in a directory beside it, or a Markdown file it lacks.
    Outside,
}

impl Verdict {
    fn offends(self) -> bool {
        matches!(self, Verdict::Missing | Verdict::Outside)
    }
}

/// What one word or link cites: the word as cited (trimmed), the repository-relative path it
/// names (when it names one), and the verdict before git's ignore rules are asked.
struct Cited {
    word: String,
    path: Option<String>,
    verdict: Verdict,
}

/// A cited word at `file:line`, with its final verdict.
struct Citation {
    file: String,
    line: usize,
    word: String,
    verdict: Verdict,
}

/// The repository as git sees it.
struct Repo {
    root: PathBuf,
    /// Repository-relative paths (`/`-separated) of the files git tracks or would add.
    files: Vec<String>,
    /// Every file and directory those paths name.
    entries: BTreeSet<String>,
    /// The file names (last component) among them.
    names: BTreeSet<String>,
    /// Top-level directories.
    top_dirs: BTreeSet<String>,
}

impl Repo {
    fn open() -> Repo {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask sits in the repository root")
            .to_path_buf();
        let listed = git(
            &root,
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        );
        // A file deleted in the working tree is still in the index: only what is there counts.
        let files: BTreeSet<String> = listed
            .split('\0')
            .filter(|f| !f.is_empty() && root.join(f).is_file())
            .map(str::to_string)
            .collect();
        let mut entries = BTreeSet::new();
        let mut names = BTreeSet::new();
        let mut top_dirs = BTreeSet::new();
        for file in &files {
            entries.insert(file.clone());
            names.insert(file.rsplit('/').next().unwrap_or(file).to_string());
            let mut dir = file.as_str();
            while let Some((parent, _)) = dir.rsplit_once('/') {
                entries.insert(parent.to_string());
                dir = parent;
            }
            if let Some((top, _)) = file.split_once('/') {
                top_dirs.insert(top.to_string());
            }
        }
        Repo {
            root,
            files: files.into_iter().collect(),
            entries,
            names,
            top_dirs,
        }
    }

    fn files_with_extension<'a>(&'a self, extension: &'a str) -> impl Iterator<Item = &'a String> {
        self.files
            .iter()
            .filter(move |f| Path::new(f).extension().is_some_and(|e| e == extension))
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.root.join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
    }

    /// Every cited word in the Markdown files and the Rust comments, one per word and line.
    fn citations(&self) -> Vec<Citation> {
        let mut found: BTreeMap<(String, usize, String), Cited> = BTreeMap::new();
        let mut add = |file: &str, line: usize, cited: Vec<Cited>| {
            for c in cited {
                found
                    .entry((file.to_string(), line, c.word.clone()))
                    .or_insert(c);
            }
        };
        for file in self.files_with_extension("md") {
            for (n, text) in self.read(file).lines().enumerate() {
                add(file, n + 1, self.cited_in_markdown(file, text));
            }
        }
        for file in self.files_with_extension("rs") {
            for (line, text) in comments(&self.read(file)) {
                add(file, line, self.cited_in_words(file, &text));
            }
        }
        let ignored = self.ignored(
            found
                .values()
                .filter(|c| c.verdict == Verdict::Missing)
                .filter_map(|c| c.path.as_deref()),
        );
        found
            .into_iter()
            .map(|((file, line, word), c)| Citation {
                verdict: match c.verdict {
                    Verdict::Missing if c.path.is_some_and(|p| ignored.contains(&p)) => {
                        Verdict::Ignored
                    }
                    other => other,
                },
                file,
                line,
                word,
            })
            .collect()
    }

    /// The link targets and cited words of one line of Markdown.
    fn cited_in_markdown(&self, file: &str, text: &str) -> Vec<Cited> {
        let mut links = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            links.push(&rest[..end]);
        }
        let mut cited: Vec<Cited> = links
            .iter()
            .filter_map(|target| self.classify_link(file, target))
            .collect();
        // The words split at the parentheses of a link are its target again: judged above.
        cited.extend(
            words(text)
                .filter(|w| !links.contains(w))
                .filter_map(|w| self.classify_word(file, w)),
        );
        cited
    }

    /// The cited words of one line of a comment.
    fn cited_in_words(&self, file: &str, text: &str) -> Vec<Cited> {
        words(text)
            .filter_map(|w| self.classify_word(file, w))
            .collect()
    }

    /// A Markdown link's target, always relative to the file; `None` for a URL or an anchor.
    fn classify_link(&self, file: &str, target: &str) -> Option<Cited> {
        if target.contains("://") || target.starts_with("mailto:") || target.starts_with('#') {
            return None;
        }
        let target = target.split('#').next().unwrap_or_default();
        if outside_dir(target) {
            return Some(Cited {
                word: target.to_string(),
                path: None,
                verdict: Verdict::Outside,
            });
        }
        let here = Path::new(file).parent().unwrap_or(Path::new(""));
        let path = normalize(&here.join(target));
        let verdict = path
            .as_deref()
            .map_or(Verdict::Outside, |p| self.verdict_of(p));
        Some(Cited {
            word: target.to_string(),
            path,
            verdict,
        })
    }

    /// A word of prose or of a comment; `None` when it is no repository path by the rules above.
    fn classify_word(&self, file: &str, raw: &str) -> Option<Cited> {
        if raw.contains("://") {
            return None;
        }
        // Emphasis (`**README.md**`) is no part of the word; a `*` at one end only is a glob's.
        let emphasis = ['*', '_'];
        let word = if raw.starts_with(emphasis) && raw.ends_with(emphasis) {
            raw.trim_matches(emphasis)
        } else {
            raw
        };
        let word = word
            .split(['#', ':'])
            .next()
            .unwrap_or_default()
            .trim_end_matches(['.', '!', '?']);
        let word = word.strip_prefix("./").unwrap_or(word);
        let name = word
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(word);
        if outside_dir(word) {
            return Some(Cited {
                word: word.to_string(),
                path: None,
                verdict: Verdict::Outside,
            });
        }
        if word.is_empty() || word.starts_with('/') || placeholder(word) {
            return None;
        }
        let here = Path::new(file).parent().unwrap_or(Path::new(""));
        // Markdown cites files relative to itself; but prose and comments also say `../x` or
        // `fixtures/…` of other things (a URL path, a build output), so only the names of sources
        // and documents are taken for relative paths.
        let relative_source = file.ends_with(".md") && named_extension(name);
        let first = word.split('/').next().unwrap_or(word);
        let (path, verdict) = if word.starts_with("../") && relative_source {
            let path = normalize(&here.join(word));
            let verdict = path
                .as_deref()
                .map_or(Verdict::Outside, |p| self.verdict_of(p));
            (path, verdict)
        } else if word.contains('/') && self.top_dirs.contains(first) {
            (
                Some(word.trim_end_matches('/').to_string()),
                self.verdict_of(word),
            )
        } else if word.contains('/')
            && relative_source
            && !here.as_os_str().is_empty()
            && self.entries.contains(&slash(&here.join(first)))
        {
            let path = slash(&here.join(word));
            let verdict = self.verdict_of(&path);
            (Some(path), verdict)
        } else if name.ends_with(".md") || (!word.contains('/') && named_extension(word)) {
            (None, self.verdict_of_name(name))
        } else {
            return None;
        };
        Some(Cited {
            word: word.to_string(),
            path,
            verdict,
        })
    }

    /// A repository-relative path: there or not.
    fn verdict_of(&self, path: &str) -> Verdict {
        if self.entries.contains(path.trim_end_matches('/')) {
            Verdict::Exists
        } else {
            Verdict::Missing
        }
    }

    /// A bare file name: some file of the repository has it. A Markdown file that none has is
    /// taken for one outside the repository (the notes an issue was written from, say).
    fn verdict_of_name(&self, name: &str) -> Verdict {
        if self.names.contains(name) {
            Verdict::Exists
        } else if name.ends_with(".md") {
            Verdict::Outside
        } else {
            Verdict::Missing
        }
    }

    /// Those of `paths` (repository-relative) that git ignores; they need not exist.
    fn ignored<'a>(&self, paths: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
        let paths: BTreeSet<&str> = paths.into_iter().collect();
        if paths.is_empty() {
            return BTreeSet::new();
        }
        let mut args = vec!["check-ignore", "--no-index", "--"];
        args.extend(paths);
        let output = Command::new("git")
            .current_dir(&self.root)
            .args(&args)
            .output()
            .expect("run git check-ignore");
        // Exit status 1 means "none of them is ignored": an answer, not a failure.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "git check-ignore: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The words of a line: split at whitespace, backticks, quotes, brackets, `,`, `;` and `|`.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || "`'\"()[],;|".contains(c))
        .filter(|w| !w.is_empty())
}

/// A glob or a placeholder: a mark of [`PLACEHOLDER_MARKS`], `...`, or a component (or a `-`/`_`
/// separated part of one, as in `fixture-NAME.wasm`) in [`PLACEHOLDERS`].
fn placeholder(word: &str) -> bool {
    word.contains(PLACEHOLDER_MARKS)
        || word.contains("...")
        || word.split('/').any(|component| {
            let stem = component.split('.').next().unwrap_or(component);
            PLACEHOLDERS.contains(&stem)
                || stem
                    .split(['-', '_'])
                    .any(|part| PLACEHOLDERS.contains(&part))
        })
}

/// A `../` path into a directory beside the repository (see [`OUTSIDE_DIRS`]).
fn outside_dir(word: &str) -> bool {
    let rest = word.trim_start_matches("../");
    rest.len() < word.len()
        && OUTSIDE_DIRS
            .iter()
            .any(|dir| rest == *dir || rest.starts_with(&format!("{dir}/")))
}

/// A file name whose extension is one of [`NAMED_EXTENSIONS`].
fn named_extension(word: &str) -> bool {
    Path::new(word)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| NAMED_EXTENSIONS.contains(&e))
}

/// The text of every comment in a Rust file, a line at a time, with its line number.
fn comments(source: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut offset = 0usize;
    let mut line = 1usize;
    for token in tokenize(source, FrontmatterAllowed::No) {
        let len = token.len as usize;
        let text = &source[offset..offset + len];
        if matches!(
            token.kind,
            TokenKind::LineComment { .. } | TokenKind::BlockComment { .. }
        ) {
            for (n, part) in text.lines().enumerate() {
                out.push((line + n, part.to_string()));
            }
        }
        line += text.matches('\n').count();
        offset += len;
    }
    out
}

/// `path` without `.` and `..`, `/`-separated; `None` when it climbs out of the repository.
fn normalize(path: &Path) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.join("/"))
}

fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

fn git(root: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git {}: {e} (the tidy test reads a git checkout)", args[0]));
    assert!(
        output.status.success(),
        "git {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
