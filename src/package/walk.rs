//! Listing the files to ship: exclusion patterns, symlink rules and name
//! checks, all decided before a byte is compressed.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use walkdir::WalkDir;

use super::{PackageError, PackageOptions, IGNORE_FILE};

/// One file to put in the archive.
#[derive(Debug, Clone)]
pub(super) struct SourceFile {
    /// Entry name: relative, `/`-separated, UTF-8.
    pub name: String,
    /// Where to read it (through a symlink when the entry is one).
    pub path: PathBuf,
    /// Size seen while walking; exactly this many bytes are stored.
    pub size: u64,
}

#[derive(Debug)]
pub(super) struct Listing {
    /// Sorted by the bytes of `name`.
    pub files: Vec<SourceFile>,
    pub warnings: Vec<String>,
}

/// List the files under `opts.root`, sorted by entry name.
///
/// `output` is the archive about to be written: if it lies inside the
/// folder (a rerun into the same place), it is left out rather than packed
/// into itself.
pub(super) fn walk(opts: &PackageOptions, output: Option<&Path>) -> Result<Listing, PackageError> {
    let root = check_root(&opts.root)?;
    let matcher = build_matcher(&root, &opts.excludes)?;
    let output_name = output
        .and_then(|o| fs::canonicalize(o).ok())
        .and_then(|o| o.strip_prefix(&root).ok().map(Path::to_path_buf))
        .and_then(|rel| entry_name(&rel).ok());

    let mut files = Vec::new();
    let mut warnings = Vec::new();
    let mut it = WalkDir::new(&root)
        .follow_links(true)
        .min_depth(1)
        .into_iter();
    while let Some(next) = it.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(err) => {
                handle_walk_error(err, &root, &matcher, &mut warnings)?;
                continue;
            }
        };
        let path = entry.path();
        let is_dir = entry.file_type().is_dir();
        if entry.depth() == 1 && !is_dir && entry.file_name() == IGNORE_FILE {
            continue;
        }
        if matcher.matched(path, is_dir).is_ignore() {
            if is_dir {
                it.skip_current_dir();
            }
            continue;
        }
        if entry.path_is_symlink() {
            match fs::canonicalize(path) {
                Ok(target) if target.starts_with(&root) => {}
                Ok(target) => {
                    warnings.push(format!(
                        "skipped symlink {} -> {}: it points outside the folder",
                        display_rel(path, &root),
                        target.display()
                    ));
                    if is_dir {
                        it.skip_current_dir();
                    }
                    continue;
                }
                Err(source) => return Err(symlink_error(path, source)),
            }
        }
        let rel = path.strip_prefix(&root).unwrap_or(path);
        let name = entry_name(rel)?;
        if is_dir {
            continue;
        }
        if !entry.file_type().is_file() {
            warnings.push(format!("skipped {name}: not a regular file"));
            continue;
        }
        if output_name.as_deref() == Some(name.as_str()) {
            warnings.push(format!("skipped {name}: it is the archive being written"));
            continue;
        }
        let size = entry
            .metadata()
            .map_err(|err| PackageError::Unreadable {
                path: path.to_path_buf(),
                source: walk_io_error(err),
            })?
            .len();
        files.push(SourceFile {
            name,
            path: path.to_path_buf(),
            size,
        });
    }
    if files.is_empty() {
        return Err(PackageError::Empty {
            path: opts.root.clone(),
        });
    }
    files.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(Listing { files, warnings })
}

/// The canonical root, or why it cannot be packaged.
fn check_root(root: &Path) -> Result<PathBuf, PackageError> {
    match fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(PackageError::NotADirectory {
                path: root.to_path_buf(),
            })
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(PackageError::NotFound {
                path: root.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(PackageError::Unreadable {
                path: root.to_path_buf(),
                source,
            })
        }
    }
    fs::canonicalize(root).map_err(|source| PackageError::Unreadable {
        path: root.to_path_buf(),
        source,
    })
}

/// The `.amplifyignore` lines, then the `excludes`: later patterns win, so
/// a command-line `!pattern` can bring back what the file leaves out.
fn build_matcher(root: &Path, excludes: &[String]) -> Result<Gitignore, PackageError> {
    let mut builder = GitignoreBuilder::new(root);
    let ignore_file = root.join(IGNORE_FILE);
    if ignore_file.is_file() {
        let text = fs::read_to_string(&ignore_file).map_err(|source| PackageError::Unreadable {
            path: ignore_file.clone(),
            source,
        })?;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            builder
                .add_line(Some(ignore_file.clone()), line)
                .map_err(|source| PackageError::BadExclude {
                    pattern: line.to_string(),
                    source,
                })?;
        }
    }
    for pattern in excludes {
        builder
            .add_line(None, pattern)
            .map_err(|source| PackageError::BadExclude {
                pattern: pattern.clone(),
                source,
            })?;
    }
    builder.build().map_err(|source| PackageError::BadExclude {
        pattern: excludes.join(" "),
        source,
    })
}

/// The archive name of a path relative to the root.
fn entry_name(rel: &Path) -> Result<String, PackageError> {
    let mut name = String::new();
    for component in rel.components() {
        let Component::Normal(part) = component else {
            // The walk only yields paths below the root, so this is a path
            // we cannot express safely; treat it like an unusable name.
            return Err(PackageError::NonUtf8Name {
                path: rel.to_path_buf(),
            });
        };
        let part = part.to_str().ok_or_else(|| PackageError::NonUtf8Name {
            path: rel.to_path_buf(),
        })?;
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(part);
    }
    Ok(name)
}

fn handle_walk_error(
    err: walkdir::Error,
    root: &Path,
    matcher: &Gitignore,
    warnings: &mut Vec<String>,
) -> Result<(), PackageError> {
    let path = err
        .path()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.to_path_buf());
    if matcher.matched(&path, false).is_ignore() {
        return Ok(());
    }
    if err.loop_ancestor().is_some() {
        return Err(PackageError::SymlinkLoop { path });
    }
    let is_link = fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink());
    let source = walk_io_error(err);
    if is_link {
        if source.kind() == io::ErrorKind::NotFound {
            warnings.push(format!(
                "skipped symlink {}: its target does not exist",
                display_rel(&path, root)
            ));
            return Ok(());
        }
        return Err(symlink_error(&path, source));
    }
    Err(PackageError::Unreadable { path, source })
}

/// A symlink that cannot be resolved: a loop unless the OS said otherwise.
fn symlink_error(path: &Path, source: io::Error) -> PackageError {
    match source.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::NotFound => PackageError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
        _ => PackageError::SymlinkLoop {
            path: path.to_path_buf(),
        },
    }
}

fn walk_io_error(err: walkdir::Error) -> io::Error {
    let text = err.to_string();
    err.into_io_error()
        .unwrap_or_else(|| io::Error::other(text))
}

fn display_rel(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}
