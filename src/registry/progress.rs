//! What a pull tells the user while it works, on stderr.
//!
//! On a terminal: one progress bar per layer (the indicatif crate). In a
//! log or a pipe, bars would be noise: one line per step instead.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bars: Option<MultiProgress>,
}

/// The bar (or the lines) of one blob.
pub struct BlobProgress {
    bar: Option<ProgressBar>,
    name: String,
}

/// `sha256:4b7ce07a8f6f…` → `4b7ce07a8f6f`: how Docker names a layer in
/// its output.
pub fn short(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
    hex.chars().take(12).collect()
}

impl Progress {
    pub fn new() -> Progress {
        let bars = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress { bars }
    }

    /// A line of its own, above the bars if there are any.
    pub fn say(&self, line: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Start showing the download of blob `digest`, of `size` bytes.
    pub fn blob(&self, digest: &str, size: u64) -> BlobProgress {
        let name = short(digest);
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new(size));
            bar.set_style(
                ProgressStyle::with_template("{prefix}: {bar:30} {bytes}/{total_bytes} {msg}")
                    .expect("a valid template"),
            );
            bar.set_prefix(name.clone());
            bar
        });
        if bar.is_none() {
            eprintln!("{name}: downloading {}", human_size(size));
        }
        BlobProgress { bar, name }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl BlobProgress {
    pub fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    /// The download ended: `outcome` is `done` or what went wrong.
    pub fn finish(&self, outcome: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(outcome.to_string()),
            None => eprintln!("{}: {outcome}", self.name),
        }
    }
}

/// `61.2 MB`, `812 kB`, `340 B`.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{} kB", b / 1_000),
        b => format!("{b} B"),
    }
}
