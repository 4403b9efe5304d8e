//! Chapter 5 — network. Run with `cargo test --features stage5` (with the
//! frame's tests and the earlier chapters'), or this file's alone: `cargo
//! test --features stage5 stage5_network`.
//!
//! Every test here runs bocker inside a network namespace of its own,
//! made by the test support, which plays the host: its bridge, veth pairs
//! and NAT rules vanish with it. Packets go only between containers, that
//! namespace and its bridge: never to another address.
//!
//! Published ports and the way beyond the host (NAT) are the optional
//! exercise's: their tests are in `extra5_nat.rs` (feature `extra5`).

use std::io::Read;
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use crate::support::{self, assert_success, describe, idea, list_dir, text, Hint, TestEnv};

const HINT: Hint = Hint::chapter(5);
const GATEWAY: &str = "172.30.0.1";

/// `bocker run ARGS…`, which must succeed; its stdout.
#[track_caller]
fn run_ok(env: &TestEnv, args: &[&str]) -> String {
    text(&env.run_ok(args, HINT).stdout)
}

/// `run -d ARGS…`; the container id.
#[track_caller]
fn start(env: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["-d"];
    all.extend_from_slice(args);
    run_ok(env, &all).trim().to_string()
}

/// The address bocker recorded for container `id`.
fn address_of(env: &TestEnv, id: &str) -> Ipv4Addr {
    env.record(id)
        .and_then(|r| r["address"].as_str().map(str::to_string))
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address recorded for {id}"))
}

/// The link names in `ip -o link` output ("1: lo: <LOOPBACK,UP…").
fn link_names(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter_map(|l| l.split(':').nth(1))
        .map(str::trim)
        .collect()
}

/// The IPv4 address and prefix of `eth0` in `ip -o -4 addr` output.
fn eth0_address(listing: &str) -> Option<(Ipv4Addr, u8)> {
    let line = listing.lines().find(|l| l.contains(" eth0 "))?;
    let cidr = line
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    let (address, prefix) = cidr.split_once('/')?;
    Some((address.parse().ok()?, prefix.parse().ok()?))
}

#[test]
fn the_container_has_eth0_with_an_address_and_a_default_route() {
    let _idea = idea(
        "In its own network namespace the container has eth0 with an address of the bridge's subnet (not the gateway's), lo up, and a default route through the bridge's address.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let out = run_ok(&env, &[&image, "ip -o -4 addr; ip route"]);
    let (address, prefix) = eth0_address(&out).unwrap_or_else(|| {
        panic!("eth0 should have an IPv4 address: did configure_container_end rename the link and add the address?\n{out}")
    });
    assert!(
        u32::from(address) >> 16 == u32::from(Ipv4Addr::new(172, 30, 0, 0)) >> 16 && prefix == 16,
        "eth0's address {address}/{prefix} should be in the bridge's subnet 172.30.0.0/16"
    );
    assert_ne!(
        address.to_string(),
        GATEWAY,
        "a container must never get the gateway's address"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with(&format!("default via {GATEWAY} dev eth0"))),
        "the default route should go through the bridge's address:\n{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains(" lo ") && l.contains("127.0.0.1/8")),
        "lo should be up with 127.0.0.1:\n{out}"
    );
    env.assert_no_leaks();
}

#[test]
fn a_container_pings_its_gateway_and_the_bridge_has_it() {
    let _idea = idea(
        "The host's end of the veth pair is a port of the bridge, and the bridge holds the gateway's address, so a container reaches the host.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let out = env.run_bocker(&["run", &image, "ping", "-c", "1", "-W", "3", GATEWAY]);
    assert!(
        out.status.success(),
        "the container could not ping the bridge at {GATEWAY}: is the host's end on the bridge and up?\n{HINT}\n{}",
        describe(&out)
    );
    let links = env.in_test_host(&["ip", "-o", "-4", "addr", "show", "bocker0"]);
    assert!(
        text(&links.stdout).contains(&format!("inet {GATEWAY}/16")),
        "the bridge bocker0 should have the gateway's address\n{}",
        describe(&links)
    );
    env.assert_no_leaks();
}

#[test]
fn the_host_and_a_container_reach_each_other() {
    let _idea = idea(
        "The host reaches a container at its address, by the route to the subnet that came with the bridge's address; a container reaches every address of the host through its gateway.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let id = start(
        &env,
        &[&image, "nc -l -p 9000 -e echo hello from the container"],
    );
    let address = address_of(&env, &id);
    // From the test host, to the container's own address.
    let answer = env.in_test_host_thread(move || {
        for _ in 0..25 {
            if let Ok(mut stream) = TcpStream::connect((address, 9000)) {
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
    });
    // From a container, to the test host's address on another link.
    let ping = env.run_bocker(&[
        "run",
        "--rm",
        &image,
        "ping",
        "-c",
        "1",
        "-W",
        "3",
        support::TEST_HOST_ADDRESS,
    ]);
    env.stop(&id);
    assert_eq!(
        answer, "hello from the container\n",
        "the test host should reach the container at {address}, port 9000: has the bridge its address, and the host's end its place on the bridge?\n{HINT}"
    );
    assert!(
        ping.status.success(),
        "a container should reach the test host's address {} through its gateway\n{HINT}\n{}",
        support::TEST_HOST_ADDRESS,
        describe(&ping)
    );
    env.assert_no_leaks();
}

#[test]
fn two_containers_on_the_bridge_reach_each_other() {
    let _idea = idea(
        "Two containers plugged into the same bridge reach each other at their addresses, with no router between.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let server = start(
        &env,
        // -e: the line goes to a program, which writes it to the log. nc
        // alone would also read its stdin, /dev/null, and may hang up at
        // its end before the client's line arrives.
        &[
            "--name", "server", &image, "nc", "-l", "-p", "9000", "-e", "sh", "-c", "cat >&2",
        ],
    );
    let address = address_of(&env, &server);
    // The client retries until the server listens.
    let client = format!(
        "for i in 1 2 3 4 5 6 7 8 9 10; do echo hello from the other side | nc {address} 9000 && exit 0; sleep 0.2; done; exit 1"
    );
    env.run_ok(&[&image, &client], HINT);
    env.wait_until_exited(&server);
    let logs = env.run_bocker(&["logs", "server"]);
    assert_eq!(
        text(&logs.stderr), // what the container wrote to stderr
        "hello from the other side\n",
        "the server container should have received the client's line"
    );
    env.assert_no_leaks();
}

#[test]
fn each_network_mode_sees_what_it_should() {
    let _idea = idea(
        "--net none gives a namespace with only lo, up; --net host shares the host's namespace; --net container: shares another container's.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();

    // none: a namespace of its own with only lo, and lo works.
    let none = run_ok(
        &env,
        &[
            "--net",
            "none",
            &image,
            "ip -o link; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo loopback ok",
        ],
    );
    assert_eq!(
        link_names(&none),
        ["lo"],
        "--net none should have only lo:\n{none}"
    );
    assert!(
        none.contains("LOWER_UP") && none.ends_with("loopback ok\n"),
        "lo should be up under --net none:\n{none}"
    );

    // host: the test-host's own links.
    let host = run_ok(&env, &["--net", "host", &image, "ip -o link"]);
    assert!(
        host.contains("host0"),
        "--net host should see the test host's links (host0):\n{host}"
    );

    // container:<id>: the other's eth0, and its listener on 127.0.0.1.
    let server = start(
        &env,
        &[
            "--name", "peer", &image, "nc", "-l", "-p", "9001", "-e", "sh", "-c", "cat >&2",
        ],
    );
    let address = address_of(&env, &server);
    let joined = run_ok(
        &env,
        &["--net", "container:peer", &image,
          "ip -o -4 addr; for i in 1 2 3 4 5 6 7 8 9 10; do echo over loopback | nc 127.0.0.1 9001 && break; sleep 0.2; done"],
    );
    assert_eq!(
        eth0_address(&joined).map(|(a, _)| a),
        Some(address),
        "--net container:peer should share peer's eth0:\n{joined}"
    );
    env.wait_until_exited(&server);
    assert_eq!(
        text(&env.run_bocker(&["logs", "peer"]).stderr),
        "over loopback\n"
    );
    env.assert_no_leaks();
}

#[test]
fn thirty_containers_started_at_once_get_thirty_addresses() {
    let _idea = idea("Containers started at the same moment never get the same address.");
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let runs: Vec<_> = (0..30)
        .map(|_| env.spawn_bocker(&["run", "--rm", &image, "ip -o -4 addr show eth0"]))
        .collect();
    // Every run ends before any is judged: a failed assert must not leave
    // 29 bockers at work in a directory that is being removed.
    let outputs: Vec<_> = runs
        .into_iter()
        .map(|run| run.wait_with_output().unwrap())
        .collect();
    let mut addresses = Vec::new();
    for out in outputs {
        assert_success(&out, HINT);
        let (address, _) = eth0_address(&text(&out.stdout)).expect("no address on eth0");
        addresses.push(address);
    }
    addresses.sort();
    addresses.dedup();
    assert_eq!(
        addresses.len(),
        30,
        "30 containers got only {} distinct addresses",
        addresses.len()
    );
    env.assert_no_leaks();
}

/// The test host's rules in the `filter` and `nat` tables, as
/// `iptables -S` prints them.
fn iptables_rules(env: &TestEnv) -> String {
    ["filter", "nat"]
        .map(|table| {
            text(
                &env.in_test_host(&["iptables", "-w", "-t", table, "-S"])
                    .stdout,
            )
        })
        .concat()
}

/// Whether the test host has a link called `name`.
fn test_host_has_link(env: &TestEnv, name: &str) -> bool {
    env.in_test_host(&["ip", "link", "show", "dev", name])
        .status
        .success()
}

/// A container on the bridge, `owner`, and one that joined its network
/// namespace; and the name of the owner's veth end on the test host.
fn owner_and_joiner(env: &TestEnv, image: &str) -> (String, String, String) {
    let owner = start(env, &["--name", "owner", image, "sleep", "1000"]);
    let joiner = start(env, &["--net", "container:owner", image, "sleep", "1000"]);
    let host_end = format!("bk{}", owner.trim_start_matches("ps_"));
    (owner, joiner, host_end)
}

/// The addresses leased on bocker0, and the containers marked draining.
fn leases_and_draining(env: &TestEnv) -> (Vec<String>, Vec<String>) {
    let bridge = env.root().join("network/bridges/bocker0");
    (
        list_dir(bridge.join("leases")),
        list_dir(bridge.join("draining")),
    )
}

#[test]
fn an_address_stays_taken_while_its_veth_pair_lives_and_comes_back_after() {
    let _idea = idea(
        "An address stays leased while a veth pair that carries it still exists, and comes back once the kernel has deleted the pair.",
    );
    // While other containers use the bridge, the teardown leaves a veth
    // pair to the kernel, which deletes it when the namespace dies. Here a
    // joiner (`--net container:`) keeps the owner's namespace alive after
    // the owner has stopped, so the pair stays, and so must its address.
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let resident = start(&env, &[&image, "sleep", "1000"]);
    let (owner, joiner, host_end) = owner_and_joiner(&env, &image);
    let address = address_of(&env, &owner).to_string();
    env.stop(&owner);
    // `ps` sweeps, too: it must not give back an address still in use.
    env.bocker_ok(&["ps"], HINT);
    assert!(
        test_host_has_link(&env, &host_end),
        "the joiner still uses {host_end}: it should still exist"
    );
    let (leases, draining) = leases_and_draining(&env);
    assert!(
        leases.contains(&address) && draining == [owner.clone()],
        "{owner}'s address {address} must stay leased (and marked draining) while its veth pair exists: leases {leases:?}, draining {draining:?}"
    );
    let inside = env.run_bocker(&["exec", &joiner, "ip", "-o", "-4", "addr"]);
    assert_eq!(
        eth0_address(&text(&inside.stdout)).map(|(a, _)| a.to_string()),
        Some(address.clone()),
        "the joiner keeps the network while its namespace lives:\n{}",
        describe(&inside)
    );
    // The joiner ends, the namespace dies, the kernel deletes the pair.
    env.stop(&joiner);
    for _ in 0..200 {
        if !test_host_has_link(&env, &host_end) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !test_host_has_link(&env, &host_end),
        "{host_end} outlived its network namespace"
    );
    // The next command sweeps: the address comes back.
    env.bocker_ok(&["ps"], HINT);
    assert_eq!(
        leases_and_draining(&env),
        (vec![address_of(&env, &resident).to_string()], vec![]),
        "after the sweep only the running container should hold an address"
    );
    env.stop(&resident);
    env.assert_no_leaks();
}

#[test]
fn the_bridges_last_container_out_deletes_its_veth_pair_even_from_a_joiner() {
    let _idea = idea(
        "When a joined namespace outlives the bridge's last container, its veth pair is deleted anyway (remove_veth), leaving the joiner with lo.",
    );
    // `--net container:` shares the owner's namespace, so the namespace
    // (and the pair in it) outlives the owner. When the owner is the last
    // container on the bridge, its teardown deletes the pair (remove_veth)
    // and removes the way out: the joiner is left with lo, as in Docker.
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let (owner, joiner, host_end) = owner_and_joiner(&env, &image);
    assert!(test_host_has_link(&env, &host_end), "{HINT}");
    env.stop(&owner);
    assert!(
        !test_host_has_link(&env, &host_end),
        "{host_end} should be gone once its container has stopped: does remove_veth delete it?"
    );
    let inside = env.bocker_ok(&["exec", &joiner, "ip", "-o", "link"], HINT);
    assert_eq!(
        link_names(&text(&inside.stdout)),
        ["lo"],
        "the joiner should be left with lo only"
    );
    assert_eq!(leases_and_draining(&env), (vec![], vec![]));
    env.stop(&joiner);
    env.assert_no_leaks();
}

#[test]
fn a_killed_run_leaves_nothing_once_the_next_command_has_swept() {
    let _idea = idea(
        "A run killed with SIGKILL leaves no veth pair, lease or iptables rule once the next bocker command has swept.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let mut running = env.spawn_bocker(&["run", &image, "sleep", "1000"]);
    let pid = env.wait_for_pid(&mut running, HINT);
    running.kill().unwrap();
    running.wait().unwrap();
    support::wait_until_gone(pid);
    env.bocker_ok(&["ps"], HINT);
    let rules = iptables_rules(&env);
    assert!(
        !rules.contains("bocker:"),
        "rules of a killed run remain after the sweep:\n{rules}"
    );
    env.assert_no_leaks();
}

#[test]
fn the_address_of_a_run_killed_while_building_is_given_back() {
    let _idea = idea(
        "The address claimed by a run that was killed before its container existed is given back by the next command's sweep.",
    );
    // What a `run` SIGKILLed between its claim and its container's move
    // into place leaves: its staging directory, named after its (dead)
    // pid, and the address it had claimed.
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    run_ok(&env, &["--rm", &image, "true"]); // makes network/bridges/bocker0
    let id = "ps_0123456789ab";
    let staging = env.root().join(format!("containers/.tmp-999999999-{id}"));
    std::fs::create_dir_all(&staging).unwrap();
    let lease = env
        .root()
        .join("network/bridges/bocker0/leases/172.30.0.77");
    std::fs::write(&lease, id).unwrap();
    // The next command sweeps the staging directory (as the frame's tests
    // check), and gives the address back with it.
    env.bocker_ok(&["ps"], HINT);
    assert!(
        !lease.exists(),
        "the address of a container that never existed is still taken"
    );
    env.assert_no_leaks();
}

#[test]
fn a_subnet_that_overlaps_a_host_route_is_refused() {
    let _idea = idea(
        "A bridge subnet that overlaps a route the host already has is refused; another subnet works.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    env.in_test_host_ok(&["ip", "route", "add", "172.30.5.0/24", "dev", "host0"]);
    // A container that starts the bridge is needed for the check to run:
    // the first run is the one refused.
    let out = env.run_bocker(&["run", &image, "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        text(&out.stderr).contains("overlaps the host's route to 172.30.5.0/24"),
        "{}",
        describe(&out)
    );
    assert!(
        env.container_ids().is_empty(),
        "a refused run left a container"
    );
    // With another subnet it works (and needs your chapter's code).
    let other = env
        .bocker()
        .env("BOCKER_SUBNET", "172.31.250.0/24")
        .args(["run", &image, "ip -o -4 addr show eth0"])
        .output()
        .unwrap();
    assert_success(&other, HINT);
    assert!(
        text(&other.stdout).contains("inet 172.31.250."),
        "{}",
        describe(&other)
    );
    env.assert_no_leaks();
}

#[test]
fn etc_hosts_and_resolv_conf_are_written_without_following_planted_links() {
    let _idea = idea(
        "The container's /etc/hosts maps its address to its hostname, and bocker never writes through a link the image planted.",
    );
    let env = TestEnv::with_network();
    let rootfs = env.busybox_rootfs();
    // The image plants links to a host file: bocker must not write there.
    let victim = env.scratch().join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    std::os::unix::fs::symlink(&victim, rootfs.join("etc/resolv.conf")).unwrap();
    let image = env.busybox_image();
    let out = run_ok(
        &env,
        &[
            "--hostname",
            "web",
            &image,
            "cat /etc/hosts; cat /etc/hostname",
        ],
    );
    let id = env.container_ids().pop().unwrap();
    let address = address_of(&env, &id);
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == [address.to_string().as_str(), "web"]),
        "/etc/hosts should map {address} to web:\n{out}"
    );
    assert!(
        out.lines().any(|l| l.contains("localhost")),
        "/etc/hosts should name localhost:\n{out}"
    );
    assert!(
        out.ends_with("web\n"),
        "/etc/hostname should be web:\n{out}"
    );
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "untouched\n",
        "bocker wrote through a symlink the image planted"
    );
    env.assert_no_leaks();
}

#[test]
fn a_bridge_serves_one_state_directory_and_teardown_knows_which_bridge() {
    let _idea = idea(
        "One bridge carries the containers of one state directory, and a container's teardown removes the rules of the bridge it was on.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    let id = start(&env, &[&image, "sleep", "1000"]);
    // A second state directory, same machine, same bridge: its leases
    // would not know this one's, so it is refused while `id` runs.
    let other_root = env.dir().join("other-state");
    let other = |args: &[&str]| {
        env.bocker()
            .env("BOCKER_ROOT", &other_root)
            .args(args)
            .output()
            .unwrap()
    };
    let init = other(&["init", &env.busybox_rootfs().to_string_lossy()]);
    assert_success(&init, HINT);
    let other_image = text(&init.stdout)
        .trim()
        .trim_start_matches("Created: ")
        .to_string();
    let refused = other(&["run", &other_image, "true"]);
    assert!(
        !refused.status.success()
            && text(&refused.stderr).contains("carries the containers of the state directory"),
        "a second state directory on the same bridge should be refused:\n{}",
        describe(&refused)
    );
    // `rm` with another BOCKER_BRIDGE still removes the rules of the
    // bridge the container was on. (`-t 0`: `sleep`, as pid 1, ignores
    // SIGTERM, and stop's default grace would wait 10 s for nothing.)
    let stop = env
        .bocker()
        .env("BOCKER_BRIDGE", "other0")
        .args(["stop", "-t", "0", &id])
        .output()
        .unwrap();
    assert_success(&stop, HINT);
    let removed = env
        .bocker()
        .env("BOCKER_BRIDGE", "none")
        .args(["rm", &id])
        .output()
        .unwrap();
    assert_success(&removed, HINT);
    let rules = iptables_rules(&env);
    assert!(
        !rules.contains("bocker:"),
        "the teardown should remove the rules of the container's own bridge:\n{rules}"
    );
    // Its containers gone, the bridge is free for the other directory.
    let taken_over = other(&["run", &other_image, "true"]);
    assert_success(&taken_over, HINT);
    env.assert_no_leaks();
}

#[test]
fn a_link_that_is_not_a_bridge_is_refused_and_left_alone() {
    let _idea = idea(
        "A link of the host that is not a bridge is refused as BOCKER_BRIDGE, and left with the addresses it had.",
    );
    let env = TestEnv::with_network();
    let image = env.busybox_image();
    // IPv4 only: host0's IPv6 link-local address changes by itself (it is
    // "tentative" until the kernel has checked no one else has it).
    let before = text(
        &env.in_test_host(&["ip", "-o", "-4", "addr", "show", "host0"])
            .stdout,
    );
    let out = env
        .bocker()
        .env("BOCKER_BRIDGE", "host0") // the test host's own veth
        .args(["run", &image, "true"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out.stderr).contains("not a bridge"),
        "{}",
        describe(&out)
    );
    let after = text(
        &env.in_test_host(&["ip", "-o", "-4", "addr", "show", "host0"])
            .stdout,
    );
    assert_eq!(before, after, "host0's IPv4 addresses must not change");
    // On a bridge of bocker's own, the same run works.
    run_ok(&env, &[&image, "true"]);
    env.assert_no_leaks();
}
