//! Typed errors. Everything that can fail on input carries the path it failed on.

use std::path::PathBuf;

/// Why one document could not be extracted. The caller attaches the path (see [`Error`]).
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The bytes are not a valid instance of the format (truncated, corrupt, wrong magic).
    #[error("malformed {format}: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    /// A bound on size, nesting or decompression was hit (ZIP bombs, deep JSON).
    #[error("limit exceeded: {0}")]
    Limit(String),
    /// Binary or otherwise unsupported content; counted as skipped, not as an error.
    #[error("skipped: {0}")]
    Skipped(String),
}

impl ExtractError {
    pub fn malformed(format: &'static str, reason: impl Into<String>) -> Self {
        ExtractError::Malformed {
            format,
            reason: reason.into(),
        }
    }
}

/// Library error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Extract {
        path: PathBuf,
        #[source]
        source: ExtractError,
    },
    #[error("{}: {reason}", path.display())]
    Rules { path: PathBuf, reason: String },
    #[error("{0}")]
    Usage(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
