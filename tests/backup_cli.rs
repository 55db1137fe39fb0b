//! `qwave backup split` then `restore` through the binary, as an operator runs it.

use std::process::Command;

fn qwave(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qwave"))
        .args(args)
        .output()
        .expect("run qwave")
}

#[test]
fn split_then_restore_from_trusted_nodes_only() {
    let dir = tempfile_dir();
    let secret: Vec<u8> = (0..32u8).map(|i| i ^ 0xa5).collect();
    let sfile = dir.join("master.key");
    std::fs::write(&sfile, &secret).unwrap();
    let out = dir.join("slices");
    let o = qwave(&[
        "backup",
        "split",
        "--secret",
        sfile.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = |node: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(out.join(node))
            .unwrap()
            .map(|e| e.unwrap().path().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(files("trusted-1").len(), 4);
    // Both trusted nodes (8 slices ≥ 6) restore; one trusted node plus the client (6) too.
    for (i, nodes) in [["trusted-1", "trusted-2"], ["trusted-1", "client-1"]]
        .iter()
        .enumerate()
    {
        let restored = dir.join(format!("restored-{i}"));
        let mut args = vec!["backup".to_owned(), "restore".to_owned()];
        for n in nodes {
            args.extend(files(n));
        }
        args.extend(["--out".to_owned(), restored.to_string_lossy().into_owned()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = qwave(&argv);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&restored).unwrap(), secret);
    }
    // The client node alone (2 slices) cannot, and says so.
    let mut args = vec!["backup".to_owned(), "restore".to_owned()];
    args.extend(files("client-1"));
    args.extend([
        "--out".to_owned(),
        dir.join("nope").to_string_lossy().into_owned(),
    ]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = qwave(&argv);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("2 distinct slices, 6 needed"));
    assert!(!dir.join("nope").exists());
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qwave-backup-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
