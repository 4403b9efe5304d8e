//! `run -v HOST:CTR[:ro]`, `--tmpfs CTR[:OPTIONS]` and `--read-only`: what
//! a container sees besides its image's files.
//!
//! A bind mount shows a host directory (or file) at a path inside the
//! container: the same files, not a copy, so what the container writes
//! there stays when it is gone. A tmpfs is a fresh filesystem in memory,
//! gone with the container. `--read-only` makes the root filesystem
//! read-only: the container writes only to its volumes, its tmpfs mounts
//! and chapter 3's /tmp and /dev.
//!
//! The mounts are made by the frame below the container's root before
//! pivot_root, as the OCI runtime makes config.json's (runtime/oci/
//! mounts.rs: each path opened one component at a time inside the root,
//! never following the image's symlinks out of it).

use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One mount of `-v` or `--tmpfs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// Where, inside the container (absolute, without `..`).
    pub target: PathBuf,
    pub source: VolumeSource,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VolumeSource {
    /// A host path (absolute).
    Bind(PathBuf),
    /// A named volume: a folder bocker keeps in its state directory
    /// (`volumes/NAME/_data`), made on first use, kept after the container
    /// (`bocker volume …`).
    Named(String),
    /// A new tmpfs, with its mount options (`size=64m,mode=1777`).
    Tmpfs(String),
}

/// Chapter 3 mounts these itself, after the volumes: a volume there would
/// be hidden (or would hide the kernel's filesystems).
const MOUNTED_BY_CHAPTER_3: [&str; 4] = ["/proc", "/sys", "/dev", "/tmp"];

impl Volume {
    /// `-v HOST:CTR[:ro|rw]`.
    pub fn parse_bind(text: &str) -> Result<Volume, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (host, target, mode) = match parts[..] {
            [host, target] => (host, target, "rw"),
            [host, target, mode] => (host, target, mode),
            _ => return Err(format!("invalid volume '{text}': use HOST:CONTAINER[:ro]")),
        };
        let source = if host.starts_with('/') {
            VolumeSource::Bind(PathBuf::from(host))
        } else if is_volume_name(host) {
            VolumeSource::Named(host.to_string())
        } else {
            return Err(format!(
                "invalid volume '{text}': the host path must be absolute, or a volume's name (letters, digits, '_', '.', '-')"
            ));
        };
        let read_only = match mode {
            "ro" => true,
            "rw" => false,
            other => {
                return Err(format!(
                    "invalid volume '{text}': unknown mode '{other}' (use ro or rw)"
                ))
            }
        };
        Ok(Volume {
            target: container_path(target, text)?,
            source,
            read_only,
        })
    }

    /// `--tmpfs CTR[:OPTIONS]` (OPTIONS as `mount -t tmpfs -o` takes them;
    /// Docker's default mode is 1777).
    pub fn parse_tmpfs(text: &str) -> Result<Volume, String> {
        let (target, options) = match text.split_once(':') {
            Some((target, options)) => (target, options.to_string()),
            None => (text, String::new()),
        };
        let mut options = options;
        if !options.split(',').any(|option| option.starts_with("mode=")) {
            options = if options.is_empty() {
                "mode=1777".to_string()
            } else {
                format!("{options},mode=1777")
            };
        }
        Ok(Volume {
            target: container_path(target, text)?,
            source: VolumeSource::Tmpfs(options),
            read_only: false,
        })
    }
}

impl Volume {
    /// `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]`
    /// (Docker's long form; `src`/`dst`/`destination` and `ro` too,
    /// `tmpfs-size=` and `tmpfs-mode=` for a tmpfs).
    pub fn parse_mount(text: &str) -> Result<Volume, String> {
        let invalid = |why: &str| format!("invalid --mount '{text}': {why}");
        let (mut kind, mut source, mut target) = ("volume", None, None);
        let (mut read_only, mut tmpfs_options) = (false, Vec::new());
        for field in text.split(',') {
            let (key, value) = field.split_once('=').unwrap_or((field, ""));
            match key {
                "type" => kind = value,
                "source" | "src" => source = Some(value),
                "target" | "destination" | "dst" => target = Some(value),
                "readonly" | "ro" => {
                    read_only = value.is_empty() || value == "true" || value == "1"
                }
                "tmpfs-size" => tmpfs_options.push(format!("size={value}")),
                "tmpfs-mode" => tmpfs_options.push(format!("mode={value}")),
                other => return Err(invalid(&format!("unknown field '{other}'"))),
            }
        }
        let target = target.ok_or_else(|| invalid("no target= (the path in the container)"))?;
        let mut volume = match (kind, source) {
            ("bind", Some(source)) if source.starts_with('/') => {
                Volume::parse_bind(&format!("{source}:{target}"))?
            }
            ("bind", _) => return Err(invalid("a bind needs an absolute source=")),
            ("volume", Some(name)) => Volume::parse_bind(&format!("{name}:{target}"))?,
            ("volume", None) => return Err(invalid("a volume needs its name as source=")),
            ("tmpfs", None) => {
                Volume::parse_tmpfs(&format!("{target}:{}", tmpfs_options.join(",")))?
            }
            ("tmpfs", Some(_)) => return Err(invalid("a tmpfs has no source=")),
            (other, _) => {
                return Err(invalid(&format!(
                    "unknown type '{other}' (bind, volume or tmpfs)"
                )))
            }
        };
        volume.read_only = read_only;
        Ok(volume)
    }
}

/// A volume's name, as Docker allows it: a letter or digit, then letters,
/// digits, `_`, `.` or `-` (it names a folder: never `..` or a `/`).
pub fn is_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// A path inside the container: absolute, no `..`, not `/`, not one of
/// chapter 3's.
fn container_path(target: &str, given: &str) -> Result<PathBuf, String> {
    let path = Path::new(target);
    if !path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "invalid mount '{given}': the path in the container must be absolute, without '..'"
        ));
    }
    if path == Path::new("/") {
        return Err(format!(
            "invalid mount '{given}': not on the container's root"
        ));
    }
    if let Some(taken) = MOUNTED_BY_CHAPTER_3
        .iter()
        .find(|taken| path.starts_with(taken))
    {
        return Err(format!(
            "invalid mount '{given}': bocker mounts {taken} itself (chapter 3)"
        ));
    }
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_and_tmpfs_read_as_docker_writes_them() {
        let data = Volume::parse_bind("/srv/data:/data:ro").unwrap();
        assert_eq!(data.target, Path::new("/data"));
        assert_eq!(data.source, VolumeSource::Bind("/srv/data".into()));
        assert!(data.read_only);
        assert!(!Volume::parse_bind("/a:/b").unwrap().read_only);
        assert_eq!(
            Volume::parse_bind("cache:/var/cache").unwrap().source,
            VolumeSource::Named("cache".into())
        );
        let scratch = Volume::parse_tmpfs("/scratch:size=8m").unwrap();
        assert_eq!(
            scratch.source,
            VolumeSource::Tmpfs("size=8m,mode=1777".into())
        );
        assert_eq!(
            Volume::parse_tmpfs("/run").unwrap().source,
            VolumeSource::Tmpfs("mode=1777".into())
        );
    }

    #[test]
    fn the_long_form_says_the_same() {
        assert_eq!(
            Volume::parse_mount("type=bind,source=/srv,target=/data,readonly").unwrap(),
            Volume::parse_bind("/srv:/data:ro").unwrap()
        );
        assert_eq!(
            Volume::parse_mount("type=volume,src=cache,dst=/var/cache").unwrap(),
            Volume::parse_bind("cache:/var/cache").unwrap()
        );
        assert_eq!(
            Volume::parse_mount("type=tmpfs,target=/scratch,tmpfs-size=8m").unwrap(),
            Volume::parse_tmpfs("/scratch:size=8m").unwrap()
        );
        for (bad, said) in [
            ("type=bind,target=/x", "absolute source"),
            ("type=nfs,source=a,target=/x", "unknown type"),
            ("type=bind,source=/a", "no target"),
            ("type=bind,source=/a,target=/x,colour=red", "unknown field"),
        ] {
            let error = Volume::parse_mount(bad).unwrap_err();
            assert!(error.contains(said), "{bad}: {error}");
        }
    }

    #[test]
    fn what_cannot_be_mounted_is_refused() {
        for (bad, said) in [
            ("../up:/data", "a volume's name"),
            ("/a:relative", "absolute"),
            ("/a:/b/../../etc", "without '..'"),
            ("/a:/", "root"),
            ("/a:/proc/x", "chapter 3"),
            ("/a:/b:rx", "unknown mode"),
            ("/a", "HOST:CONTAINER"),
        ] {
            let error = Volume::parse_bind(bad).unwrap_err();
            assert!(error.contains(said), "{bad}: {error}");
        }
        assert!(Volume::parse_tmpfs("/tmp")
            .unwrap_err()
            .contains("chapter 3"));
    }
}
