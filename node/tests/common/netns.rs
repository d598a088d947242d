//! Two NATs between a replica and a federation, built from Linux network namespaces (root only).
//!
//! ```text
//!   fed 10.1.0.2 ── 10.1.0.1 nat1 198.18.1.2 ── 198.18.1.1 public 198.18.2.1 ── 198.18.2.2 nat2 10.2.0.1 ── 10.2.0.2 home
//!   (4 bfte run)                                (bfte relay)                                          (bfte replicate)
//! ```
//!
//! `public` routes between the routers' WAN addresses and runs the relay; neither LAN is routed
//! there, so the replica can reach the federation only through the relay, or through the NATs
//! once hole punching opened them. Each router masquerades what leaves its WAN side with the
//! Linux default (port preserving, so endpoint independent: hole punching can work) and drops
//! every new connection coming in on it. Without that drop conntrack records the first punch
//! packets as connections to the router itself and masquerade then picks another port, so
//! hole punching fails even for plain UDP (IROH.md).
//!
//! Veths are created inside the namespaces, so deleting the namespaces (on drop, also when a test
//! fails) deletes everything.

use std::process::{Command, Stdio};

/// Namespace names are short (interface names must stay under 16 bytes) and unique per process.
fn unique(name: &str) -> String {
    format!("bn{}{name}", std::process::id())
}

/// The namespaces of one topology; dropping it deletes them and their veths.
pub struct Nat {
    /// The relay's namespace, with the public addresses.
    pub public: String,
    /// The federation's LAN behind the first NAT.
    pub federation: String,
    /// The replica's LAN behind the second NAT.
    pub home: String,
    all: Vec<String>,
}

/// The relay's address: on `public`, reachable from both routers' WAN sides.
pub const RELAY_HOST: &str = "198.18.1.1";
/// The federation's private address, which the replica has no route to.
pub const FEDERATION_HOST: &str = "10.1.0.2";

impl Nat {
    /// Builds the topology. `Err` says why the machine cannot create namespaces (not root, no
    /// `ip`): the caller skips. Once the first namespace exists, any failure is a real one and
    /// panics.
    pub fn build() -> Result<Nat, String> {
        let mut nat = Nat {
            public: unique("pub"),
            federation: unique("fed"),
            home: unique("home"),
            all: Vec::new(),
        };
        let first = unique("nat1");
        run("ip", &["netns", "add", &first])?;
        nat.all.push(first);
        for name in [
            unique("nat2"),
            nat.public.clone(),
            nat.federation.clone(),
            nat.home.clone(),
        ] {
            must("ip", &["netns", "add", &name]);
            nat.all.push(name);
        }
        nat.wire();
        Ok(nat)
    }

    fn wire(&self) {
        let (nat1, nat2) = (self.all[0].as_str(), self.all[1].as_str());
        let (public, fed, home) = (
            self.public.as_str(),
            self.federation.as_str(),
            self.home.as_str(),
        );
        for ns in &self.all {
            ip(ns, "link set lo up");
        }
        // (namespace, interface, address, peer namespace, peer interface, peer address)
        let links = [
            (public, "p1", "198.18.1.1/24", nat1, "w1", "198.18.1.2/24"),
            (public, "p2", "198.18.2.1/24", nat2, "w2", "198.18.2.2/24"),
            (nat1, "l1", "10.1.0.1/24", fed, "f0", "10.1.0.2/24"),
            (nat2, "l2", "10.2.0.1/24", home, "h0", "10.2.0.2/24"),
        ];
        for (ns, dev, addr, peer_ns, peer_dev, peer_addr) in links {
            ip(
                ns,
                &format!("link add {dev} type veth peer name {peer_dev} netns {peer_ns}"),
            );
            for (ns, dev, addr) in [(ns, dev, addr), (peer_ns, peer_dev, peer_addr)] {
                ip(ns, &format!("addr add {addr} dev {dev}"));
                ip(ns, &format!("link set {dev} up"));
            }
        }
        ip(nat1, "route add default via 198.18.1.1");
        ip(nat2, "route add default via 198.18.2.1");
        ip(fed, "route add default via 10.1.0.1");
        ip(home, "route add default via 10.2.0.1");
        for router in [public, nat1, nat2] {
            must(
                "ip",
                &[
                    "netns",
                    "exec",
                    router,
                    "sysctl",
                    "-qw",
                    "net.ipv4.ip_forward=1",
                ],
            );
        }
        for (router, wan) in [(nat1, "w1"), (nat2, "w2")] {
            let rules = format!(
                "table inet nat {{\n\
                 chain postrouting {{ type nat hook postrouting priority srcnat; oifname \"{wan}\" masquerade; }}\n\
                 chain input {{ type filter hook input priority filter; iifname \"{wan}\" ct state new drop; }}\n\
                 chain forward {{ type filter hook forward priority filter; iifname \"{wan}\" ct state new drop; }}\n\
                 }}\n"
            );
            let path = std::env::temp_dir().join(format!("{router}.nft"));
            std::fs::write(&path, rules).expect("write the nft rules");
            let file = path.to_str().expect("utf-8 temp path");
            must("ip", &["netns", "exec", router, "nft", "-f", file]);
            let _ = std::fs::remove_file(&path);
        }
    }

    /// A command that runs `program` inside namespace `ns`.
    pub fn command(&self, ns: &str, program: &str) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", ns, program]);
        command
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        for ns in self.all.iter().rev() {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn ip(ns: &str, args: &str) {
    let mut all = vec!["-n", ns];
    all.extend(args.split(' '));
    must("ip", &all);
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|error| format!("{program}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn must(program: &str, args: &[&str]) {
    if let Err(error) = run(program, args) {
        panic!("building the NAT topology failed: {error}");
    }
}
