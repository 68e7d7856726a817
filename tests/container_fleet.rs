//! Two channels of the Helm chart played by Podman (`podman kube play` of the
//! rendered Deployments, ConfigMaps and PersistentVolumeClaims: the kinds Podman
//! runs) push to nginx-rtmp on the host, and nginx records clean streams; the
//! avatarcast process of one is killed and the pod's restart policy brings it back,
//! its stream returning; the pods stopped and taken down, the recordings on their
//! volumes play to their end. Podman 4.3 has no Secrets, no Services and (here) only
//! the host's network: the test gives the Secrets' values as plain variables, drops
//! the Services and moves each API to its own loopback port.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "fleet-test-token-0123";

fn podman() -> Command {
    let mut c = Command::new("podman");
    c.env("CONTAINERS_CONF", repo().join("deploy/podman/containers.conf"));
    c
}

fn podman_out(args: &[&str]) -> String {
    let o = podman().args(args).output().unwrap();
    assert!(o.status.success(), "podman {args:?}: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

fn stream_seconds(port: u16) -> Option<f64> {
    let auth = format!("Bearer {TOKEN}");
    let (status, body) = try_http(port, "GET", "/v1/status", &[("Authorization", &auth)], b"").ok()?;
    (status == 200).then(|| serde_json::from_slice::<Value>(&body).ok()?["stream_seconds"].as_f64()).flatten()
}

fn wait(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn kube_play_runs_two_channels_that_restart_and_keep_their_recordings() {
    build_image();
    let dir = TempDir::new("fleet");
    let mut nginx = Nginx::start();
    let ingest = format!("rtmp://127.0.0.1:{}/live", nginx.port);
    let tag = std::process::id();
    let names = [format!("fleet-a-{tag}"), format!("fleet-b-{tag}")];
    let ports = [free_port(), free_port()];
    let values = format!(
        "image: {{repository: localhost/avatarcast, tag: latest}}\npersistence: {{enabled: true, size: 1Gi}}\nchannels:\n{}",
        names.iter().map(|n| format!(
            "  - name: {n}\n    rtmp:\n      - url: {ingest}\n        keySecret: {{name: keys, key: {n}}}\n    files:\n      - path: /var/lib/avatarcast/recordings/show.mkv\n        split_minutes: 30\n"
        )).collect::<String>()
    );
    std::fs::write(dir.path().join("values.yaml"), &values).unwrap();
    let rendered = Command::new(repo().join("models/deploy-venv/bin/python"))
        .arg(repo().join("scripts/deploy/render.py"))
        .arg(dir.path().join("values.yaml"))
        .arg(dir.path().join("k8s"))
        .output()
        .unwrap();
    assert!(rendered.status.success(), "{}", text(&rendered));
    let objects: Vec<Value> = serde_json::from_slice(&std::fs::read(dir.path().join("k8s/manifests.json")).unwrap()).unwrap();

    // What Podman 4.3 can play, on the host's network.
    let mut play = Vec::new();
    for mut o in objects {
        let Some(i) = names.iter().position(|n| o["metadata"]["name"] == format!("avatarcast-{n}")) else { panic!("{o}") };
        match o["kind"].as_str().unwrap() {
            "Service" => continue,
            "ConfigMap" => {
                let config = o["data"]["config.toml"].as_str().unwrap().replace("0.0.0.0:8080", &format!("127.0.0.1:{}", ports[i]));
                o["data"]["config.toml"] = json!(config);
            }
            "Deployment" => {
                let spec = &mut o["spec"]["template"]["spec"];
                spec["hostNetwork"] = json!(true);
                let c = &mut spec["containers"][0];
                c.as_object_mut().unwrap().remove("ports");
                for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                    c[probe]["httpGet"]["port"] = json!(ports[i]);
                }
                for e in c["env"].as_array_mut().unwrap() {
                    let name = e["name"].as_str().unwrap().to_string();
                    *e = json!({ "name": name, "value": if name == "AVATARCAST_API_TOKEN" { TOKEN.to_string() } else { format!("key-{}", names[i]) } });
                }
            }
            _ => {}
        }
        play.push(serde_json::to_string(&o).unwrap());
    }
    let play_file = dir.path().join("play.yaml");
    std::fs::write(&play_file, play.join("\n---\n") + "\n").unwrap();
    let played = podman().args(["kube", "play"]).arg(&play_file).output().unwrap();
    let cleanup = |volumes: bool| {
        let _ = podman().args(["kube", "down"]).arg(&play_file).output();
        if volumes {
            for n in &names {
                let _ = podman().args(["volume", "rm", "-f", &format!("avatarcast-{n}")]).output();
            }
        }
    };
    if !played.status.success() {
        cleanup(true);
        panic!("podman kube play: {}", text(&played));
    }
    let container = |i: usize| format!("avatarcast-{}-pod-0-avatarcast", names[i]);

    // Both channels stream.
    wait("both channels on air", Duration::from_secs(90), || ports.iter().all(|&p| stream_seconds(p).is_some_and(|s| s > 8.0)));

    // The process of the first dies; the pod's restart policy brings it back.
    let pid = podman_out(&["inspect", &container(0), "--format", "{{.State.Pid}}"]);
    assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
    wait("the killed channel back", Duration::from_secs(90), || {
        podman_out(&["inspect", &container(0), "--format", "{{.RestartCount}}"]) != "0" && stream_seconds(ports[0]).is_some_and(|s| s > 8.0)
    });

    // Stopped as an orchestrator does (SIGTERM, the grace period), then taken down.
    for n in &names {
        let stop = Instant::now();
        podman_out(&["pod", "stop", "-t", "30", &format!("avatarcast-{n}-pod-0")]);
        assert!(stop.elapsed() < Duration::from_secs(20), "{n} took {:?} to drain", stop.elapsed());
    }
    let volumes: Vec<PathBuf> = names.iter().map(|n| PathBuf::from(podman_out(&["volume", "inspect", &format!("avatarcast-{n}"), "--format", "{{.Mountpoint}}"]))).collect();
    cleanup(false);
    std::thread::sleep(Duration::from_millis(800));
    nginx.stop();

    // nginx: the second channel in one clean stream; the first in two, the one after
    // the restart clean.
    let recs = nginx.recordings();
    let of = |n: &str| recs.iter().filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("key-{n}-"))).cloned().collect::<Vec<_>>();
    let (a, b) = (of(&names[0]), of(&names[1]));
    assert!(a.len() == 2 && b.len() == 1, "nginx recorded {recs:?}");
    for file in [&a[1], &b[0]] {
        let (vp, ap) = (packets(file, "v"), packets(file, "a"));
        assert!(vp.last().unwrap().pts - vp[0].pts > 8.0, "{}: too short", file.display());
        assert_no_gaps(&vp, 0.040, "video");
        assert_no_gaps(&ap, 0.040, "audio");
    }

    // The volumes: the restarted channel went on in a new file instead of overwriting
    // the one its killed process left; the files the stopped pods closed play to the end.
    for (i, v) in volumes.iter().enumerate() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(v.join("recordings")).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert_eq!(files.len(), if i == 0 { 2 } else { 1 }, "{files:?}");
        let last = files.last().unwrap();
        let decode = Command::new("ffmpeg").args(["-v", "error", "-i"]).arg(last).args(["-f", "null", "-"]).output().unwrap();
        assert!(decode.status.success() && decode.stderr.is_empty(), "{}: {}", last.display(), text(&decode));
        let seconds: f64 = streams(last)["format"]["duration"].as_str().unwrap_or("0").parse().unwrap();
        assert!(seconds > 8.0, "{}: {seconds} s", last.display());
    }
    cleanup(true);
}
