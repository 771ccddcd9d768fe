//! Atomic file replacement: a temporary file in the same folder, fsync, rename, fsync the
//! folder. A crash leaves the old file or the new one, never a mix.

use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes`. An existing file's permissions are kept.
pub fn write_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".mcpsweep-tmp-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    if let Ok(meta) = std::fs::metadata(path) {
        tmp.as_file().set_permissions(meta.permissions())?;
    }
    tmp.as_file().sync_all()?;
    crate::fault::step();
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    crate::fault::step();
    Ok(())
}
