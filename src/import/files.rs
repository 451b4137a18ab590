//! Reading files safely: the inputs (`-f`), and the files Terraform's `file()` and
//! `templatefile()` name, which are confined to the module directory.
//!
//! A path given to `file()` must be relative to the module (or start with `path.module`),
//! without `..` leading out of it, `~` or an absolute path; read from the file system, its
//! canonical path (symlinks resolved) must still be inside the module directory. Only regular
//! files up to [`MAX_INPUT_BYTES`] of UTF-8 text are read: a FIFO, a device or a socket would
//! block or never end.

use super::limits::MAX_INPUT_BYTES;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Why a file was not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// It does not exist or cannot be read: the value stays unresolved.
    #[error("{0}")]
    Unreadable(String),
    /// Reading it is refused: an error.
    #[error("{0}")]
    Refused(String),
}

/// How Terraform's `file()` and `templatefile()` read files.
#[derive(Clone, Copy)]
pub enum Files<'a> {
    /// From the file system, confined to the module directory (symlinks resolved).
    FileSystem,
    /// Through a function given the path (relative to the current directory).
    Function(&'a dyn Fn(&str) -> Option<String>),
}

impl Files<'_> {
    /// Read `path`, as written in module `dir`, confined to `dir`.
    pub fn read(&self, dir: &str, path: &str) -> Result<String, FileError> {
        let full = confine(dir, path)?;
        let text = match self {
            Files::FileSystem => read_inside(dir, &full)?,
            Files::Function(read) => read(&full)
                .ok_or_else(|| FileError::Unreadable(format!("file `{full}` could not be read")))?,
        };
        if text.len() as u64 > MAX_INPUT_BYTES {
            return Err(FileError::Refused(format!(
                "`{full}` is larger than the limit of {MAX_INPUT_BYTES} bytes (16 MiB)"
            )));
        }
        Ok(text)
    }
}

/// The path of `path` (as written in module `dir`) relative to the current directory, when it
/// stays inside `dir`.
pub fn confine(dir: &str, path: &str) -> Result<String, FileError> {
    let refuse = |why: &str| {
        Err(FileError::Refused(format!(
            "`{path}` is {why}: file(), templatefile() and fileexists() read only files inside the module directory `{}`",
            if dir.is_empty() { "." } else { dir }
        )))
    };
    if path.starts_with('~') {
        return refuse("in a home directory");
    }
    let p = Path::new(path);
    let rel = match p.strip_prefix(dir) {
        Ok(rest) if !dir.is_empty() => rest,
        _ => p,
    };
    let mut depth = 0usize;
    for c in rel.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth == 0 => {
                return refuse("outside the module directory (`..`)");
            }
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => return refuse("an absolute path"),
        }
    }
    if depth == 0 {
        return refuse("the module directory itself");
    }
    Ok(if dir.is_empty() {
        rel.display().to_string()
    } else {
        Path::new(dir).join(rel).display().to_string()
    })
}

/// Read `full` from the file system when its canonical path is inside `dir`'s.
fn read_inside(dir: &str, full: &str) -> Result<String, FileError> {
    let unreadable =
        |e: std::io::Error| FileError::Unreadable(format!("file `{full}` could not be read: {e}"));
    let root = std::fs::canonicalize(if dir.is_empty() { "." } else { dir }).map_err(unreadable)?;
    let real = std::fs::canonicalize(full).map_err(unreadable)?;
    if !real.starts_with(&root) {
        return Err(FileError::Refused(format!(
            "`{full}` resolves to `{}`, outside the module directory `{}` (through a symlink)",
            real.display(),
            root.display()
        )));
    }
    read_regular(&real).map_err(|e| match e {
        InputError::Io(e) => unreadable(e),
        refused => FileError::Refused(format!("`{full}`: {refused}")),
    })
}

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file system said no.
    #[error("{0}")]
    Io(std::io::Error),
    /// A FIFO, device, socket or directory.
    #[error("not a regular file (a FIFO, device or socket would block or never end)")]
    NotRegular,
    /// Over the size limit.
    #[error("{0} bytes: larger than the limit of {MAX_INPUT_BYTES} bytes (16 MiB)")]
    TooLarge(u64),
    /// Not UTF-8.
    #[error("not valid UTF-8 text: {0}")]
    NotUtf8(std::string::FromUtf8Error),
}

/// Read a regular file of UTF-8 text up to the size limit; anything else is refused before
/// it is opened for reading.
pub fn read_regular(path: &Path) -> Result<String, InputError> {
    let meta = std::fs::metadata(path).map_err(InputError::Io)?;
    if !meta.is_file() {
        return Err(InputError::NotRegular);
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes))
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(InputError::NotUtf8)
}

/// Read standard input (`-f -`) up to the size limit.
pub fn read_stdin() -> Result<String, InputError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(InputError::Io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(InputError::TooLarge(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(InputError::NotUtf8)
}

/// Write `text` to `path` atomically: into a new temporary file in the same directory, then
/// renamed over `path`. An existing symlink at `path` is refused, never written through.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        return Err(std::io::Error::other(
            "is a symbolic link: refusing to write through it",
        ));
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let mut n = 0;
    let (tmp, mut file) = loop {
        let tmp: PathBuf = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        // create_new never follows a symlink or reuses a file.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 100 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(text.as_bytes())
        .and_then(|_| file.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_the_module() {
        assert_eq!(confine("m", "task.json"), Ok("m/task.json".into()));
        assert_eq!(
            confine("m", "m/t/../task.json"),
            Ok("m/t/../task.json".into())
        );
        assert_eq!(confine("", "./a"), Ok("./a".into()));
        for bad in [
            "/etc/passwd",
            "~/.aws/credentials",
            "../x",
            "m/../../x",
            "a/../../x",
            ".",
        ] {
            assert!(
                matches!(confine("m", bad), Err(FileError::Refused(_))),
                "{bad}"
            );
        }
    }
}
