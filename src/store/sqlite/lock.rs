//! Evidence that the owning application has a SQLite store open right now.
//!
//! Every store here is single-writer and caches state in memory, so a purge while the
//! application runs would be undone or corrupted. The checks, strongest first: another
//! process has the database (or a sidecar) open (Linux `/proc`); another process holds a
//! SQLite lock on the database file or its WAL index (`fcntl(F_GETLK)`, which sees other
//! processes only); and for rollback-journal databases, whether SQLite itself can take the
//! write lock (`BEGIN IMMEDIATE` with no wait, which also sees connections in this process).
//!
//! The probes open files read-only and never lock them. Closing a file releases every POSIX
//! lock this process holds on it, so never probe a store this process has a SQLite
//! connection open on.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::sidecar;

/// SQLite's lock bytes in the database file: PENDING, RESERVED, then the SHARED range.
const PENDING_BYTE: i64 = 0x4000_0000;
const LOCK_RANGE: i64 = 2 + 510;
/// The WAL-index lock slots and the "DMS" byte every open WAL connection holds.
const SHM_LOCKS: i64 = 120;
const SHM_LOCK_RANGE: i64 = 9;

/// Why the store at `db` looks held by another program, or `None`.
pub fn sqlite_in_use(db: &Path) -> Option<String> {
    let db = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let wal = sidecar(&db, "-wal");
    let shm = sidecar(&db, "-shm");
    let journal = sidecar(&db, "-journal");
    if let Some(who) = open_by_other_process(&[db.clone(), wal, shm.clone(), journal.clone()]) {
        return Some(format!("{who}; stop it before changing the store"));
    }
    if let Some(pid) = posix_lock_holder(&db, PENDING_BYTE, LOCK_RANGE) {
        return Some(format!(
            "process {pid} holds a SQLite lock on {}; stop it before changing the store",
            db.display()
        ));
    }
    if shm.exists() {
        if let Some(pid) = posix_lock_holder(&shm, SHM_LOCKS, SHM_LOCK_RANGE) {
            return Some(format!(
                "process {pid} has {} open in WAL mode (it holds a lock on {}); stop it \
                 before changing the store",
                db.display(),
                shm.display()
            ));
        }
    }
    // A WAL-mode write probe would create or checkpoint the WAL; a hot journal would be
    // rolled back by it. Both are left to the checks above.
    if !wal_mode(&db) && !journal.exists() {
        return write_lock_taken(&db);
    }
    None
}

/// Lock evidence for a lock file an application holds while it runs (qdrant-client's local
/// mode keeps `.lock` locked with `flock`; some lockers use `fcntl`).
pub(crate) fn lock_file_held(lock: &Path) -> Option<String> {
    let lock = std::fs::canonicalize(lock).ok()?;
    if let Some(who) = open_by_other_process(std::slice::from_ref(&lock)) {
        return Some(format!("{who} (its lock file)"));
    }
    let f = std::fs::File::open(&lock).ok()?;
    if let Err(std::fs::TryLockError::WouldBlock) = f.try_lock() {
        return Some(format!("{} is locked by another process", lock.display()));
    }
    drop(f);
    posix_lock_holder(&lock, 0, 0)
        .map(|pid| format!("process {pid} holds a lock on {}", lock.display()))
}

/// Whether another process has the database open in WAL mode (holds a lock in its `-shm`).
pub(crate) fn wal_index_held(shm: &Path) -> bool {
    posix_lock_holder(shm, SHM_LOCKS, SHM_LOCK_RANGE).is_some()
}

fn wal_mode(db: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(db)
        .and_then(|mut f| f.read_exact(&mut header))
        .map(|_| header[18] == 2 || header[19] == 2)
        .unwrap_or(false)
}

/// Asks SQLite for the write lock without waiting. Only for rollback-journal databases:
/// taking and releasing RESERVED there creates and changes nothing.
fn write_lock_taken(db: &Path) -> Option<String> {
    let conn = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.busy_timeout(std::time::Duration::ZERO).ok()?;
    match conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;") {
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Some(format!(
                "another connection holds the write lock on {} (BEGIN IMMEDIATE: database is \
                 locked); stop the application before changing the store",
                db.display()
            ))
        }
        _ => None,
    }
}

/// The pid of another process holding a POSIX lock that overlaps `[start, start+len)`
/// (`len` 0 = to the end of the file).
#[cfg(unix)]
fn posix_lock_holder(path: &Path, start: i64, len: i64) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).ok()?;
    // SAFETY: `flock` is plain old data; all-zero is a valid value that we then fill in.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as _;
    fl.l_whence = libc::SEEK_SET as _;
    fl.l_start = start as _;
    fl.l_len = len as _;
    // SAFETY: the descriptor is open for the duration of the call and `fl` is a valid,
    // exclusively borrowed `flock`. F_GETLK only reads lock state.
    let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl) };
    (rc == 0 && i32::from(fl.l_type) != libc::F_UNLCK).then_some(fl.l_pid)
}

#[cfg(not(unix))]
fn posix_lock_holder(_path: &Path, _start: i64, _len: i64) -> Option<i32> {
    None
}

/// "process 123 (python3) has /x open" for up to three other processes with any of
/// `targets` open.
#[cfg(target_os = "linux")]
fn open_by_other_process(targets: &[PathBuf]) -> Option<String> {
    let me = std::process::id();
    let mut found: Vec<String> = Vec::new();
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = proc_entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        let hit = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .find(|link| targets.contains(link));
        if let Some(link) = hit {
            let comm = std::fs::read_to_string(proc_entry.path().join("comm"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            found.push(format!(
                "process {pid} ({comm}) has {} open",
                link.display()
            ));
            if found.len() == 3 {
                break;
            }
        }
    }
    (!found.is_empty()).then(|| found.join(", "))
}

#[cfg(not(target_os = "linux"))]
fn open_by_other_process(_targets: &[PathBuf]) -> Option<String> {
    None
}
