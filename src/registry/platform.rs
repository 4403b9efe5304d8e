//! Platforms: `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`.
//!
//! An image index lists one manifest per platform, named the way Go names
//! them (GOOS/GOARCH), not the way the kernel does (`uname -m` says
//! x86_64 where Go says amd64).

use anyhow::Result;
use oci_spec::image::{Arch, Os, Platform, PlatformBuilder};

use crate::errors::Failure;

/// The platform this machine runs.
pub fn host() -> Platform {
    let (architecture, variant) = match std::env::consts::ARCH {
        "x86_64" => ("amd64", None),
        "x86" => ("386", None),
        "aarch64" => ("arm64", Some("v8")),
        "arm" => ("arm", Some("v7")),
        "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
        "loongarch64" => ("loong64", None),
        other => (other, None),
    };
    build("linux", architecture, variant)
}

/// Read `OS/ARCH[/VARIANT]`, as given to `--platform`.
pub fn parse(text: &str) -> Result<Platform> {
    let parts: Vec<&str> = text.split('/').collect();
    let good = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric());
    if !(2..=3).contains(&parts.len()) || !parts.iter().all(good) {
        return Err(Failure::new(
            2,
            format!(
                "--platform wants OS/ARCH or OS/ARCH/VARIANT, such as linux/arm64/v8 (not '{}')",
                crate::escape::printable(text)
            ),
        )
        .into());
    }
    Ok(build(parts[0], parts[1], parts.get(2).copied()))
}

fn build(os: &str, architecture: &str, variant: Option<&str>) -> Platform {
    let builder = PlatformBuilder::default()
        .os(Os::from(os))
        .architecture(Arch::from(architecture));
    let builder = match variant {
        Some(variant) => builder.variant(variant.to_string()),
        None => builder,
    };
    builder.build().expect("os and architecture are set")
}

/// `linux/arm64/v8`.
pub fn display(platform: &Platform) -> String {
    let mut text = format!("{}/{}", platform.os(), platform.architecture());
    if let Some(variant) = platform.variant() {
        text.push('/');
        text.push_str(variant);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_read_and_shown_the_go_way() {
        assert_eq!(display(&parse("linux/arm64/v8").unwrap()), "linux/arm64/v8");
        assert_eq!(display(&parse("linux/amd64").unwrap()), "linux/amd64");
        assert!(parse("linux").is_err());
        assert!(parse("linux//v8").is_err());
        assert!(parse("linux/arm64/v8/x").is_err());
        if cfg!(target_arch = "x86_64") {
            assert_eq!(display(&host()), "linux/amd64");
        }
    }
}
