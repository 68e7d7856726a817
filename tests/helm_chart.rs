//! The Helm chart (deploy/helm/avatarcast) rendered offline by Helm v4's own engine
//! (PyPI helm-python-sdk, scripts/deploy/render.py) for three channels, and checked:
//! every object valid against Kubernetes 1.37's schemas (kubernetes-validate
//! --strict); one Deployment, ConfigMap and Service per channel; one pod per channel
//! that never overlaps its successor; probes on /healthz and /readyz; CPU requested,
//! never limited; stream keys and the API token only as Secret references; a config
//! change rolls only its channel; each channel's config and show accepted by avatarcast
//! (one second rendered with each).

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const CHANNELS: [&str; 3] = ["store-berlin", "store-lyon", "flagship"];

fn venv_bin(name: &str) -> PathBuf {
    let bin = repo().join("models/deploy-venv/bin").join(name);
    assert!(bin.exists(), "{} is missing: run `bash scripts/setup.sh`", bin.display());
    bin
}

/// Renders `values` (YAML text) into `out`; the render's output, and the objects when it succeeded.
fn render(values: &str, out: &Path) -> (bool, String, Vec<Value>) {
    std::fs::create_dir_all(out).unwrap();
    let file = out.join("values.yaml");
    std::fs::write(&file, values).unwrap();
    let o = Command::new(venv_bin("python")).arg(repo().join("scripts/deploy/render.py")).arg(&file).arg(out).output().unwrap();
    let ok = o.status.success();
    let objects = if ok { serde_json::from_slice(&std::fs::read(out.join("manifests.json")).unwrap()).unwrap() } else { vec![] };
    (ok, text(&o), objects)
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind && o["metadata"]["name"] == name).collect()
}

#[test]
fn three_channels_render_valid_and_keep_their_secrets() {
    let dir = TempDir::new("helm");
    let values = std::fs::read_to_string(repo().join("tests/fixtures/helm/three-channels.yaml")).unwrap();
    let (ok, log, objects) = render(&values, &dir.path().join("a"));
    assert!(ok, "render failed:\n{log}");

    // Valid against a current Kubernetes (strict: no unknown fields).
    let v = Command::new(venv_bin("kubernetes-validate"))
        .args(["--strict", "-k", "1.37.0"])
        .arg(dir.path().join("a/manifests.yaml"))
        .output()
        .unwrap();
    let report = text(&v);
    assert!(v.status.success() && !report.contains("ERROR"), "kubernetes-validate:\n{report}");
    for kind in ["Deployment", "ConfigMap", "Service", "PersistentVolumeClaim"] {
        assert!(report.contains(&format!("passed for resource {}/avatarcast-flagship", kind.to_lowercase())), "{kind} not validated:\n{report}");
    }

    let token_ref = serde_json::json!({ "secretKeyRef": { "name": "avatarcast-api", "key": "token" } });
    for ch in CHANNELS {
        let name = format!("avatarcast-{ch}");
        for kind in ["Deployment", "ConfigMap", "Service"] {
            assert_eq!(named(&objects, kind, &name).len(), 1, "one {kind} {name}");
        }
        let d = named(&objects, "Deployment", &name)[0];
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["type"], "Recreate", "two pods must never push the same key");
        let pod = &d["spec"]["template"];
        assert!(pod["metadata"]["annotations"]["checksum/config"].as_str().is_some_and(|s| s.len() == 64));
        let grace = pod["spec"]["terminationGracePeriodSeconds"].as_u64().unwrap();
        assert!(grace >= 20, "grace {grace} s does not cover the drain");
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["startupProbe"]["httpGet"]["path"], "/readyz");
        assert!(c["resources"]["requests"]["cpu"].is_string(), "{name}: CPU requested");
        assert!(c["resources"]["limits"].get("cpu").is_none(), "{name}: no CPU limit (throttling makes late frames)");
        // Every variable comes from a Secret; none carries a value of its own.
        let env = c["env"].as_array().unwrap();
        assert_eq!(env[0]["valueFrom"], token_ref);
        assert!(env.iter().all(|e| e.get("value").is_none() && e["valueFrom"]["secretKeyRef"].is_object()), "{name}: {env:?}");
        let config = named(&objects, "ConfigMap", &name)[0]["data"]["config.toml"].as_str().unwrap().to_string();
        let keys = config.matches("key_env = ").count();
        assert_eq!(keys + 1, env.len(), "{name}: a variable per stream key, plus the token");
    }
    let berlin = named(&objects, "ConfigMap", "avatarcast-store-berlin")[0]["data"]["config.toml"].as_str().unwrap();
    assert!(berlin.contains("url = \"rtmps://ingest.platform-b.example:443/app\"\nkey_env = \"AVATARCAST_STREAM_KEY_1\""), "{berlin}");
    // The GPU channel asks for a GPU and lands on GPU nodes; the others do not.
    let gpu = |ch: &str| named(&objects, "Deployment", &format!("avatarcast-{ch}"))[0]["spec"]["template"]["spec"].clone();
    assert_eq!(gpu("flagship")["containers"][0]["resources"]["limits"]["nvidia.com/gpu"], 1);
    assert!(gpu("flagship")["nodeSelector"].is_object() && gpu("store-lyon").get("nodeSelector").is_none());
    for kind in ["ServiceMonitor", "PrometheusRule"] {
        assert_eq!(objects.iter().filter(|o| o["kind"] == kind).count(), 1, "{kind}");
    }
    let dashboard = named(&objects, "ConfigMap", "avatarcast-shop-dashboard");
    let panels: Value = serde_json::from_str(dashboard[0]["data"]["avatarcast.json"].as_str().unwrap()).unwrap();
    assert!(panels["panels"].as_array().unwrap().len() >= 6);

    // Each channel's config is one avatarcast takes: paths moved off the pod's
    // mounts, the Secrets given as the pod gets them.
    for ch in CHANNELS {
        let cm = &named(&objects, "ConfigMap", &format!("avatarcast-{ch}"))[0]["data"];
        let here = dir.path().join(ch);
        std::fs::create_dir_all(&here).unwrap();
        let config = cm["config.toml"].as_str().unwrap().replace("/etc/avatarcast", here.to_str().unwrap()).replace("/var/lib/avatarcast", here.to_str().unwrap());
        std::fs::write(here.join("config.toml"), config).unwrap();
        if let Some(show) = cm["show.toml"].as_str() {
            std::fs::write(here.join("show.toml"), show).unwrap();
        }
        // One second rendered: config, show and outputs all taken as avatarcast starts them.
        let o = avatarcast()
            .args(["render", "--duration", "1s", "--config"])
            .arg(here.join("config.toml"))
            .arg("--output")
            .arg(here.join("first-second.mkv"))
            .env("AVATARCAST_API_TOKEN", "a-token-of-twenty-chars")
            .env("AVATARCAST_STREAM_KEY_0", "key0")
            .env("AVATARCAST_STREAM_KEY_1", "key1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{ch}: avatarcast render:\n{}", text(&o));
    }

    // A change to one channel's show rolls that channel only.
    let (ok, log, changed) = render(&values.replace("calm little studio", "quiet little studio"), &dir.path().join("b"));
    assert!(ok, "{log}");
    for ch in CHANNELS {
        let sum = |objs: &[Value]| named(objs, "Deployment", &format!("avatarcast-{ch}"))[0]["spec"]["template"]["metadata"]["annotations"]["checksum/config"].clone();
        assert_eq!(sum(&objects) != sum(&changed), ch == "store-lyon", "{ch}: checksum");
    }

    // A stream key can only come from a Secret: an output without one is refused.
    let (ok, log, _) = render(&values.replace("        keySecret: {name: store-lyon-keys, key: platform-a}\n", ""), &dir.path().join("c"));
    assert!(!ok && log.contains("channels[store-lyon].rtmp[0]: give keySecret"), "{log}");
}
