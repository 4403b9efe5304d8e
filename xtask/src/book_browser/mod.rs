//! `cargo xtask book-browser`: the built book, checked in a real browser.
//!
//! It builds the book with mdbook (into target/book-browser/site), serves
//! it on 127.0.0.1 (server.rs) and drives Debian's headless Chromium through
//! the DevTools protocol (the headless_chrome crate). For every page that
//! SUMMARY.md names it checks:
//!
//! * no console error, no uncaught exception, no failed request;
//! * every `<details>` fold opens when its summary is clicked, and what it
//!   holds then takes room on the page;
//! * in every code block with box-drawing characters or arrows, each line
//!   is as wide as its characters times the width of one character (a glyph
//!   from a fallback font, or a double-width one, breaks the drawing);
//! * no table is wider than the content column.
//!
//! Then mdBook's search box, given a word of each chapter's title, lists
//! that chapter's page; and screenshots of two pages are saved in
//! target/book-browser/ and must be neither blank nor tiny. The checks
//! that run in the page are in page.js.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use headless_chrome::protocol::cdp::types::Event;
use headless_chrome::protocol::cdp::{Network, Page};
use headless_chrome::{Browser, LaunchOptions, Tab};

mod server;
mod summary;

const PAGE_JS: &str = include_str!("page.js");

#[derive(clap::Args)]
pub struct Args {
    /// The book's folder (with book.toml); default: the repository's book/.
    #[arg(long)]
    book: Option<PathBuf>,
    /// Where the site, the screenshots and the report go; default:
    /// target/book-browser in the repository.
    #[arg(long)]
    out: Option<PathBuf>,
    /// A page to screenshot, as SUMMARY.md names it (repeat for more).
    /// Default: introduction.md and 02-namespaces/README.md.
    #[arg(long = "screenshot", value_name = "PAGE.md")]
    screenshots: Vec<String>,
    /// The word to search for a chapter, as PAGE.md=WORD (repeat for more);
    /// by default the longest word of the chapter's title.
    #[arg(long = "search-term", value_name = "PAGE.md=WORD")]
    search_terms: Vec<String>,
    /// The Chromium binary; default: $BOOK_BROWSER_CHROMIUM, Debian's
    /// /usr/lib/chromium/chromium, or chromium on the PATH.
    #[arg(long)]
    chromium: Option<PathBuf>,
}

/// One problem found: which check, where, and what.
struct Problem {
    check: &'static str,
    page: String,
    message: String,
}

/// Runs every check; Ok(false) when some failed.
pub fn run(args: &Args) -> Result<bool> {
    let started = Instant::now();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("the repository is xtask's parent")?;
    let book = args.book.clone().unwrap_or_else(|| repo.join("book"));
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| repo.join("target/book-browser"));
    let site = out.join("site");
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;

    let status = Command::new("mdbook")
        .arg("build")
        .arg(&book)
        .arg("--dest-dir")
        .arg(std::path::absolute(&site)?)
        .output()
        .context("running mdbook (scripts/install-deps.sh --with-book installs it)")?;
    if !status.status.success() {
        bail!(
            "mdbook build {} failed:\n{}",
            book.display(),
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let pages = summary::pages(&book)?;
    if pages.is_empty() {
        bail!("SUMMARY.md of {} names no page", book.display());
    }
    let built = started.elapsed();

    let server = server::Server::start(&site)?;
    let base = format!("http://127.0.0.1:{}/", server.port);

    let chromium = chromium(args)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    // Chromium's profile: in `out`, made fresh, removed at the end (the
    // crate's own temporary one is sometimes left in /tmp when Chromium's
    // helpers still write to it as it is removed).
    let profile = std::path::absolute(out.join("chromium-profile"))?;
    let _ = std::fs::remove_dir_all(&profile);
    let options = LaunchOptions::default_builder()
        .path(Some(chromium.clone()))
        .user_data_dir(Some(profile.clone()))
        // Chromium refuses to run as root with its sandbox on.
        .sandbox(!root)
        .window_size(Some((1280, 900)))
        .idle_browser_timeout(Duration::from_secs(120))
        .args(vec![
            std::ffi::OsStr::new("--disable-gpu"),
            std::ffi::OsStr::new("--lang=en-US"),
        ])
        .build()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let browser = Browser::new(options)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .with_context(|| format!("starting {}", chromium.display()))?;
    let tab = browser.new_tab().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    tab.set_default_timeout(Duration::from_secs(20));
    let events = listen(&tab)?;
    let launched = started.elapsed();

    let mut problems = Vec::new();
    // What was looked at: folds opened, lines of box drawings measured...
    let mut counts: HashMap<String, u64> = HashMap::new();
    let screenshots = if args.screenshots.is_empty() {
        vec![
            "introduction.md".to_string(),
            "02-namespaces/README.md".to_string(),
        ]
    } else {
        args.screenshots.clone()
    };
    for wanted in &screenshots {
        if !pages.iter().any(|page| &page.source == wanted) {
            problems.push(Problem {
                check: "screenshots",
                page: wanted.clone(),
                message: "is not a page of SUMMARY.md: no screenshot of it".into(),
            });
        }
    }

    for page in &pages {
        let html = page.html();
        let url = format!("{base}{html}");
        events.lock().unwrap().clear();
        open(&tab, &url)?;
        if screenshots.contains(&page.source) {
            // The page as a reader sees it: with its web fonts in.
            tab.evaluate("document.fonts.ready.then(() => true)", true)
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            let name = page.source.trim_end_matches(".md").replace('/', "-");
            let file = out.join(format!("{name}.png"));
            let png = tab
                .capture_screenshot(Page::CaptureScreenshotFormatOption::Png, None, None, true)
                .map_err(|e| anyhow::anyhow!("{e:#}"))?;
            std::fs::write(&file, &png)?;
            if let Err(why) = screenshot_is_a_page(&png) {
                problems.push(Problem {
                    check: "screenshots",
                    page: html.clone(),
                    message: format!("{}: {why}", file.display()),
                });
            }
        }
        let found = evaluate(&tab, "bookBrowserChecks()")?;
        let found: serde_json::Value = serde_json::from_str(&found)?;
        for (what, count) in found["counts"].as_object().into_iter().flatten() {
            *counts.entry(what.clone()).or_default() += count.as_u64().unwrap_or(0);
        }
        for problem in found["problems"].as_array().into_iter().flatten() {
            let check = match problem["check"].as_str() {
                Some("folds") => "folds",
                Some("boxes") => "box drawings",
                _ => "tables",
            };
            problems.push(Problem {
                check,
                page: html.clone(),
                message: problem["message"].as_str().unwrap_or("?").to_string(),
            });
        }
        // Late messages (a failed font, a timer's error) have a moment
        // to arrive.
        std::thread::sleep(Duration::from_millis(50));
        for message in events.lock().unwrap().drain(..) {
            problems.push(Problem {
                check: "console and requests",
                page: html.clone(),
                message,
            });
        }
        for failure in server.failures.lock().unwrap().drain(..) {
            problems.push(Problem {
                check: "console and requests",
                page: html.clone(),
                message: format!("the server answered {failure}"),
            });
        }
    }
    let checked = started.elapsed();

    // Search: from the first page, a word of each chapter's title.
    let overrides: HashMap<&str, &str> = args
        .search_terms
        .iter()
        .filter_map(|pair| pair.split_once('='))
        .collect();
    let chapters: Vec<_> = pages.iter().filter(|page| page.top_level).collect();
    let terms: Vec<String> = chapters
        .iter()
        .map(|page| {
            overrides
                .get(page.source.as_str())
                .map(|term| term.to_string())
                .unwrap_or_else(|| page.search_term())
        })
        .collect();
    open(&tab, &format!("{base}{}", pages[0].html()))?;
    let call = format!("bookBrowserSearch({})", serde_json::to_string(&terms)?);
    let answer: serde_json::Value = serde_json::from_str(&evaluate(&tab, &call)?)?;
    if let Some(error) = answer["error"].as_str() {
        problems.push(Problem {
            check: "search",
            page: pages[0].html(),
            message: error.to_string(),
        });
    } else {
        for (page, term) in chapters.iter().zip(&terms) {
            let results: Vec<&str> = answer["found"][term]
                .as_array()
                .map(|list| list.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            if !results.contains(&page.html().as_str()) {
                let mut listed: Vec<&str> = Vec::new();
                for result in &results {
                    if !listed.contains(result) {
                        listed.push(result);
                    }
                }
                problems.push(Problem {
                    check: "search",
                    page: page.html(),
                    message: format!(
                        "searching \"{term}\" does not list this page ({} results{}{}); \
                         pass --search-term {}=WORD for a better word",
                        results.len(),
                        if listed.is_empty() { "" } else { ": " },
                        listed.join(", "),
                        page.source
                    ),
                });
            }
        }
    }
    let searched = started.elapsed();
    // Close Chromium as a user would, then let the crate end the process.
    let _ = tab.call_method(headless_chrome::protocol::cdp::Browser::Close(None));
    drop(tab);
    drop(browser);
    for _ in 0..50 {
        if std::fs::remove_dir_all(&profile).is_ok() || !profile.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let count = |what: &str| counts.get(what).copied().unwrap_or(0);
    let checks = [
        ("console and requests", format!("{} pages", pages.len())),
        ("folds", format!("{} opened", count("folds"))),
        ("box drawings", format!("{} lines measured", count("lines"))),
        ("tables", format!("{} measured", count("tables"))),
        ("search", format!("{} chapters searched", chapters.len())),
        ("screenshots", format!("{} taken", screenshots.len())),
    ];
    println!(
        "book-browser: {} pages of {} in {} ({}), search for {} chapters",
        pages.len(),
        book.display(),
        chromium.display(),
        base,
        chapters.len()
    );
    for (check, looked_at) in checks {
        let mine: Vec<&Problem> = problems.iter().filter(|p| p.check == check).collect();
        if mine.is_empty() {
            println!("ok    {check} ({looked_at})");
        } else {
            println!("FAIL  {check}: {} problem(s)", mine.len());
            for problem in mine {
                println!("      {}: {}", problem.page, problem.message);
            }
        }
    }
    println!(
        "book-browser: built in {:.1}s, Chromium up at {:.1}s, pages checked at {:.1}s, \
         search done at {:.1}s; screenshots in {}",
        built.as_secs_f64(),
        launched.as_secs_f64(),
        checked.as_secs_f64(),
        searched.as_secs_f64(),
        out.display()
    );
    Ok(problems.is_empty())
}

/// Opens `url` in the tab and waits for its `load` event (its scripts have
/// run, its styles and images are in). headless_chrome's own
/// wait_until_navigated waits for the network to be quiet for 500 ms more:
/// this is twice as fast.
fn open(tab: &Tab, url: &str) -> Result<()> {
    tab.navigate_to(url)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .with_context(|| format!("opening {url}"))?;
    let loaded = format!(
        "location.href === {} && document.readyState === 'complete'",
        serde_json::to_string(url)?
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        // While the page changes, an evaluation may fail: try again.
        if let Ok(result) = tab.evaluate(&loaded, false) {
            if result.value == Some(serde_json::Value::Bool(true)) {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("{url} did not load within 30 s")
}

/// Evaluates `call` (a call of a function in page.js) in the tab's page and
/// returns the string it resolves to.
fn evaluate(tab: &Tab, call: &str) -> Result<String> {
    let script = format!("{PAGE_JS}\n{call}");
    let result = tab
        .evaluate(&script, true)
        .map_err(|e| anyhow::anyhow!("{e:#}"))
        .with_context(|| format!("running {call} in the page"))?;
    match result.value {
        Some(serde_json::Value::String(text)) => Ok(text),
        _ => bail!(
            "{call} in the page gave no string: {}",
            result.description.unwrap_or_default()
        ),
    }
}

/// Collects, from now on, the console's errors, uncaught exceptions and
/// failed requests of the tab, as messages.
fn listen(tab: &Arc<Tab>) -> Result<Arc<Mutex<Vec<String>>>> {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let urls: Arc<Mutex<HashMap<String, String>>> = Arc::default();
    let sink = Arc::clone(&messages);
    tab.add_event_listener(Arc::new(move |event: &Event| {
        let message = match event {
            Event::NetworkRequestWillBeSent(sent) => {
                urls.lock().unwrap().insert(
                    sent.params.request_id.clone(),
                    sent.params.request.url.clone(),
                );
                None
            }
            Event::NetworkResponseReceived(received) if received.params.response.status >= 400 => {
                Some(format!(
                    "request failed: {} ({} {})",
                    received.params.response.url,
                    received.params.response.status,
                    received.params.response.status_text
                ))
            }
            Event::NetworkLoadingFailed(failed) => {
                let url = urls
                    .lock()
                    .unwrap()
                    .get(&failed.params.request_id)
                    .cloned()
                    .unwrap_or_else(|| "?".into());
                Some(format!("request failed: {url} ({})", failed.params.error_text))
            }
            Event::RuntimeExceptionThrown(thrown) => {
                let details = &thrown.params.exception_details;
                let what = details
                    .exception
                    .as_ref()
                    .and_then(|e| e.description.clone())
                    .unwrap_or_else(|| details.text.clone());
                Some(format!(
                    "uncaught exception at line {}: {}",
                    details.line_number + 1,
                    what.lines().next().unwrap_or("")
                ))
            }
            Event::RuntimeConsoleAPICalled(called)
                if matches!(
                    called.params.Type,
                    headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption::Error
                        | headless_chrome::protocol::cdp::Runtime::ConsoleAPICalledEventTypeOption::Assert
                ) =>
            {
                let words: Vec<String> = called
                    .params
                    .args
                    .iter()
                    .map(|arg| match &arg.value {
                        Some(serde_json::Value::String(text)) => text.clone(),
                        Some(value) => value.to_string(),
                        None => arg.description.clone().unwrap_or_default(),
                    })
                    .collect();
                Some(format!("console error: {}", words.join(" ")))
            }
            Event::LogEntryAdded(added)
                if matches!(
                    added.params.entry.level,
                    headless_chrome::protocol::cdp::Log::LogEntryLevel::Error
                ) && !matches!(
                    added.params.entry.source,
                    headless_chrome::protocol::cdp::Log::LogEntrySource::Network
                        | headless_chrome::protocol::cdp::Log::LogEntrySource::Javascript
                ) =>
            {
                Some(format!("browser error: {}", added.params.entry.text))
            }
            _ => None,
        };
        if let Some(message) = message {
            sink.lock().unwrap().push(message);
        }
    }))
    .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    tab.call_method(Network::Enable {
        max_total_buffer_size: None,
        max_resource_buffer_size: None,
        max_post_data_size: None,
        report_direct_socket_traffic: None,
        enable_durable_messages: None,
    })
    .map_err(|e| anyhow::anyhow!("{e:#}"))?;
    tab.enable_runtime().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    tab.enable_log().map_err(|e| anyhow::anyhow!("{e:#}"))?;
    Ok(messages)
}

/// Which Chromium to drive.
fn chromium(args: &Args) -> Result<PathBuf> {
    if let Some(path) = &args.chromium {
        return Ok(path.clone());
    }
    if let Some(path) = std::env::var_os("BOOK_BROWSER_CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    // Debian's /usr/bin/chromium is a shell script around this binary.
    let debian = Path::new("/usr/lib/chromium/chromium");
    if debian.is_file() {
        return Ok(debian.to_path_buf());
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    bail!("no Chromium found: apt-get install chromium (scripts/install-deps.sh --with-book), or pass --chromium PATH")
}

/// A screenshot of a page shows the page: at least 800×600 pixels, and not
/// one colour (the spread of its grey levels, and the share of pixels that
/// differ from the most common one, are above small thresholds).
fn screenshot_is_a_page(png: &[u8]) -> std::result::Result<(), String> {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().map_err(|e| format!("not a PNG: {e}"))?;
    let mut pixels = vec![0; reader.output_buffer_size().unwrap_or(0)];
    let info = reader
        .next_frame(&mut pixels)
        .map_err(|e| format!("not a PNG: {e}"))?;
    let (width, height) = (info.width, info.height);
    if width < 800 || height < 600 {
        return Err(format!("{width}×{height} pixels: smaller than 800×600"));
    }
    let channels = info.color_type.samples();
    let mut histogram = [0u64; 256];
    for pixel in pixels[..info.buffer_size()].chunks(channels) {
        let grey = if channels >= 3 {
            (u32::from(pixel[0]) * 299 + u32::from(pixel[1]) * 587 + u32::from(pixel[2]) * 114)
                / 1000
        } else {
            u32::from(pixel[0])
        };
        histogram[grey as usize] += 1;
    }
    let total: u64 = histogram.iter().sum();
    let mean: f64 = histogram
        .iter()
        .enumerate()
        .map(|(grey, n)| grey as f64 * *n as f64)
        .sum::<f64>()
        / total as f64;
    let variance: f64 = histogram
        .iter()
        .enumerate()
        .map(|(grey, n)| (grey as f64 - mean).powi(2) * *n as f64)
        .sum::<f64>()
        / total as f64;
    let most = *histogram.iter().max().unwrap_or(&0);
    let other = 1.0 - most as f64 / total as f64;
    if variance < 100.0 || other < 0.02 {
        return Err(format!(
            "looks blank: grey-level variance {variance:.0} (at least 100 wanted), \
             {:.1}% of pixels differ from the background (at least 2% wanted)",
            other * 100.0
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(width: u32, height: u32, paint: impl Fn(u32, u32) -> u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| paint(x, y))
            .collect();
        writer.write_image_data(&data).unwrap();
        drop(writer);
        out
    }

    #[test]
    fn a_blank_or_tiny_screenshot_is_refused_and_a_page_is_not() {
        let blank = png_of(1280, 900, |_, _| 255);
        assert!(screenshot_is_a_page(&blank).unwrap_err().contains("blank"));
        let tiny = png_of(100, 50, |x, _| (x * 2) as u8);
        assert!(screenshot_is_a_page(&tiny).unwrap_err().contains("smaller"));
        // White with lines of dark "text" on a tenth of it.
        let page = png_of(
            1280,
            900,
            |x, y| if y % 20 < 2 && x % 7 < 5 { 30 } else { 255 },
        );
        assert_eq!(screenshot_is_a_page(&page), Ok(()));
    }
}
