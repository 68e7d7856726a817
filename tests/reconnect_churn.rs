//! 200 ingest drops in a row: nginx-rtmp killed and started again, the output
//! retrying after 0.1 s (capped at 0.5 s) and going live again each time. Afterwards
//! the process holds exactly the open files and threads it held after the first drop
//! (GStreamer's task pool keeps one idle thread from the first torn-down pipeline),
//! and its memory has not grown beyond noise.

use common::*;

#[test]
fn two_hundred_ingest_drops_leave_files_threads_and_memory_where_they_were() {
    let dir = TempDir::new("churn");
    let out = dir.path().join("churn");
    let ok = start_soak(&out, &["--churn", "200"], &dir.path().join("churn.log")).wait().unwrap().success();
    let v = soak_verdict(&out);
    assert!(ok && v["passed"] == true, "{v:#}\n{}", std::fs::read_to_string(dir.path().join("churn.log")).unwrap_or_default());
    assert_eq!(v["cycles"], 200, "{v:#}");
    assert!(v["reconnects"].as_u64() >= Some(200), "{v:#}");
    assert_eq!(v["end"]["fds"], v["baseline"]["fds"], "{v:#}");
    assert_eq!(v["end"]["threads"], v["baseline"]["threads"], "{v:#}");
    assert!(v["end"]["threads"].as_u64() <= v["before_first_drop"]["threads"].as_u64().map(|t| t + 1), "{v:#}");
    assert_plot(&out);
    eprintln!("churn: {}", v);
}
