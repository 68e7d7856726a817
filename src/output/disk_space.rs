//! A recording's disk: it stops cleanly while some space is still free (so the file
//! can be finalized and stays playable) and goes on once twice that is free again
//! (no flapping around the line).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// A recording's folder and its guard.
pub struct DiskWatch {
    dir: PathBuf,
    guard: SpaceGuard,
}

impl DiskWatch {
    /// None when the recording keeps no space free (`min_free_mb = 0`).
    pub fn new(dir: &Path, reserve: u64) -> Option<DiskWatch> {
        (reserve > 0).then(|| DiskWatch { dir: dir.to_path_buf(), guard: SpaceGuard::new(reserve) })
    }

    /// None while there is room; otherwise why not, in words. A disk whose free space
    /// cannot be read counts as roomy: the file sink reports real write errors.
    pub fn short(&mut self) -> Option<String> {
        let free = free_bytes(&self.dir).ok()?;
        if self.guard.room(free) {
            return None;
        }
        Some(format!(
            "disk nearly full: {} free on {}, below the {} kept free (output.file[].min_free_mb); recording paused, it goes on in a new file once {} are free",
            megabytes(free),
            self.dir.display(),
            megabytes(self.guard.reserve),
            megabytes(self.guard.resume_at()),
        ))
    }
}

/// Whether a recording has room, judged from the free bytes it is handed.
#[derive(Debug, Clone)]
pub struct SpaceGuard {
    /// Bytes kept free (0: the guard is off).
    reserve: u64,
    waiting: bool,
}

impl SpaceGuard {
    pub fn new(reserve: u64) -> SpaceGuard {
        SpaceGuard { reserve, waiting: false }
    }

    /// True while recording may go on (or start again); `free`: bytes free on its disk.
    pub fn room(&mut self, free: u64) -> bool {
        if self.reserve == 0 {
            return true;
        }
        let needed = if self.waiting { self.reserve.saturating_mul(2) } else { self.reserve };
        self.waiting = free < needed;
        !self.waiting
    }

    /// The free space recording needs to go on again.
    pub fn resume_at(&self) -> u64 {
        self.reserve.saturating_mul(2)
    }
}

/// Bytes an unprivileged writer may still use on the filesystem holding `dir`.
pub fn free_bytes(dir: &Path) -> Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes())?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a valid C string and `st` a writable statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        bail!("cannot read the free space of {}: {}", dir.display(), std::io::Error::last_os_error());
    }
    Ok(st.f_bavail as u64 * st.f_frsize as u64)
}

pub fn megabytes(bytes: u64) -> String {
    format!("{:.0} MB", bytes as f64 / (1 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_below_the_reserve_and_goes_on_at_twice_it() {
        let mut g = SpaceGuard::new(100);
        assert!(g.room(500));
        assert!(g.room(100));
        assert!(!g.room(99));
        // Space trickling back is not enough: no flapping around the line.
        assert!(!g.room(150));
        assert!(!g.room(199));
        assert!(g.room(200));
        assert!(g.room(120));
        assert!(!g.room(0));
    }

    #[test]
    fn a_reserve_of_zero_never_stops() {
        let mut g = SpaceGuard::new(0);
        assert!(g.room(0));
    }

    #[test]
    fn reads_the_free_space_of_a_real_folder() {
        assert!(free_bytes(Path::new("/tmp")).unwrap() > 0);
        assert!(free_bytes(Path::new("/no/such/folder")).unwrap_err().to_string().contains("/no/such/folder"));
    }
}
