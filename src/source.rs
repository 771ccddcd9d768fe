//! Sources: the files a sweep reads, from paths given on the command line.

use std::path::{Path, PathBuf};

use crate::scan::{ErrorKind, ErrorRecord};

/// A file to scan.
#[derive(Debug, Clone)]
pub struct FileEntry {
    pub path: PathBuf,
    /// The path as shown in findings: as given, joined with the part below it.
    pub display: String,
}

/// What the walk found: files to read, plus paths it could not use.
#[derive(Debug, Default)]
pub struct Walked {
    pub files: Vec<FileEntry>,
    pub errors: Vec<ErrorRecord>,
    /// Entries passed over on purpose (symbolic links not followed).
    pub skipped: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Honour .gitignore/.ignore files (off by default: a sweep reads everything).
    pub gitignore: bool,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_links: bool,
}

/// Lists every regular file under `inputs`. `-` stands for standard input and is kept as is.
pub fn walk(inputs: &[PathBuf], opts: WalkOptions) -> Walked {
    let mut out = Walked::default();
    for input in inputs {
        if input.as_os_str() == "-" {
            out.files.push(FileEntry {
                path: input.clone(),
                display: "-".into(),
            });
            continue;
        }
        let mut builder = ignore::WalkBuilder::new(input);
        builder
            .standard_filters(opts.gitignore)
            .hidden(false)
            .follow_links(opts.follow_links)
            .sort_by_file_path(|a, b| a.cmp(b));
        for entry in builder.build() {
            match entry {
                Ok(e) => {
                    let Some(ft) = e.file_type() else {
                        // Standard input is handled above; anything else without a type is odd.
                        continue;
                    };
                    if ft.is_dir() {
                        continue;
                    }
                    if ft.is_file() {
                        out.files.push(FileEntry {
                            display: e.path().display().to_string(),
                            path: e.into_path(),
                        });
                    } else if ft.is_symlink() {
                        out.skipped += 1;
                    } else {
                        out.errors.push(ErrorRecord {
                            path: e.path().display().to_string(),
                            kind: ErrorKind::Unreadable,
                            reason: format!(
                                "not a regular file ({}); not read",
                                special_kind(e.path())
                            ),
                        });
                    }
                }
                Err(err) => out.errors.push(walk_error(input, &err)),
            }
        }
    }
    out
}

fn special_kind(path: &Path) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if let Ok(m) = std::fs::symlink_metadata(path) {
            let ft = m.file_type();
            if ft.is_fifo() {
                return "FIFO";
            }
            if ft.is_socket() {
                return "socket";
            }
            if ft.is_char_device() || ft.is_block_device() {
                return "device";
            }
        }
    }
    let _ = path;
    "special file"
}

fn walk_error(input: &Path, err: &ignore::Error) -> ErrorRecord {
    fn path_of(err: &ignore::Error) -> Option<PathBuf> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path.clone()),
            ignore::Error::Loop { child, .. } => Some(child.clone()),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                path_of(err)
            }
            ignore::Error::Partial(errs) => errs.first().and_then(path_of),
            _ => None,
        }
    }
    fn reason_of(err: &ignore::Error) -> String {
        match err {
            ignore::Error::WithPath { err, .. }
            | ignore::Error::WithDepth { err, .. }
            | ignore::Error::WithLineNumber { err, .. } => reason_of(err),
            ignore::Error::Loop { ancestor, .. } => {
                format!("symbolic link loop back to {}", ancestor.display())
            }
            ignore::Error::Io(e) => e.to_string(),
            other => other.to_string(),
        }
    }
    ErrorRecord {
        path: path_of(err)
            .unwrap_or_else(|| input.to_path_buf())
            .display()
            .to_string(),
        kind: ErrorKind::Unreadable,
        reason: reason_of(err),
    }
}
