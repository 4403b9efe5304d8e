//! What `--check` hides before it compares a committed transcript with a
//! new one: what changes from run to run. One table, [`RULES`], applied in
//! its order, each rule to the whole file; each has a unit test below.
//!
//! A transcript is prompt lines (`# ` and the command, as typed) each
//! followed by the command's output. A rule looks at every line, at the
//! prompt lines only, or at the output of the commands whose prompt line
//! (as typed, before any rule) matches a pattern. Some rules number what
//! they hide in its order of appearance in the file (UUIDs, chapter 7's
//! digests), so that "the same one" still shows; some take a command's
//! output as a whole (chapter 7's sorted blocks).

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// A rule: what it hides, why, where, and how.
pub struct Rule {
    /// Its name (its test is `rule_NAME`, with `_` for `-`).
    pub name: &'static str,
    /// What it hides, and why that changes from run to run.
    pub hides: &'static str,
    /// Only in this chapter's transcripts (`None`: in every chapter's).
    pub chapter: Option<&'static str>,
    /// Which lines it looks at.
    pub lines: Lines,
    /// What it does to them.
    pub action: Action,
}

pub enum Lines {
    All,
    /// The prompt lines: `# command`.
    Prompts,
    /// The output of the commands whose prompt line matches this pattern.
    OutputOf(&'static str),
    /// Every line but the output of the commands whose prompt line matches
    /// this pattern.
    AllBut(&'static str),
}

pub enum Action {
    /// Replace the first match of `pattern` (every match, if `every`) with
    /// `with`, where `$1`, `${1}` name its groups.
    Replace {
        pattern: &'static str,
        with: &'static str,
        every: bool,
    },
    /// Replace every match with `prefix` and its number, counted in order
    /// of first appearance in the file.
    Number {
        pattern: &'static str,
        prefix: &'static str,
    },
    /// Replace every match (or the first) with what `with` makes of its
    /// groups and of the rest of the line; `None` keeps the match.
    Compute {
        pattern: &'static str,
        every: bool,
        with: fn(&Captures, &str) -> Option<String>,
    },
    /// Change the whole line, with the file's numbering at hand.
    Line(fn(&str, &mut Numbering) -> String),
    /// Change a command's output as a whole (its lines, without the
    /// prompt).
    Block(fn(Vec<String>) -> Vec<String>),
}

/// Chapter 7: the commands whose output lines come in the order parallel
/// work finished (skopeo's and bocker's parallel downloads, the registry's
/// log of them, a listing of the blob store).
const UNORDERED: &str = r"^# (?:bocker pull|skopeo copy|ls /tmp/book-ch7/blobs|grep bocker/)";

/// The rules, in the order they apply.
pub static RULES: &[Rule] = &[
    // ------------------------------------------------- every chapter
    Rule {
        name: "uuid",
        hides: "UUIDs (btrfs subvolumes): new for each filesystem. Numbered in order of appearance, so that a snapshot's Parent UUID still equals its source's UUID",
        chapter: None,
        lines: Lines::All,
        action: Action::Number { pattern: r"\b[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\b", prefix: "UUID" },
    },
    Rule {
        name: "btrfs-list-ids",
        hides: "`btrfs subvolume list`: subvolume ids and generations, which count every subvolume and transaction the filesystem has seen",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"^ID \d+ gen \d+ top level", with: "ID N gen G top level", every: false },
    },
    Rule {
        name: "btrfs-show-ids",
        hides: "`btrfs subvolume show`: the subvolume id and generations (as above)",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace {
            pattern: r"^(\s*(?:Subvolume ID|Generation|Gen at creation):\s+)\d+$",
            with: "${1}N",
            every: false,
        },
    },
    Rule {
        name: "btrfs-show-times",
        hides: "`btrfs subvolume show`: creation and send times",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace {
            pattern: r"^(\s*(?:Creation|Send) time:\s+)\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}$",
            with: "${1}DATE",
            every: false,
        },
    },
    Rule {
        name: "loop-devices",
        hides: "loop device numbers: the first free one",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"/dev/loop\d+", with: "/dev/loopN", every: true },
    },
    Rule {
        name: "image-ids",
        hides: "image ids (random), and what is named after them",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"\bimg_[0-9a-f]{12}\b", with: "img_ID", every: true },
    },
    Rule {
        name: "container-ids",
        hides: "container ids (random), and hostnames, cgroups, paths named after them",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"\bps_[0-9a-f]{12}\b", with: "ps_ID", every: true },
    },
    Rule {
        name: "thread-ids",
        hides: "the thread id in a failed test's panic message",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"^(thread .*) \(\d+\) panicked", with: "$1 (TID) panicked", every: false },
    },
    Rule {
        name: "time-output",
        hides: "what `time` measures",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"^(real|user|sys)\t\d+m[\d.]+s$", with: "$1\tTIME", every: false },
    },
    Rule {
        name: "test-durations",
        hides: "how long a test suite took",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"finished in [\d.]+s", with: "finished in …", every: false },
    },
    Rule {
        name: "file-dates",
        hides: "file dates in `ls -l` (`Nov 29 12:20`, or `Nov 29  2025` for an old file): when the file was made",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"\b[A-Z][a-z]{2} [ \d]\d (\d\d:\d\d| \d{4})\b", with: "DATE", every: true },
    },
    Rule {
        name: "namespace-inodes",
        hides: "namespace inode numbers (4026531835 …): the kernel's, new for each namespace",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"\b4\d{9}\b", with: "NSINO", every: true },
    },
    Rule {
        name: "scratch-folder",
        hides: "the name of this run's scratch folder (/var/tmp/bocker-transcripts.XXXXXX), should a path in it be printed",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"bocker-transcripts\.\w{6}", with: "bocker-transcripts.XXXXXX", every: true },
    },
    Rule {
        name: "mac-addresses",
        hides: "MAC addresses: random for veth pairs, bridges and the stand-in host's eth0",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"link/ether ([0-9a-f]{2}:){5}[0-9a-f]{2}", with: "link/ether MAC", every: false },
    },
    Rule {
        name: "veth-names",
        hides: "the host ends of veth pairs (bk…, bc…): named after container ids",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"\bb([kc])[0-9a-f]{12}\b", with: "b${1}ID", every: true },
    },
    Rule {
        name: "container-addresses",
        hides: "containers' addresses on the bridge (172.30.X.Y): made from their random ids. Not the subnet's own (the network 172.30.0.0, the gateway 172.30.0.1, the broadcast 172.30.255.255), nor the route of chapter 5's overlap check (172.30.5.0/24)",
        chapter: None,
        lines: Lines::All,
        action: Action::Compute { pattern: r"\b172\.30\.(\d{1,3})\.(\d{1,3})\b", every: true, with: container_address },
    },
    Rule {
        name: "ping-times",
        hides: "ping's round-trip time of each packet",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r" time=[\d.]+ ms$", with: " time=T ms", every: false },
    },
    Rule {
        name: "ping-summary",
        hides: "ping's round-trip statistics",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace {
            pattern: r"^round-trip min/avg/max = [\d./]+ ms$",
            with: "round-trip min/avg/max = T ms",
            every: false,
        },
    },
    Rule {
        name: "proc-pids",
        hides: "host pids in /proc paths",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"/proc/\d+/", with: "/proc/PID/", every: true },
    },
    Rule {
        name: "record-pids",
        hides: "the host pid in a container's record",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r#""pid": \d+"#, with: r#""pid": PID"#, every: false },
    },
    Rule {
        name: "pids-in-commands",
        hides: "host pids that a command names (kill, lsns -p, ps -p): copied from an earlier output",
        chapter: None,
        lines: Lines::Prompts,
        action: Action::Replace { pattern: r"(kill -[A-Z]+|lsns -p|ps -o \S+ -p) [\d,]+", with: "$1 PIDS", every: false },
    },
    Rule {
        name: "lsns-counts",
        hides: "`lsns`: how many processes share a namespace, and the lowest pid among them: what else runs on the host",
        chapter: None,
        lines: Lines::OutputOf(r"^# lsns "),
        action: Action::Replace { pattern: r"^(\s*NSINO\s+\S+\s+)\d+\s+\d+", with: "${1}N PID", every: false },
    },
    Rule {
        name: "ps-pids",
        hides: "`ps -o pid,ppid,sid`: host pids of 2 digits and more (not init's 1)",
        chapter: None,
        lines: Lines::OutputOf(r"^# ps -o "),
        action: Action::Compute { pattern: r"^\s*\d+\s+\d+\s+\d+", every: false, with: ps_pids },
    },
    Rule {
        name: "shell-pid",
        hides: "`echo $$` in a container without a PID namespace: the shell's host pid",
        chapter: None,
        lines: Lines::OutputOf(r"echo \$\$"),
        action: Action::Replace { pattern: r"^\d{2,}$", with: "PID", every: false },
    },
    Rule {
        name: "host-mount-count",
        hides: "how many mounts the host has",
        chapter: None,
        lines: Lines::OutputOf(r"^# wc -l < /proc/self/mountinfo$"),
        action: Action::Replace { pattern: r"^\d+$", with: "N", every: false },
    },
    Rule {
        name: "sparse-file-blocks",
        hides: "`du -h` of chapter 6's btrfs file: the blocks of a sparse file, what the filesystem in it happened to write",
        chapter: None,
        lines: Lines::OutputOf(r"^# du -h "),
        action: Action::Replace { pattern: r"^\S+\t", with: "SIZE\t", every: false },
    },
    Rule {
        name: "ls-total",
        hides: "`ls -lh`'s total: includes the sparse btrfs file's blocks (as above)",
        chapter: None,
        lines: Lines::OutputOf(r"^# ls -lh "),
        action: Action::Replace { pattern: r"^total \S+$", with: "total SIZE", every: false },
    },
    Rule {
        name: "btrfs-file-length",
        hides: "`ls -lh`: the length of chapter 6's btrfs file, 16 GiB or the disk's free space if less",
        chapter: None,
        lines: Lines::OutputOf(r"^# ls -lh "),
        action: Action::Replace { pattern: r"^(\S+\s+\d+\s+\S+\s+\S+\s+)\S+(.* btrfs\.img)$", with: "${1}SIZE${2}", every: false },
    },
    Rule {
        name: "cgroup-procs",
        hides: "`cat cgroup.procs`: the host pid of a container's first process",
        chapter: None,
        lines: Lines::OutputOf(r"^# cat cgroup\.procs$"),
        action: Action::Replace { pattern: r"^\d+$", with: "PID", every: false },
    },
    Rule {
        name: "cgroup-counts",
        hides: "`/proc/cgroups`: how many cgroups each hierarchy has, which depends on what else runs",
        chapter: None,
        lines: Lines::OutputOf(r"^# cat /proc/cgroups$"),
        action: Action::Replace { pattern: r"^(\w+\t\d+\t)\d+(\t\d+)$", with: "${1}N${2}", every: false },
    },
    Rule {
        name: "stats-usage",
        hides: "`bocker stats`: what a container uses (CPU %, CPU time, memory in use and its peak); not its limits, nor its number of processes",
        chapter: None,
        lines: Lines::OutputOf(r"^# bocker stats"),
        action: Action::Compute { pattern: r"^ps_ID .*", every: false, with: stats_usage },
    },
    Rule {
        name: "oom-pid",
        hides: "the pid of the process the OOM killer killed (dmesg)",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r"Killed process \d+", with: "Killed process PID", every: false },
    },
    Rule {
        name: "column-spaces",
        hides: "the width of the spaces between columns, which changes with the width of what the rules above replaced",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r" {2,}", with: " ", every: true },
    },
    Rule {
        name: "trailing-space",
        hides: "a space at the end of a line (as above)",
        chapter: None,
        lines: Lines::All,
        action: Action::Replace { pattern: r" $", with: "", every: false },
    },
    // ------------------------------------------- chapter 7: a registry
    Rule {
        name: "http-dates",
        hides: "HTTP dates",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r"^Date: .*", with: "Date: DATE", every: false },
    },
    Rule {
        name: "content-lengths",
        hides: "sizes of manifests and blobs: a layer holds the times its files were made, compressed",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r"^Content-Length: \d+$", with: "Content-Length: N", every: false },
    },
    Rule {
        name: "descriptor-sizes",
        hides: "the sizes in manifests and indexes (as above)",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r#""size": \d+"#, with: r#""size": N"#, every: true },
    },
    Rule {
        name: "download-sizes",
        hides: "the sizes `bocker pull` downloads (as above)",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r": downloading .*", with: ": downloading SIZE", every: false },
    },
    Rule {
        name: "config-times",
        hides: "times in image configs (RFC 3339): when umoci made the image",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r#""created": "[^"]*""#, with: r#""created": "TIME""#, every: false },
    },
    Rule {
        name: "record-times",
        hides: "times in bocker's image records (ns since 1970): when the pull made them",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r#""created": \d+"#, with: r#""created": N"#, every: false },
    },
    Rule {
        name: "tar-dates",
        hides: "the dates of a layer's entries (`tar -tv`)",
        chapter: Some("07-registry"),
        lines: Lines::All,
        action: Action::Replace { pattern: r"\b\d{4}-\d\d-\d\d \d\d:\d\d\b", with: "DATE", every: false },
    },
    Rule {
        name: "tar-folders",
        hides: "the folders (`bin/`, `etc/`) in a listing of a layer umoci made: it has entries for them only if their times changed within the second umoci noted them in",
        chapter: Some("07-registry"),
        lines: Lines::OutputOf(r"\| tar -t"),
        action: Action::Block(without_folders),
    },
    Rule {
        name: "unordered-output",
        hides: "the order of lines that come in the order parallel work finished (skopeo copy, bocker pull, the registry's log, a listing of the blob store): compared sorted, with their digests not numbered (an order that changes would change the numbers)",
        chapter: Some("07-registry"),
        lines: Lines::OutputOf(UNORDERED),
        action: Action::Block(sorted_without_digests),
    },
    Rule {
        name: "digests",
        hides: "sha256 digests, whole (64 hex digits) or short (the first 12, as pull prints them): every digest is new on each run (the image's files and config carry the time they were made). Numbered in order of appearance, a short one as its whole one",
        chapter: Some("07-registry"),
        lines: Lines::AllBut(UNORDERED),
        action: Action::Line(numbered_digests),
    },
    // ---------------------------------------- chapter 8: locking it in
    Rule {
        name: "scratch-file-inode",
        hides: "the inode and generation numbers of shocker's scratch file (stat, lsattr -v): new on each run",
        chapter: Some("08-security"),
        lines: Lines::All,
        action: Action::Replace { pattern: r"^(?:\d+|NSINO) ((?:\S+ )?/tmp/host-secret)$", with: "N $1", every: false },
    },
    // ------------------------- chapter 10: the epilogue, podman, containerd
    Rule {
        name: "engine-ids",
        hides: "ids and digests of 64 hex digits (also after `_`, as in the name of umoci's sha256_….mtree), or their first 12: podman's container and image ids (random, or the digest of an image made on this run: it carries the time it was made), containerd's, umoci's",
        chapter: Some("10-epilogue"),
        lines: Lines::All,
        action: Action::Replace { pattern: r"(\b|_)[0-9a-f]{64}\b|\b[0-9a-f]{12}\b", with: "${1}ID", every: true },
    },
    Rule {
        name: "image-created",
        hides: "the time umoci made the image, in the annotations of the bundle it unpacks (which `bocker state` prints)",
        chapter: Some("10-epilogue"),
        lines: Lines::All,
        action: Action::Replace {
            pattern: r#""org\.opencontainers\.image\.created": "[^"]*""#,
            with: r#""org.opencontainers.image.created": "TIME""#,
            every: false,
        },
    },
    Rule {
        name: "log-times",
        hides: "the time on the log lines ctr prints",
        chapter: Some("10-epilogue"),
        lines: Lines::All,
        action: Action::Replace { pattern: r#"^time="[^"]*""#, with: r#"time="TIME""#, every: false },
    },
    Rule {
        name: "pid-options",
        hides: "host pids given to ps with -p or --ppid (copied from an earlier output)",
        chapter: Some("10-epilogue"),
        lines: Lines::Prompts,
        action: Action::Replace { pattern: r"(-p|--ppid) \d+", with: "$1 PID", every: true },
    },
    Rule {
        name: "engine-pids",
        hides: "`ps -o pid,ppid,…` of the processes conmon and the shim watch: the host pids of 2 digits and more in its first columns (not init's 1)",
        chapter: Some("10-epilogue"),
        lines: Lines::OutputOf(r"^# ps -o pid"),
        action: Action::Compute { pattern: r"^\s*\d+(?:\s+\d+)*\b", every: false, with: ps_pids },
    },
    Rule {
        name: "task-pids",
        hides: "the host pid of each task in `ctr task ls`",
        chapter: Some("10-epilogue"),
        lines: Lines::OutputOf(r"^# ctr task ls"),
        action: Action::Replace { pattern: r"^(\S+\s+)\d+\b", with: "${1}PID", every: false },
    },
];

/// The table, for people: `cargo xtask transcripts --rules`.
pub fn print_rules() {
    for rule in RULES {
        let lines = match rule.lines {
            Lines::All => String::new(),
            Lines::Prompts => " (prompt lines)".to_string(),
            Lines::OutputOf(p) => format!(" (output of {p})"),
            Lines::AllBut(p) => format!(" (all but the output of {p})"),
        };
        let chapter = rule.chapter.map(|c| format!(" [{c}]")).unwrap_or_default();
        println!("{}{chapter}{lines}\n    {}", rule.name, rule.hides);
    }
}

fn container_address(caps: &Captures, rest: &str) -> Option<String> {
    if rest.starts_with("/24") {
        return None; // the route of the overlap check
    }
    let (a, b): (u32, u32) = (caps[1].parse().ok()?, caps[2].parse().ok()?);
    if (a == 0 && b <= 1) || (a == 255 && b == 255) {
        return None; // the subnet's network, gateway and broadcast
    }
    Some("172.30.X.Y".to_string())
}

fn ps_pids(caps: &Captures, _rest: &str) -> Option<String> {
    static PID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{2,}\b").unwrap());
    Some(PID.replace_all(caps[0].trim_start(), "PID").into_owned())
}

fn stats_usage(caps: &Captures, _rest: &str) -> Option<String> {
    static PERCENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d+\.\d%").unwrap());
    static SECONDS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d+\.\d\ds\b").unwrap());
    static MEMORY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\S+( +/ +\S+ +)\S+").unwrap());
    let line = PERCENT.replace(&caps[0], "N%");
    let line = SECONDS.replace(&line, "Ns");
    Some(MEMORY.replace(&line, "SIZE${1}SIZE").into_owned())
}

fn without_folders(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .filter(|line| !line.ends_with('/'))
        .collect()
}

static WHOLE_DIGEST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{64}\b").unwrap());
static SHORT_DIGEST: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b[0-9a-f]{12}\b").unwrap());

fn sorted_without_digests(lines: Vec<String>) -> Vec<String> {
    let mut lines: Vec<String> = lines
        .iter()
        .map(|line| {
            let line = WHOLE_DIGEST.replace_all(line, "DIGEST");
            SHORT_DIGEST.replace_all(&line, "DIGEST").into_owned()
        })
        .collect();
    lines.sort();
    lines
}

fn numbered_digests(line: &str, numbering: &mut Numbering) -> String {
    let line = WHOLE_DIGEST.replace_all(line, |caps: &Captures| {
        format!("DIGEST{}", numbering.digest(&caps[0]))
    });
    SHORT_DIGEST
        .replace_all(&line, |caps: &Captures| {
            format!("DIGEST{}", numbering.digest(&caps[0]))
        })
        .into_owned()
}

/// What a file's numbering rules have counted so far.
#[derive(Default)]
pub struct Numbering {
    /// By rule: each match's number.
    numbers: HashMap<&'static str, HashMap<String, usize>>,
    /// Chapter 7: whole digests' and short digests' numbers (one count).
    whole: HashMap<String, usize>,
    short: HashMap<String, usize>,
    digests: usize,
}

impl Numbering {
    fn number(&mut self, rule: &'static str, found: &str) -> usize {
        let numbers = self.numbers.entry(rule).or_default();
        let next = numbers.len() + 1;
        *numbers.entry(found.to_string()).or_insert(next)
    }

    /// A digest's number: a whole one takes the number of its short form if
    /// that came first; a short one, the number of the whole one it begins.
    fn digest(&mut self, hex: &str) -> usize {
        if hex.len() == 64 {
            if let Some(&n) = self.whole.get(hex) {
                return n;
            }
            let n = match self.short.get(&hex[..12]) {
                Some(&n) => n,
                None => self.next_digest(),
            };
            self.whole.insert(hex.to_string(), n);
            return n;
        }
        if let Some((_, &n)) = self.whole.iter().find(|(whole, _)| whole.starts_with(hex)) {
            return n;
        }
        if let Some(&n) = self.short.get(hex) {
            return n;
        }
        let n = self.next_digest();
        self.short.insert(hex.to_string(), n);
        n
    }

    fn next_digest(&mut self) -> usize {
        self.digests += 1;
        self.digests
    }
}

/// A rule with its patterns compiled.
struct Compiled {
    rule: &'static Rule,
    prompt: Option<Regex>,
    pattern: Option<Regex>,
}

static COMPILED: LazyLock<Vec<Compiled>> = LazyLock::new(|| {
    RULES
        .iter()
        .map(|rule| {
            let prompt = match rule.lines {
                Lines::OutputOf(p) | Lines::AllBut(p) => Some(p),
                Lines::All | Lines::Prompts => None,
            };
            let pattern = match rule.action {
                Action::Replace { pattern, .. }
                | Action::Number { pattern, .. }
                | Action::Compute { pattern, .. } => Some(pattern),
                Action::Line(_) | Action::Block(_) => None,
            };
            let compile =
                |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("rule {}: {e}", rule.name));
            Compiled {
                rule,
                prompt: prompt.map(compile),
                pattern: pattern.map(compile),
            }
        })
        .collect()
});

/// A transcript's lines, each with the prompt line (as typed, before any
/// rule) of the command it belongs to.
struct Transcript {
    lines: Vec<Line>,
    ends_with_newline: bool,
}

struct Line {
    text: String,
    is_prompt: bool,
    /// The prompt line of its command (for a prompt line: itself).
    prompt: Option<Rc<str>>,
}

impl Transcript {
    fn parse(text: &str) -> Transcript {
        let mut prompt: Option<Rc<str>> = None;
        let lines = text
            .lines()
            .map(|line| {
                let is_prompt = is_prompt(line);
                if is_prompt {
                    prompt = Some(Rc::from(line));
                }
                Line {
                    text: line.to_string(),
                    is_prompt,
                    prompt: prompt.clone(),
                }
            })
            .collect();
        Transcript {
            lines,
            ends_with_newline: text.ends_with('\n'),
        }
    }

    fn text(&self) -> String {
        let mut text = self
            .lines
            .iter()
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        if self.ends_with_newline && !self.lines.is_empty() {
            text.push('\n');
        }
        text
    }
}

impl Line {
    fn is_selected(&self, lines: &Lines, prompt: Option<&Regex>) -> bool {
        let output_of_matching = || {
            !self.is_prompt
                && self
                    .prompt
                    .as_deref()
                    .is_some_and(|p| prompt.is_some_and(|re| re.is_match(p)))
        };
        match lines {
            Lines::All => true,
            Lines::Prompts => self.is_prompt,
            Lines::OutputOf(_) => output_of_matching(),
            Lines::AllBut(_) => !output_of_matching(),
        }
    }
}

/// A prompt line: root's `# `, or an ordinary user's `$ ` (chapter 9's
/// sessions run as one).
fn is_prompt(line: &str) -> bool {
    line.starts_with("# ") || line.starts_with("$ ")
}

/// `text`, a transcript of `chapter` (`05-network`), with what changes from
/// run to run hidden.
pub fn normalise(chapter: &str, text: &str) -> String {
    let mut transcript = Transcript::parse(text);
    let mut numbering = Numbering::default();
    for compiled in COMPILED.iter() {
        if compiled.rule.chapter.is_some_and(|c| c != chapter) {
            continue;
        }
        apply(compiled, &mut transcript, &mut numbering);
    }
    transcript.text()
}

fn apply(compiled: &Compiled, t: &mut Transcript, numbering: &mut Numbering) {
    let rule = compiled.rule;
    let prompt = compiled.prompt.as_ref();
    if let Action::Block(change) = rule.action {
        // Each run of selected lines is one command's output (a prompt
        // line, never selected as output, ends it).
        let mut i = 0;
        while i < t.lines.len() {
            if !t.lines[i].is_selected(&rule.lines, prompt) {
                i += 1;
                continue;
            }
            let end = (i..t.lines.len())
                .find(|&j| !t.lines[j].is_selected(&rule.lines, prompt))
                .unwrap_or(t.lines.len());
            let command = t.lines[i].prompt.clone();
            let block: Vec<String> = t.lines[i..end].iter().map(|l| l.text.clone()).collect();
            let changed: Vec<Line> = change(block)
                .into_iter()
                .map(|text| Line {
                    text,
                    is_prompt: false,
                    prompt: command.clone(),
                })
                .collect();
            let n = changed.len();
            t.lines.splice(i..end, changed);
            // On past the block, which the change may have made shorter: the
            // line there now is the one that ended it.
            i += n;
        }
        return;
    }
    for line in &mut t.lines {
        if !line.is_selected(&rule.lines, prompt) {
            continue;
        }
        let text = &line.text;
        let changed = match rule.action {
            Action::Replace { with, every, .. } => {
                let re = compiled.pattern.as_ref().expect("a pattern");
                if every {
                    re.replace_all(text, with).into_owned()
                } else {
                    re.replace(text, with).into_owned()
                }
            }
            Action::Number { prefix, .. } => {
                let re = compiled.pattern.as_ref().expect("a pattern");
                re.replace_all(text, |caps: &Captures| {
                    format!("{prefix}{}", numbering.number(rule.name, &caps[0]))
                })
                .into_owned()
            }
            Action::Compute { every, with, .. } => compute(
                compiled.pattern.as_ref().expect("a pattern"),
                text,
                every,
                with,
            ),
            Action::Line(change) => change(text, numbering),
            Action::Block(_) => unreachable!("blocks are changed above"),
        };
        line.text = changed;
    }
}

fn compute(
    re: &Regex,
    line: &str,
    every: bool,
    with: fn(&Captures, &str) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    for caps in re.captures_iter(line) {
        let whole = caps.get(0).expect("a match");
        if let Some(replacement) = with(&caps, &line[whole.end()..]) {
            out.push_str(&line[last..whole.start()]);
            out.push_str(&replacement);
            last = whole.end();
            if !every {
                break;
            }
        }
    }
    out.push_str(&line[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` with rule `name` alone applied (as in `chapter`).
    fn only(name: &str, chapter: &str, text: &str) -> String {
        let compiled = COMPILED
            .iter()
            .find(|c| c.rule.name == name)
            .unwrap_or_else(|| panic!("no rule {name}"));
        assert!(
            compiled.rule.chapter.is_none_or(|c| c == chapter),
            "rule {name} is not for {chapter}"
        );
        let mut transcript = Transcript::parse(text);
        apply(compiled, &mut transcript, &mut Numbering::default());
        transcript.text()
    }

    /// One line, with rule `name` alone (in every chapter's rules).
    fn line(name: &str, text: &str) -> String {
        only(name, "00-setup", &format!("{text}\n"))
            .trim_end_matches('\n')
            .to_string()
    }

    #[test]
    fn every_rule_has_a_test() {
        let source = include_str!("normalise.rs");
        for rule in RULES {
            let test = format!("fn rule_{}()", rule.name.replace('-', "_"));
            assert!(
                source.contains(&test),
                "rule {} has no test {test}",
                rule.name
            );
            assert!(!rule.hides.is_empty());
        }
        let mut names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), RULES.len(), "two rules have the same name");
    }

    #[test]
    fn rule_uuid() {
        assert_eq!(
            only(
                "uuid",
                "06-btrfs",
                "\tUUID: \t\t412c47dc-466a-ed4f-8b68-554584fb0c79\n\
                 \tParent UUID: \t\t9e71f34d-d363-8e4d-be2e-696ff29eef6e\n\
                 \tUUID: \t\t9e71f34d-d363-8e4d-be2e-696ff29eef6e\n"
            ),
            "\tUUID: \t\tUUID1\n\tParent UUID: \t\tUUID2\n\tUUID: \t\tUUID2\n"
        );
    }

    #[test]
    fn rule_btrfs_list_ids() {
        assert_eq!(
            line(
                "btrfs-list-ids",
                "ID 257 gen 9 top level 5 path images/img_54f988aa5ea8/rootfs"
            ),
            "ID N gen G top level 5 path images/img_54f988aa5ea8/rootfs"
        );
    }

    #[test]
    fn rule_btrfs_show_ids() {
        assert_eq!(
            line("btrfs-show-ids", "\tSubvolume ID: \t\t257"),
            "\tSubvolume ID: \t\tN"
        );
        assert_eq!(
            line("btrfs-show-ids", "\tGen at creation: \t7"),
            "\tGen at creation: \tN"
        );
        assert_eq!(
            line("btrfs-show-ids", "\tParent ID: \t\t5"),
            "\tParent ID: \t\t5"
        );
    }

    #[test]
    fn rule_btrfs_show_times() {
        assert_eq!(
            line(
                "btrfs-show-times",
                "\tCreation time: \t\t2026-11-29 12:21:14 +0000"
            ),
            "\tCreation time: \t\tDATE"
        );
        assert_eq!(
            line("btrfs-show-times", "\tReceive time: \t\t-"),
            "\tReceive time: \t\t-"
        );
    }

    #[test]
    fn rule_loop_devices() {
        assert_eq!(
            line(
                "loop-devices",
                "/dev/loop0         1 /tmp/play.img /dev/loop12"
            ),
            "/dev/loopN         1 /tmp/play.img /dev/loopN"
        );
    }

    #[test]
    fn rule_image_ids() {
        assert_eq!(
            line("image-ids", "# bocker run img_68b5a6dd6c31 img_0"),
            "# bocker run img_ID img_0"
        );
    }

    #[test]
    fn rule_container_ids() {
        assert_eq!(
            line(
                "container-ids",
                "8:pids:/bocker/ps_0fca42b83a85 ps_0fca42b83a85x"
            ),
            "8:pids:/bocker/ps_ID ps_0fca42b83a85x"
        );
    }

    #[test]
    fn rule_thread_ids() {
        assert_eq!(
            line("thread-ids", "thread 'the_root_is_the_images_root' (20161) panicked at tests/stage1_chroot.rs:75:15:"),
            "thread 'the_root_is_the_images_root' (TID) panicked at tests/stage1_chroot.rs:75:15:"
        );
    }

    #[test]
    fn rule_time_output() {
        assert_eq!(line("time-output", "real\t0m1.057s"), "real\tTIME");
        assert_eq!(line("time-output", "sys\t0m0.005s"), "sys\tTIME");
    }

    #[test]
    fn rule_test_durations() {
        assert_eq!(
            line(
                "test-durations",
                "test result: ok. 14 passed; 0 failed; finished in 10.11s"
            ),
            "test result: ok. 14 passed; 0 failed; finished in …"
        );
    }

    #[test]
    fn rule_file_dates() {
        assert_eq!(
            line(
                "file-dates",
                "lrwxrwxrwx 1 root root 14 Nov 29 12:20 /tmp/busybox/bin/sh -> ../bin/busybox"
            ),
            "lrwxrwxrwx 1 root root 14 DATE /tmp/busybox/bin/sh -> ../bin/busybox"
        );
        assert_eq!(
            line("file-dates", "-rw-r--r-- 1 root root 7 Dec  1  2025 old"),
            "-rw-r--r-- 1 root root 7 DATE old"
        );
    }

    #[test]
    fn rule_namespace_inodes() {
        assert_eq!(
            line("namespace-inodes", "ipc -> ipc:[4026532251]"),
            "ipc -> ipc:[NSINO]"
        );
        assert_eq!(
            line("namespace-inodes", "12345678901 3026532251"),
            "12345678901 3026532251"
        );
    }

    #[test]
    fn rule_scratch_folder() {
        assert_eq!(
            line(
                "scratch-folder",
                "/var/tmp/bocker-transcripts.a1B2c3/tmp-05-network"
            ),
            "/var/tmp/bocker-transcripts.XXXXXX/tmp-05-network"
        );
    }

    #[test]
    fn rule_mac_addresses() {
        assert_eq!(
            line(
                "mac-addresses",
                "    link/ether 62:5a:8c:9b:84:2b brd ff:ff:ff:ff:ff:ff"
            ),
            "    link/ether MAC brd ff:ff:ff:ff:ff:ff"
        );
    }

    #[test]
    fn rule_veth_names() {
        assert_eq!(
            line(
                "veth-names",
                "9: bkef859b04db29@if2: <BROADCAST> bcef859b04db29 bxef859b04db29"
            ),
            "9: bkID@if2: <BROADCAST> bcID bxef859b04db29"
        );
    }

    #[test]
    fn rule_container_addresses() {
        assert_eq!(
            line(
                "container-addresses",
                "    inet 172.30.108.2/16 brd 172.30.255.255 scope global eth0"
            ),
            "    inet 172.30.X.Y/16 brd 172.30.255.255 scope global eth0"
        );
        assert_eq!(
            line(
                "container-addresses",
                "default via 172.30.0.1 dev eth0; 172.30.0.0/16; 172.30.1.0"
            ),
            "default via 172.30.0.1 dev eth0; 172.30.0.0/16; 172.30.X.Y"
        );
        assert_eq!(
            line(
                "container-addresses",
                "# ip route add 172.30.5.0/24 dev eth0"
            ),
            "# ip route add 172.30.5.0/24 dev eth0"
        );
    }

    #[test]
    fn rule_ping_times() {
        assert_eq!(
            line(
                "ping-times",
                "64 bytes from 172.30.0.1: seq=0 ttl=64 time=0.105 ms"
            ),
            "64 bytes from 172.30.0.1: seq=0 ttl=64 time=T ms"
        );
    }

    #[test]
    fn rule_ping_summary() {
        assert_eq!(
            line(
                "ping-summary",
                "round-trip min/avg/max = 0.078/0.091/0.105 ms"
            ),
            "round-trip min/avg/max = T ms"
        );
    }

    #[test]
    fn rule_proc_pids() {
        assert_eq!(
            line("proc-pids", "# ls -l /proc/27941/ns /proc/self/ns"),
            "# ls -l /proc/PID/ns /proc/self/ns"
        );
    }

    #[test]
    fn rule_record_pids() {
        assert_eq!(
            line("record-pids", r#"  "pid": 27941,"#),
            r#"  "pid": PID,"#
        );
    }

    #[test]
    fn rule_pids_in_commands() {
        assert_eq!(
            only("pids-in-commands", "02-namespaces", "# ps -o pid,ppid,sid,args -p 27940,27941\n27940\n# kill -TERM 27941\n# lsns -p 27941\n"),
            "# ps -o pid,ppid,sid,args -p PIDS\n27940\n# kill -TERM PIDS\n# lsns -p PIDS\n"
        );
    }

    #[test]
    fn rule_lsns_counts() {
        assert_eq!(
            only(
                "lsns-counts",
                "02-namespaces",
                "# lsns -p 27941\n        NS TYPE   NPROCS   PID USER COMMAND\nNSINO time       83     2 root kthreadd\n# cat x\nNSINO time 83 2\n"
            ),
            "# lsns -p 27941\n        NS TYPE   NPROCS   PID USER COMMAND\nNSINO time       N PID root kthreadd\n# cat x\nNSINO time 83 2\n"
        );
    }

    #[test]
    fn rule_ps_pids() {
        assert_eq!(
            only(
                "ps-pids",
                "02-namespaces",
                "# ps -o pid,ppid,sid,args -p 27940,27941\n  PID  PPID   SID COMMAND\n27940     1 27940 bocker run\n27941 27940 27941 sleep 1000\n"
            ),
            "# ps -o pid,ppid,sid,args -p 27940,27941\n  PID  PPID   SID COMMAND\nPID     1 PID bocker run\nPID PID PID sleep 1000\n"
        );
    }

    #[test]
    fn rule_shell_pid() {
        assert_eq!(
            only("shell-pid", "02-namespaces", "# bocker run img_ID 'echo $$'\n27552\n# bocker run box 'echo $$'\n1\n# echo 42\n42\n"),
            "# bocker run img_ID 'echo $$'\nPID\n# bocker run box 'echo $$'\n1\n# echo 42\n42\n"
        );
    }

    #[test]
    fn rule_host_mount_count() {
        assert_eq!(
            only(
                "host-mount-count",
                "03-mounts",
                "# wc -l < /proc/self/mountinfo\n22\n# grep -c book-ch3 /proc/self/mountinfo\n0\n"
            ),
            "# wc -l < /proc/self/mountinfo\nN\n# grep -c book-ch3 /proc/self/mountinfo\n0\n"
        );
    }

    #[test]
    fn rule_sparse_file_blocks() {
        assert_eq!(
            only(
                "sparse-file-blocks",
                "06-btrfs",
                "# du -h /tmp/book-ch6/btrfs.img\n224M\t/tmp/book-ch6/btrfs.img\n"
            ),
            "# du -h /tmp/book-ch6/btrfs.img\nSIZE\t/tmp/book-ch6/btrfs.img\n"
        );
    }

    #[test]
    fn rule_ls_total() {
        assert_eq!(
            only(
                "ls-total",
                "06-btrfs",
                "# ls -lh /tmp/book-ch6\ntotal 224M\n# ls -l\ntotal 8\n"
            ),
            "# ls -lh /tmp/book-ch6\ntotal SIZE\n# ls -l\ntotal 8\n"
        );
    }

    #[test]
    fn rule_btrfs_file_length() {
        assert_eq!(
            only(
                "btrfs-file-length",
                "06-btrfs",
                "# ls -lh /tmp/book-ch6\n-rw------- 1 root root  16G DATE btrfs.img\n-rw------- 1 root root    0 DATE btrfs.lock\n"
            ),
            "# ls -lh /tmp/book-ch6\n-rw------- 1 root root  SIZE DATE btrfs.img\n-rw------- 1 root root    0 DATE btrfs.lock\n"
        );
    }

    #[test]
    fn rule_cgroup_procs() {
        assert_eq!(
            only(
                "cgroup-procs",
                "04-cgroups",
                "# cat cgroup.procs\n29263\n# cat pids.max\n10\n"
            ),
            "# cat cgroup.procs\nPID\n# cat pids.max\n10\n"
        );
    }

    #[test]
    fn rule_cgroup_counts() {
        assert_eq!(
            only("cgroup-counts", "04-cgroups", "# cat /proc/cgroups\n#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t4\t59\t1\n"),
            "# cat /proc/cgroups\n#subsys_name\thierarchy\tnum_cgroups\tenabled\nmemory\t4\tN\t1\n"
        );
    }

    #[test]
    fn rule_stats_usage() {
        assert_eq!(
            only(
                "stats-usage",
                "04-cgroups",
                "# bocker stats --no-stream\nCONTAINER_ID NAME CPU % CPU TIME MEM USAGE / LIMIT MEM PEAK PIDS\n\
                 ps_ID busy 162.4% 1.17s 252.0KiB / - 256.0KiB 2\n\
                 ps_ID limited 0.0% 0.00s 140.0KiB / 128.0MiB 648.0KiB 1\n"
            ),
            "# bocker stats --no-stream\nCONTAINER_ID NAME CPU % CPU TIME MEM USAGE / LIMIT MEM PEAK PIDS\n\
             ps_ID busy N% Ns SIZE / - SIZE 2\n\
             ps_ID limited N% Ns SIZE / 128.0MiB SIZE 1\n"
        );
    }

    #[test]
    fn rule_oom_pid() {
        assert_eq!(
            line(
                "oom-pid",
                "Memory cgroup out of memory: Killed process 29408 (sh)"
            ),
            "Memory cgroup out of memory: Killed process PID (sh)"
        );
    }

    #[test]
    fn rule_column_spaces() {
        assert_eq!(
            line("column-spaces", "ps_ID   sleep 1000     Running\tx"),
            "ps_ID sleep 1000 Running\tx"
        );
    }

    #[test]
    fn rule_trailing_space() {
        assert_eq!(
            line("trailing-space", "default via 172.30.0.1 dev eth0 "),
            "default via 172.30.0.1 dev eth0"
        );
    }

    #[test]
    fn rule_http_dates() {
        assert_eq!(
            only(
                "http-dates",
                "07-registry",
                "Date: Sun, 29 Nov 2026 12:21:24 GMT\n"
            ),
            "Date: DATE\n"
        );
    }

    #[test]
    fn rule_content_lengths() {
        assert_eq!(
            only("content-lengths", "07-registry", "Content-Length: 207\n"),
            "Content-Length: N\n"
        );
    }

    #[test]
    fn rule_descriptor_sizes() {
        assert_eq!(
            only(
                "descriptor-sizes",
                "07-registry",
                "      \"size\": 1088538\n"
            ),
            "      \"size\": N\n"
        );
    }

    #[test]
    fn rule_download_sizes() {
        assert_eq!(
            only(
                "download-sizes",
                "07-registry",
                "7fcbd9e39259: downloading 1.1 MB\n7fcbd9e39259: downloaded\n"
            ),
            "7fcbd9e39259: downloading SIZE\n7fcbd9e39259: downloaded\n"
        );
    }

    #[test]
    fn rule_config_times() {
        assert_eq!(
            only(
                "config-times",
                "07-registry",
                "  \"created\": \"2026-11-29T12:21:23.5764847Z\",\n"
            ),
            "  \"created\": \"TIME\",\n"
        );
    }

    #[test]
    fn rule_record_times() {
        assert_eq!(
            only(
                "record-times",
                "07-registry",
                "  \"created\": 1795954884145771394,\n"
            ),
            "  \"created\": N,\n"
        );
    }

    #[test]
    fn rule_tar_dates() {
        assert_eq!(
            only(
                "tar-dates",
                "07-registry",
                "-rwxr-xr-x 0/0 59 2026-11-29 12:21 bin/hello\n"
            ),
            "-rwxr-xr-x 0/0 59 DATE bin/hello\n"
        );
    }

    #[test]
    fn rule_tar_folders() {
        assert_eq!(
            only(
                "tar-folders",
                "07-registry",
                "# curl -s URL | tar -tzv\ndrwxr-xr-x 0/0 0 DATE bin/\n-rwxr-xr-x 0/0 59 DATE bin/hello\n# ls x/\nbin/\n"
            ),
            "# curl -s URL | tar -tzv\n-rwxr-xr-x 0/0 59 DATE bin/hello\n# ls x/\nbin/\n"
        );
    }

    const WHOLE_A: &str = "7fcbd9e39259170c17a6c8a8738df3609815a1c58789b9ab6232b148c73750b5";
    const WHOLE_B: &str = "99caef6ce6c39d230a9ab726a439630e0c917d5fb0a70a89159ad1c7a8658443";

    #[test]
    fn rule_unordered_output() {
        let text = format!(
            "# bocker pull localhost:5007/hello\n{b}: downloaded\n{a}: downloaded\nCreated: img_ID\n# ls /tmp/book-ch7/blobs/sha256\n{wb}\n{wa}\n# echo {a}\n{a}\n",
            a = &WHOLE_A[..12],
            b = &WHOLE_B[..12],
            wa = WHOLE_A,
            wb = WHOLE_B
        );
        assert_eq!(
            only("unordered-output", "07-registry", &text),
            format!(
                "# bocker pull localhost:5007/hello\nCreated: img_ID\nDIGEST: downloaded\nDIGEST: downloaded\n# ls /tmp/book-ch7/blobs/sha256\nDIGEST\nDIGEST\n# echo {a}\n{a}\n",
                a = &WHOLE_A[..12]
            )
        );
    }

    #[test]
    fn rule_digests() {
        let text = format!(
            "# curl -s -D - http://localhost:5007/v2/hello/blobs/sha256:{wb}\nDocker-Content-Digest: sha256:{wb}\n\
             {a}: applied\n{wa}  -\n# bocker pull localhost:5007/hello\n{wa}\n# echo {b}\n",
            a = &WHOLE_A[..12],
            b = &WHOLE_B[..12],
            wa = WHOLE_A,
            wb = WHOLE_B
        );
        assert_eq!(
            only("digests", "07-registry", &text),
            format!(
                "# curl -s -D - http://localhost:5007/v2/hello/blobs/sha256:DIGEST1\nDocker-Content-Digest: sha256:DIGEST1\n\
                 DIGEST2: applied\nDIGEST2  -\n# bocker pull localhost:5007/hello\n{wa}\n# echo DIGEST1\n",
                wa = WHOLE_A
            )
        );
    }

    #[test]
    fn rule_scratch_file_inode() {
        assert_eq!(
            only(
                "scratch-file-inode",
                "08-security",
                "3203395 /tmp/host-secret\n3688143071 --------------e------- /tmp/host-secret\nNSINO --------------e------- /tmp/host-secret\n"
            ),
            "N /tmp/host-secret\nN --------------e------- /tmp/host-secret\nN --------------e------- /tmp/host-secret\n"
        );
    }

    #[test]
    fn rule_engine_ids() {
        assert_eq!(
            only(
                "engine-ids",
                "10-epilogue",
                "# podman tag 6b504e2bb015 localhost/busybox\nsha256_10b4b288478732b9bc397ea4f039c4816c3cb3f991f902aa12b527a38b97e5fa.mtree\n27e8c5be21ad69cf392deb9a0fd1c609659b1af455b5b456ab62f938e781b490\nunpacking x (sha256:10b4b288478732b9bc397ea4f039c4816c3cb3f991f902aa12b527a38b97e5fa)...done\nc2 sleep 1000\n"
            ),
            "# podman tag ID localhost/busybox\nsha256_ID.mtree\nID\nunpacking x (sha256:ID)...done\nc2 sleep 1000\n"
        );
    }

    #[test]
    fn rule_image_created() {
        assert_eq!(
            only(
                "image-created",
                "10-epilogue",
                "    \"org.opencontainers.image.created\": \"2026-12-07T18:47:46.077826048Z\",\n"
            ),
            "    \"org.opencontainers.image.created\": \"TIME\",\n"
        );
    }

    #[test]
    fn rule_log_times() {
        assert_eq!(
            only(
                "log-times",
                "10-epilogue",
                "time=\"2026-12-07T18:47:50Z\" level=warning msg=\"task c2 exit with non-zero exit code 137\"\n"
            ),
            "time=\"TIME\" level=warning msg=\"task c2 exit with non-zero exit code 137\"\n"
        );
    }

    #[test]
    fn rule_pid_options() {
        assert_eq!(
            only(
                "pid-options",
                "10-epilogue",
                "# ps -o pid,ppid,comm --ppid 6028 -p 6028\n6028\n"
            ),
            "# ps -o pid,ppid,comm --ppid PID -p PID\n6028\n"
        );
    }

    #[test]
    fn rule_engine_pids() {
        assert_eq!(
            only(
                "engine-pids",
                "10-epilogue",
                "# ps -o pid,ppid,comm --ppid 6028 -p 6028\n  PID  PPID COMMAND\n 6028     1 conmon\n 6031  6028 sleep\n# ps -o stat,args -p 6031\nSs   sleep 1000\n"
            ),
            "# ps -o pid,ppid,comm --ppid 6028 -p 6028\n  PID  PPID COMMAND\nPID     1 conmon\nPID  PID sleep\n# ps -o stat,args -p 6031\nSs   sleep 1000\n"
        );
    }

    #[test]
    fn rule_task_pids() {
        assert_eq!(
            only(
                "task-pids",
                "10-epilogue",
                "# ctr task ls\nTASK    PID     STATUS    \nc2      6367    RUNNING\n# echo 6367\n6367\n"
            ),
            "# ctr task ls\nTASK    PID     STATUS    \nc2      PID    RUNNING\n# echo 6367\n6367\n"
        );
    }

    #[test]
    fn chapter_rules_stay_in_their_chapter() {
        let text = "Date: Sun, 29 Nov 2026 12:21:24 GMT\n";
        assert_eq!(normalise("07-registry", text), "Date: DATE\n");
        assert_eq!(normalise("06-btrfs", text), text);
    }

    #[test]
    fn prompts_are_matched_as_typed() {
        // The rule for `echo $$` looks at the prompt as typed, before the
        // image id in it was hidden.
        let text = "# bocker run img_68b5a6dd6c31 'echo $$'\n27552\n";
        assert_eq!(
            normalise("02-namespaces", text),
            "# bocker run img_ID 'echo $$'\nPID\n"
        );
    }

    #[test]
    fn a_whole_transcript() {
        let text = "\
# bocker ps
CONTAINER_ID      COMMAND        STATUS       NAME
ps_9a929f051b16   echo $$        Exited (0)
ps_4dd29aab9986   sleep 1000     Running      sleeper
# ls -l /proc/27941/ns
lrwxrwxrwx 1 root root 0 Nov 29 12:20 ipc -> ipc:[4026532251]
";
        assert_eq!(
            normalise("02-namespaces", text),
            "\
# bocker ps
CONTAINER_ID COMMAND STATUS NAME
ps_ID echo $$ Exited (0)
ps_ID sleep 1000 Running sleeper
# ls -l /proc/PID/ns
lrwxrwxrwx 1 root root 0 DATE ipc -> ipc:[NSINO]
"
        );
    }

    #[test]
    fn a_registry_transcript_numbers_in_order_and_sorts_what_is_unordered() {
        let text = format!(
            "# skopeo copy oci:/tmp/oci:hello docker://localhost:5007/hello\nCopying blob sha256:{wb}\nCopying blob sha256:{wa}\n\
             # bocker pull localhost:5007/hello\n{b}: downloading 207 B\n{a}: downloading 1.1 MB\n\
             # jq . /tmp/manifest.json\n      \"digest\": \"sha256:{wa}\",\n      \"size\": 1088538\n      \"digest\": \"sha256:{wb}\",\n",
            a = &WHOLE_A[..12],
            b = &WHOLE_B[..12],
            wa = WHOLE_A,
            wb = WHOLE_B
        );
        assert_eq!(
            normalise("07-registry", &text),
            "# skopeo copy oci:/tmp/oci:hello docker://localhost:5007/hello\nCopying blob sha256:DIGEST\nCopying blob sha256:DIGEST\n\
             # bocker pull localhost:5007/hello\nDIGEST: downloading SIZE\nDIGEST: downloading SIZE\n\
             # jq . /tmp/manifest.json\n \"digest\": \"sha256:DIGEST1\",\n \"size\": N\n \"digest\": \"sha256:DIGEST2\",\n"
        );
    }
}
