//! Listing the files to ship: exclusion patterns, symlink rules and name
//! checks, decided file by file as the folder is read.
//!
//! The listing comes out already in archive order (byte order of the
//! `/`-joined entry names), so compression can start on the first file
//! instead of waiting for the whole folder to be listed and sorted. Each
//! directory is read and sorted on its own, a subdirectory `d` ranking as
//! `d/`: every name below it starts with `d/`, so it sorts against its
//! siblings exactly as `d/` does, and a depth-first walk then yields the
//! global order.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use walkdir::{DirEntry, WalkDir};

use super::{Control, Generated, PackageError, PackageOptions, IGNORE_FILE};

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

/// Where the files come from, in archive order: the walk, or in tests a
/// list made beforehand.
pub(super) trait Listing: Iterator<Item = Result<SourceFile, PackageError>> + Send {
    /// What to tell the user once the listing is over.
    fn take_warnings(&mut self) -> Vec<String>;
}

/// The files under a root, in archive order, one at a time.
///
/// Yields each file to ship; stops after the first error. Things worth a
/// warning are kept for [`Listing::take_warnings`].
pub(super) struct Walk {
    root: PathBuf,
    matcher: Gitignore,
    /// The archive being written, when it lies inside the folder.
    output_name: Option<String>,
    /// The temporary file it is written to, left out without a word.
    temp_name: Option<String>,
    /// Root-level names left out ([`PackageOptions::leave_out`]).
    leave_out: Vec<String>,
    it: walkdir::IntoIter,
    /// The last name yielded: each must sort after it.
    last: String,
    done: bool,
    warnings: Vec<String>,
}

impl Walk {
    /// Check the root and the exclude patterns; nothing is listed yet.
    ///
    /// `output` is the archive about to be written: if it lies inside the
    /// folder (a rerun into the same place), it is left out rather than
    /// packed into itself.
    pub(super) fn new(opts: &PackageOptions, output: Option<&Path>) -> Result<Walk, PackageError> {
        let root = check_root(&opts.root)?;
        let matcher = build_matcher(&root, &opts.excludes)?;
        let output_name = name_inside(&root, output);
        let it = WalkDir::new(&root)
            .follow_links(true)
            .min_depth(1)
            .sort_by(archive_order())
            .into_iter();
        Ok(Walk {
            root,
            matcher,
            output_name,
            temp_name: None,
            leave_out: opts.leave_out.clone(),
            it,
            last: String::new(),
            done: false,
            warnings: Vec::new(),
        })
    }

    /// Leave out `temp`, the file the archive is written to before it is
    /// renamed to the output.
    pub(super) fn skipping(mut self, temp: &Path) -> Self {
        self.temp_name = name_inside(&self.root, Some(temp));
        self
    }

    /// The next file to ship, `Ok(None)` when there are no more.
    fn next_file(&mut self) -> Result<Option<SourceFile>, PackageError> {
        while let Some(next) = self.it.next() {
            let entry = match next {
                Ok(entry) => entry,
                Err(err) => {
                    handle_walk_error(err, &self.root, &self.matcher, &mut self.warnings)?;
                    continue;
                }
            };
            if let Some(file) = self.check(&entry)? {
                if file.name.as_bytes() <= self.last.as_bytes() && !self.last.is_empty() {
                    // Only a symlink changing between the sort and the
                    // walk could do this; the archive would be unsorted.
                    return Err(PackageError::Unreadable {
                        path: file.path,
                        source: io::Error::other("the folder changed while it was being packaged"),
                    });
                }
                self.last.clone_from(&file.name);
                return Ok(Some(file));
            }
        }
        Ok(None)
    }

    /// The file to ship for `entry`, if it is one; skips what it must.
    fn check(&mut self, entry: &DirEntry) -> Result<Option<SourceFile>, PackageError> {
        let path = entry.path();
        let is_dir = entry.file_type().is_dir();
        if self.left_out(entry, is_dir)? {
            return Ok(None);
        }
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let name = entry_name(rel)?;
        if is_dir {
            return Ok(None);
        }
        if !entry.file_type().is_file() {
            self.warnings
                .push(format!("skipped {name}: not a regular file"));
            return Ok(None);
        }
        if self.temp_name.as_deref() == Some(name.as_str()) {
            return Ok(None);
        }
        if self.output_name.as_deref() == Some(name.as_str()) {
            self.warnings
                .push(format!("skipped {name}: it is the archive being written"));
            return Ok(None);
        }
        let size = entry
            .metadata()
            .map_err(|err| PackageError::Unreadable {
                path: path.to_path_buf(),
                source: walk_io_error(err),
            })?
            .len();
        Ok(Some(SourceFile {
            name,
            path: path.to_path_buf(),
            size,
        }))
    }

    /// Whether `entry` is left out before it is named: the ignore file and
    /// the files left out at the root, an ignored path (a folder with all
    /// it holds), a symlink that points outside the folder (with a warning).
    fn left_out(&mut self, entry: &DirEntry, is_dir: bool) -> Result<bool, PackageError> {
        let path = entry.path();
        if entry.depth() == 1 && !is_dir {
            let name = entry.file_name();
            if name == IGNORE_FILE || self.leave_out.iter().any(|l| name == l.as_str()) {
                return Ok(true);
            }
        }
        if self.matcher.matched(path, is_dir).is_ignore() {
            if is_dir {
                self.it.skip_current_dir();
            }
            return Ok(true);
        }
        if entry.path_is_symlink() {
            match fs::canonicalize(path) {
                Ok(target) if target.starts_with(&self.root) => {}
                Ok(target) => {
                    self.warnings.push(format!(
                        "skipped symlink {} -> {}: it points outside the folder",
                        display_rel(path, &self.root),
                        target.display()
                    ));
                    if is_dir {
                        self.it.skip_current_dir();
                    }
                    return Ok(true);
                }
                Err(source) => return Err(symlink_error(path, source)),
            }
        }
        Ok(false)
    }
}

impl Iterator for Walk {
    type Item = Result<SourceFile, PackageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_file().transpose();
        self.done = !matches!(next, Some(Ok(_)));
        next
    }
}

impl Listing for Walk {
    fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }
}

/// A listing with the generated files merged in, in archive order: each
/// is written to a temporary file (returned, to be held while the archive
/// is written) and read like any other.
pub(super) fn with_generated(
    inner: Box<dyn Listing>,
    generated: &[Generated],
) -> Result<(Box<dyn Listing>, Vec<tempfile::NamedTempFile>), PackageError> {
    if generated.is_empty() {
        return Ok((inner, Vec::new()));
    }
    let mut held = Vec::new();
    let mut files = Vec::new();
    for g in generated {
        let output = |source| PackageError::Output {
            path: PathBuf::from(&g.name),
            source,
        };
        let mut tmp = tempfile::NamedTempFile::new().map_err(output)?;
        io::Write::write_all(&mut tmp, &g.bytes).map_err(output)?;
        files.push(SourceFile {
            name: g.name.clone(),
            path: tmp.path().to_path_buf(),
            size: g.bytes.len() as u64,
        });
        held.push(tmp);
    }
    files.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let merged = Merged {
        inner,
        generated: files.into(),
        next: None,
    };
    Ok((Box::new(merged), held))
}

/// [`with_generated`]'s listing.
struct Merged {
    inner: Box<dyn Listing>,
    generated: std::collections::VecDeque<SourceFile>,
    /// The inner listing's next file, taken ahead to compare.
    next: Option<Result<SourceFile, PackageError>>,
}

impl Iterator for Merged {
    type Item = Result<SourceFile, PackageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next.is_none() {
            self.next = self.inner.next();
        }
        let first = match (&self.next, self.generated.front()) {
            (Some(Ok(file)), Some(g)) => g.name.as_bytes().cmp(file.name.as_bytes()),
            (None, Some(_)) => Ordering::Less,
            _ => Ordering::Greater,
        };
        match first {
            Ordering::Less => self.generated.pop_front().map(Ok),
            Ordering::Equal => {
                let name = self
                    .generated
                    .pop_front()
                    .map(|g| g.name)
                    .unwrap_or_default();
                self.next = None;
                Some(Err(PackageError::DuplicateName { name }))
            }
            Ordering::Greater => self.next.take(),
        }
    }
}

impl Listing for Merged {
    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

/// A listing under a [`Control`]: stops with [`PackageError::Cancelled`]
/// once cancelled, and says when it is complete. A folder with nothing to
/// ship is refused right there, before the control hears of it.
pub(super) struct Watched {
    inner: Box<dyn Listing>,
    control: Control,
    root: PathBuf,
    files: u64,
    done: bool,
}

impl Watched {
    pub(super) fn new(inner: Box<dyn Listing>, control: Control, root: &Path) -> Watched {
        Watched {
            inner,
            control,
            root: root.to_path_buf(),
            files: 0,
            done: false,
        }
    }
}

impl Iterator for Watched {
    type Item = Result<SourceFile, PackageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.control.is_cancelled() {
            self.done = true;
            return Some(Err(PackageError::Cancelled));
        }
        let next = self.inner.next();
        match &next {
            None if self.files == 0 => {
                self.done = true;
                let path = self.root.clone();
                return Some(Err(PackageError::Empty { path }));
            }
            None => {
                self.done = true;
                self.control.listed();
            }
            Some(Err(_)) => self.done = true,
            Some(Ok(file)) => {
                self.files += 1;
                self.control.found(file.size);
            }
        }
        next
    }
}

impl Listing for Watched {
    fn take_warnings(&mut self) -> Vec<String> {
        self.inner.take_warnings()
    }
}

/// The order of the entries of one directory: by name bytes, a directory
/// (or a symlink to one) as if its name ended in `/`.
///
/// walkdir sorts before it follows symlinks, so a link's target is looked
/// up here, once per link: asking again could get another answer if the
/// link changed, and a sort needs a consistent order.
fn archive_order() -> impl FnMut(&DirEntry, &DirEntry) -> Ordering + Send + Sync + 'static {
    let mut link_is_dir: HashMap<PathBuf, bool> = HashMap::new();
    move |a, b| {
        let mut is_dir = |e: &DirEntry| {
            if e.file_type().is_symlink() {
                *link_is_dir
                    .entry(e.path().to_path_buf())
                    .or_insert_with(|| fs::metadata(e.path()).is_ok_and(|m| m.is_dir()))
            } else {
                e.file_type().is_dir()
            }
        };
        let (a_dir, b_dir) = (is_dir(a), is_dir(b));
        name_order(
            a.file_name().as_encoded_bytes(),
            a_dir,
            b.file_name().as_encoded_bytes(),
            b_dir,
        )
    }
}

/// Compare two names of one directory as `name` or `name/`.
fn name_order(a: &[u8], a_dir: bool, b: &[u8], b_dir: bool) -> Ordering {
    let slash = |dir: bool| dir.then_some(&b'/');
    a.iter()
        .chain(slash(a_dir))
        .cmp(b.iter().chain(slash(b_dir)))
}

/// The entry name `path` would have, if it lies inside `root`.
fn name_inside(root: &Path, path: Option<&Path>) -> Option<String> {
    path.and_then(|p| fs::canonicalize(p).ok())
        .and_then(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
        .and_then(|rel| entry_name(&rel).ok())
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

/// The archive name of a path relative to the root: its components as
/// UTF-8, exactly as on disk, joined with `/`.
///
/// Joining components (rather than taking the path's text) is what makes
/// Windows give the same names as Unix: there `\` separates components
/// and never reaches a name, while on Unix it is an ordinary character that
/// a web server would take for a separator, so a name holding one is
/// refused, as are control characters (no URL or log line shows them
/// faithfully).
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
        if let Some(what) = unservable(part) {
            return Err(PackageError::UnservableName {
                path: rel.to_path_buf(),
                what,
            });
        }
        if !name.is_empty() {
            name.push('/');
        }
        name.push_str(part);
    }
    Ok(name)
}

/// Why one component of a path cannot be part of an entry name, if it
/// cannot. Also the rule for the names of an artifact being unpacked
/// (`super::unpack`).
pub(super) fn unservable(part: &str) -> Option<&'static str> {
    if part.contains('\\') {
        return Some("a backslash, which servers take for a path separator");
    }
    if part.chars().any(char::is_control) {
        return Some("a control character");
    }
    None
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
        return Err(PackageError::SymlinkLoop { path, source: None });
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
            source: Some(source),
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
