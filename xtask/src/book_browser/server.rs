//! A small static file server for the built book, on 127.0.0.1 and a port
//! the kernel picks. GET and HEAD only, one thread per connection, every
//! response closes its connection. It remembers each request it could not
//! serve, so that a missing file is a failure even when the browser says
//! nothing about it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, Result};

pub struct Server {
    pub port: u16,
    /// "404 /path" for every request not answered with a file.
    pub failures: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Serves `root` until the process ends.
    pub fn start(root: &Path) -> Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let failures = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let failed = Arc::clone(&failures);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let root = root.clone();
                let failed = Arc::clone(&failed);
                thread::spawn(move || {
                    // A client that hangs up halfway is its own business.
                    let _ = serve(stream, &root, &failed);
                });
            }
        });
        Ok(Server { port, failures })
    }
}

fn serve(stream: TcpStream, root: &Path, failures: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    // The headers: read and ignored.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
    }
    let mut words = request.split_whitespace();
    let method = words.next().unwrap_or("");
    let target = words.next().unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let (status, kind, body) = match (method, file_for(root, path)) {
        ("GET" | "HEAD", Some(file)) => match std::fs::read(&file) {
            Ok(body) => ("200 OK", content_type(&file), body),
            Err(_) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        },
        ("GET" | "HEAD", None) => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
        _ => ("405 Method Not Allowed", "text/plain", Vec::new()),
    };
    if !status.starts_with("200") {
        let code = status.split(' ').next().unwrap_or(status);
        failures.lock().unwrap().push(format!("{code} {path}"));
    }
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()
}

/// The file a URL path names under `root`, if it is there (no `..`).
fn file_for(root: &Path, path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(path)?;
    let relative = Path::new(decoded.trim_start_matches('/'));
    if relative
        .components()
        .any(|part| !matches!(part, Component::Normal(_)))
    {
        return None;
    }
    let mut file = root.join(relative);
    if file.is_dir() {
        file = file.join("index.html");
    }
    file.is_file().then_some(file)
}

fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_climbs_out_of_the_book_is_not_served() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert!(file_for(root, "/Cargo.toml").is_some());
        assert!(file_for(root, "/../Cargo.toml").is_none());
        assert!(file_for(root, "/src/%2e%2e/Cargo.toml").is_none());
        assert_eq!(percent_decode("/a%20b").as_deref(), Some("/a b"));
    }
}
