//! Chapter 5's optional exercise — NAT (chapters/05-network/extra.md). Run
//! with `cargo test --features stage5,extra5 extra5_nat`.
//!
//! As in `stage5_network.rs`, bocker runs in a network namespace the test
//! made, which plays the host (192.0.2.1 on `host0`). Some tests add
//! another machine: a second namespace of the test's own that takes the
//! other end of the test host's link, `host1`, with 192.0.2.2. Packets go
//! only between containers, those two namespaces and the bridge.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{self, idea, text, Hint, TestEnv};

/// No pointer to chapter 5's `network.rs`: an unfinished `extra_nat.rs`
/// names itself in bocker's own message.
const HINT: Hint = Hint::NONE;
/// The other machine's address, on the test host's link.
const OTHER_ADDRESS: &str = "192.0.2.2";

/// `run -d ARGS…`; the container id.
#[track_caller]
fn start(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["run", "-d"];
    all.extend_from_slice(args);
    text(&env.bocker_ok(&all, HINT).stdout).trim().to_string()
}

/// The address bocker recorded for container `id`.
fn address_of(env: &TestEnv, id: &str) -> Ipv4Addr {
    env.record(id)
        .and_then(|r| r["address"].as_str().map(str::to_string))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address recorded for {id}"))
}

/// The test host's rules of `table`, as `iptables -t TABLE -S` prints them.
fn rules(env: &TestEnv, table: &str) -> String {
    text(
        &env.in_test_host(&["iptables", "-w", "-t", table, "-S"])
            .stdout,
    )
}

/// Connect to `address`:`port` until something answers (or 5 s pass);
/// what it sent, or "".
fn fetch(address: &str, port: u16) -> String {
    let address: SocketAddr = format!("{address}:{port}").parse().unwrap();
    for _ in 0..25 {
        if let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) {
            stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer);
            if !answer.is_empty() {
                return answer;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    String::new()
}

/// Another machine on the test host's link: a network namespace of the
/// test's own, kept alive by a `sleep`, with the test host's `host1` moved
/// into it and the address 192.0.2.2/24. It has no route to the
/// containers' subnet: only the test host's own address is known to it.
struct OtherMachine {
    holder: Child,
    namespace: OwnedFd,
}

impl OtherMachine {
    fn new(env: &TestEnv) -> OtherMachine {
        let holder = Command::new("unshare")
            .args(["--net", "sleep", "infinity"])
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start `unshare --net` (util-linux)");
        let own = std::fs::read_link("/proc/self/ns/net").unwrap();
        let path = format!("/proc/{}/ns/net", holder.id());
        for _ in 0..200 {
            if std::fs::read_link(&path).is_ok_and(|ns| ns != own)
                && std::fs::read_to_string(format!("/proc/{}/comm", holder.id()))
                    .is_ok_and(|c| c.trim() == "sleep")
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let namespace: OwnedFd = std::fs::File::open(&path).unwrap().into();
        let other = OtherMachine { holder, namespace };
        let pid = other.holder.id().to_string();
        env.in_test_host_ok(&["ip", "link", "set", "host1", "netns", &pid]);
        for setup in [
            &["ip", "link", "set", "lo", "up"][..],
            &["ip", "addr", "add", "192.0.2.2/24", "dev", "host1"],
            &["ip", "link", "set", "host1", "up"],
        ] {
            let out = Command::new("nsenter")
                .arg(format!("--net={path}"))
                .args(setup)
                .output()
                .expect("cannot run nsenter (util-linux)");
            assert!(out.status.success(), "{setup:?}: {}", text(&out.stderr));
        }
        other
    }

    /// Run `work` on a thread in the other machine's network namespace.
    fn thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let namespace = self.namespace.try_clone().unwrap();
        std::thread::spawn(move || {
            nix::sched::setns(&namespace, nix::sched::CloneFlags::CLONE_NEWNET)
                .expect("cannot join the other machine's network namespace");
            work()
        })
    }
}

impl Drop for OtherMachine {
    fn drop(&mut self) {
        let _ = self.holder.kill();
        let _ = self.holder.wait();
    }
}

#[test]
fn a_published_port_reaches_the_container_from_the_test_host() {
    let _idea = idea(
        "A DNAT rule in the nat table's OUTPUT chain sends the host's own connection to its published port on to the container's address and port.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let id = start(
        &env,
        &[
            "--name",
            "web",
            "-p",
            "8080:9000",
            &image,
            "nc -l -p 9000 -e echo published",
        ],
    );
    let ps = text(&env.run_bocker(&["ps"]).stdout);
    let port = text(&env.run_bocker(&["port", "web"]).stdout);
    // From the test host to its own address: the OUTPUT chain's DNAT.
    let answer = env.in_test_host_thread(|| fetch(support::TEST_HOST_ADDRESS, 8080));
    env.stop(&id);
    assert_eq!(
        answer,
        "published\n",
        "a connection from the test host to its own port 8080 should reach the container's port 9000 (OUTPUT, --to-destination ADDRESS:9000)\n{}",
        rules(&env, "nat")
    );
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&id) && l.contains("8080->9000/tcp")),
        "ps should show the port:\n{ps}"
    );
    assert_eq!(port, "9000/tcp -> 0.0.0.0:8080\n", "bocker port web");
    env.assert_no_leaks();
}

#[test]
fn a_published_port_reaches_the_container_from_another_machine() {
    let _idea = idea(
        "A DNAT rule in the nat table's PREROUTING chain sends a connection that arrives from another machine for the host's published port on to the container.",
    );
    let env = TestEnv::with_network();
    let other = OtherMachine::new(&env);
    let image = env.busybox_image();
    let id = start(
        &env,
        &[
            "-p",
            "8090:9000",
            &image,
            "nc -l -p 9000 -e echo from the container",
        ],
    );
    let answer = other
        .thread(|| fetch(support::TEST_HOST_ADDRESS, 8090))
        .join()
        .unwrap();
    env.stop(&id);
    assert_eq!(
        answer,
        "from the container\n",
        "a connection from {OTHER_ADDRESS} to the test host's port 8090 should reach the container's port 9000 (PREROUTING)\n{}",
        rules(&env, "nat")
    );
    drop(other);
    env.assert_no_leaks();
}

#[test]
fn a_container_reaches_another_machine_under_the_hosts_address() {
    let _idea = idea(
        "MASQUERADE in POSTROUTING gives what a container sends beyond the host the host's own address as source, so another machine that knows nothing of the containers' subnet can answer.",
    );
    let env = TestEnv::with_network();
    let other = OtherMachine::new(&env);
    let image = env.busybox_image();
    // The other machine listens, and says who connected.
    let (ready, listening) = std::sync::mpsc::channel();
    let listener = other.thread(move || {
        let socket =
            TcpListener::bind((OTHER_ADDRESS, 9100)).expect("cannot listen on 192.0.2.2:9100");
        socket.set_nonblocking(true).unwrap();
        ready.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok((mut stream, peer)) = socket.accept() {
                let _ = stream.write_all(b"hello\n");
                return Some(peer.ip().to_string());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    });
    listening.recv().unwrap();
    let out = env.run_bocker(&[
        "run",
        "--rm",
        &image,
        &format!("for i in 1 2 3 4 5; do nc -w 2 {OTHER_ADDRESS} 9100 </dev/null && exit 0; sleep 0.2; done; exit 1"),
    ]);
    let peer = listener.join().unwrap();
    assert_eq!(
        peer.as_deref(),
        Some(support::TEST_HOST_ADDRESS),
        "{OTHER_ADDRESS} should see the container's connection come from the test host's address (MASQUERADE in POSTROUTING, for the containers' subnet)\n{}\n{}",
        support::describe(&out),
        rules(&env, "nat")
    );
    assert_eq!(
        text(&out.stdout),
        "hello\n",
        "the other machine's answer should reach the container"
    );
    drop(other);
    env.assert_no_leaks();
}

#[test]
fn the_nat_rules_match_only_what_they_should() {
    let _idea = idea(
        "MASQUERADE matches only packets from the containers' subnet that leave by another interface than the bridge; DNAT only packets for the host's own addresses, in PREROUTING and OUTPUT.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let id = start(&env, &["-p", "8081:80", &image, "sleep", "1000"]);
    let address = address_of(&env, &id);
    let nat = rules(&env, "nat");
    env.stop(&id);
    let words =
        |line: &str| -> Vec<String> { line.split_whitespace().map(str::to_string).collect() };
    let has = |line: &[String], seq: &[&str]| line.windows(seq.len()).any(|w| w == seq);
    let masquerade: Vec<Vec<String>> = nat
        .lines()
        .map(words)
        .filter(|w| has(w, &["-j", "MASQUERADE"]))
        .collect();
    assert!(
        masquerade.len() == 1
            && has(&masquerade[0], &["-A", "POSTROUTING"])
            && has(&masquerade[0], &["-s", "172.30.0.0/16"])
            && has(&masquerade[0], &["!", "-o", "bocker0"]),
        "one MASQUERADE rule, in POSTROUTING, for -s 172.30.0.0/16 and ! -o bocker0 (not every packet, not those between containers):\n{nat}"
    );
    let to = format!("{address}:80");
    for chain in ["PREROUTING", "OUTPUT"] {
        let dnat: Vec<Vec<String>> = nat
            .lines()
            .map(words)
            .filter(|w| has(w, &["-A", chain]) && has(w, &["-j", "DNAT"]))
            .collect();
        assert!(
            dnat.len() == 1
                && has(&dnat[0], &["-p", "tcp"])
                && has(&dnat[0], &["--dst-type", "LOCAL"])
                && has(&dnat[0], &["--dport", "8081"])
                && has(&dnat[0], &["--to-destination", to.as_str()]),
            "one DNAT rule in {chain}: -p tcp, -m addrtype --dst-type LOCAL, --dport 8081, --to-destination {to}:\n{nat}"
        );
    }
    env.assert_no_leaks();
}

#[test]
fn nat_rules_exist_while_needed_and_are_gone_after() {
    let _idea = idea(
        "The nat table holds the way out while a container runs on the bridge and a published port's DNAT while its container runs; once no container runs, no rule of bocker's is left.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let id = start(&env, &["-p", "8081:80", &image, "sleep", "1000"]);
    let nat = rules(&env, "nat");
    assert!(
        nat.lines().any(|l| l.contains("MASQUERADE")
            && l.contains("172.30.0.0/16")
            && l.contains("bocker:bocker0")),
        "a MASQUERADE rule for the subnet should exist while a container runs:\n{nat}"
    );
    let address = address_of(&env, &id);
    assert!(
        nat.lines()
            .any(|l| l.contains("DNAT") && l.contains(&format!("{address}:80")) && l.contains(&id)),
        "a DNAT rule for -p 8081:80 should exist:\n{nat}"
    );
    env.stop(&id);
    let after = format!("{}{}", rules(&env, "nat"), rules(&env, "filter"));
    assert!(
        !after.contains("bocker:"),
        "bocker's rules should be gone once no container runs:\n{after}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_killed_run_with_a_published_port_leaves_no_rule_once_swept() {
    let _idea = idea(
        "The DNAT rules of a run killed with SIGKILL are removed by the next bocker command's sweep.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let mut running = env.spawn_bocker(&["run", "-p", "8082:80", &image, "sleep", "1000"]);
    let pid = env.wait_for_pid(&mut running, HINT);
    // The rules come with the network, as the container starts.
    let mut published = rules(&env, "nat");
    for _ in 0..100 {
        if published.contains("DNAT") {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        published = rules(&env, "nat");
    }
    running.kill().unwrap();
    running.wait().unwrap();
    support::wait_until_gone(pid);
    env.bocker_ok(&["ps"], HINT);
    let nat = rules(&env, "nat");
    assert!(
        published.contains("DNAT"),
        "the run should have published its port before it was killed:\n{published}"
    );
    assert!(
        !nat.contains("bocker:"),
        "rules of a killed run remain after the sweep:\n{nat}"
    );
    env.assert_no_leaks();
}
