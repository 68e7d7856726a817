//! [[events]] in the show file: a line said every N minutes of stream (with the
//! product's card and sale countdown), on top of the looping show.

use common::*;

#[test]
fn events_fire_on_schedule() {
    let dir = TempDir::new("events-timed");
    let transcript_path = dir.path().join("t.jsonl");
    let config = config_with_show(dir.path(), r#"[[products]]
id = "lamp"
name = "Lumi Desk Lamp"
price = "$39"
pitches = ["A lamp."]

[[segments]]
text = "Welcome to the show. We have a calm afternoon today. Stay a while."

[[events]]
every_minutes = 0.1
say = "Flash sale on the {name}, only {price}!"
product = "lamp"
sale_minutes = 0.05
"#, transcript_to(&transcript_path));
    let out = run(avatarcast().args(["render", "--duration", "22s", "--config"]).arg(&config).arg("--output").arg(dir.path().join("o.mp4")));
    assert!(out.status.success(), "{}", text(&out));
    let t = transcript(&transcript_path);
    let sales: Vec<f64> = t.iter().filter(|e| e["text"] == "Flash sale on the Lumi Desk Lamp, only $39!").map(|e| e["start"].as_f64().unwrap()).collect();
    assert!(sales.len() >= 2, "{t:#?}");
    assert!(sales[0] >= 6.0 && sales[0] < 10.0, "first sale line at {}", sales[0]);
    assert!(sales[1] >= 12.0, "second sale line at {}", sales[1]);
    assert!(text(&out).contains("timed event"));
}

#[test]
fn a_bad_schedule_is_refused_with_its_line() {
    let dir = TempDir::new("events-bad");
    let config = config_with_show(dir.path(), "[[segments]]\ntext = \"Hi.\"\n\n[[events]]\nat = \"25:99\"\nsay = \"Good evening!\"\n", |s| s);
    let out = run(avatarcast().args(["render", "--duration", "2s", "--config"]).arg(&config).arg("--output").arg(dir.path().join("o.mp4")));
    assert!(!out.status.success());
    let msg = text(&out);
    assert!(msg.contains("line 5") && msg.contains("events[0].at") && msg.contains("HH:MM"), "{msg}");
}
