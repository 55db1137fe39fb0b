//! Process helpers for the tests that run `qwave` as child processes on
//! loopback (`air`, `lab`, `centre serve`, `base-station`, `refill`): stderr
//! collected on a thread, `--json` stdout parsed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_qwave");

/// A child process whose stderr is collected by a thread.
pub struct Proc {
    pub child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn qwave");
        let stderr = Arc::new(Mutex::new(String::new()));
        let err = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Self { child, stderr }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until stderr contains `needle`; returns the line holding it.
    pub fn wait_stderr(&mut self, needle: &str, within: Duration) -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = self.stderr().lines().find(|l| l.contains(needle)) {
                return l.to_string();
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!(
                    "process exited ({st}) before `{needle}`:\n{}",
                    self.stderr()
                );
            }
            assert!(
                start.elapsed() < within,
                "no `{needle}` within {within:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for exit (killing on timeout); returns (success, stdout).
    pub fn finish(mut self, within: Duration) -> (bool, String, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > within {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "process did not finish within {within:?}:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        std::thread::sleep(Duration::from_millis(50)); // let the stderr thread drain
        (status.success(), out, self.stderr())
    }

    /// First stdout line (e.g. a banner).
    pub fn first_line(&mut self) -> String {
        let mut line = String::new();
        BufReader::new(self.child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        line
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts `qwave air` and returns it with its address.
pub fn air(seed: &str, nodes: &str) -> (Proc, String) {
    air_scenario(seed, nodes, "walk")
}

pub fn air_scenario(seed: &str, nodes: &str, scenario: &str) -> (Proc, String) {
    let mut p = Proc::spawn(&[
        "air",
        "--scenario",
        scenario,
        "--listen",
        "127.0.0.1:0",
        "--seed",
        seed,
        "--nodes",
        nodes,
        "--idle-timeout",
        "60",
    ]);
    let mut line = String::new();
    BufReader::new(p.child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("air listening on ")
        .unwrap_or_else(|| panic!("unexpected air banner {line:?}"))
        .to_string();
    (p, addr)
}

pub fn lab(role: &str, air: &str, peer: &str, seconds: &str, extra: &[&str]) -> Proc {
    lab_radio(
        role,
        &format!("sim:air={air},node={role}"),
        peer,
        seconds,
        extra,
    )
}

pub fn lab_radio(role: &str, radio: &str, peer: &str, seconds: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "lab",
        "--role",
        role,
        "--radio",
        radio,
        "--peer",
        peer,
        "--seconds",
        seconds,
        "--json",
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args)
}

/// Alice listens on port 0; her log names the bound address.
pub fn alice_addr(alice: &mut Proc) -> String {
    let l = alice.wait_stderr("alice: listening on ", Duration::from_secs(60));
    l.split("listening on ").nth(1).unwrap().trim().to_string()
}

pub fn json(s: &str) -> serde_json::Value {
    let line = s.lines().last().unwrap_or_else(|| panic!("no stdout"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}
